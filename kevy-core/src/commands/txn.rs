//! Transaction commands: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! They change the connection's state (its queue, its watches) rather than keys, so the
//! dispatcher runs them itself (`shard::txn`), before routing; these table entries give
//! them their arity, flags and key spec (COMMAND INFO, arity checks, WATCH's keys). The
//! handlers run only when something other than a client connection calls them (an
//! in-process host call, a nested call): there is no transaction there to act on.

use super::{errors, flags::*, Command, Ctx, KeySpec};
use crate::resp::Args;

/// The group Redis gives these commands; the dispatcher recognises them by it.
pub const GROUP: &str = "transactions";

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: super::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group(GROUP).summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::NONE, no_session,
        "Starts a transaction."),
    cmd("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, KeySpec::NONE, no_session,
        "Executes all commands in a transaction."),
    cmd("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::NONE, no_session,
        "Discards a transaction."),
    cmd("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::ALL, no_session,
        "Monitors changes to keys to determine the execution of a transaction."),
    cmd("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::NONE, unwatch,
        "Forgets about watched keys of a transaction."),
];

/// Is `cmd` one of the transaction commands? (The dispatcher tests `NOSCRIPT` first, so
/// ordinary commands never get here.)
#[inline]
pub fn is_txn(cmd: &Command) -> bool {
    cmd.group == GROUP
}

/// MULTI / EXEC / DISCARD / WATCH outside a client connection.
fn no_session(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let name = String::from_utf8_lossy(args.get(0)).to_ascii_uppercase();
    ctx.out.error(&errors::txn_needs_connection(&name));
}

/// UNWATCH. Queued inside MULTI, it runs in EXEC, which has already dropped the
/// watches: nothing is left to do but reply.
fn unwatch(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.ok();
}
