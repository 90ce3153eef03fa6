//! Transaction commands: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! They change the connection's state (its queue, its watches) rather than keys: each
//! row names its session step (`Session`), which the dispatcher runs on the
//! connection's thread (`shard::txn::session`), before routing; the rows also give
//! them their arity, flags and key spec (COMMAND INFO, arity checks, WATCH's keys).
//! The handlers run only when something other than a client connection calls them (an
//! in-process host call, a nested call): there is no transaction there to act on.

use super::{errors, flags::*, rules::NOT_QUEUED, Command, Ctx, KeySpec, Session};
use crate::resp::Args;

/// A transaction command's row, with its session step.
const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, session: Session, handler: super::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("transactions").summary(summary).session(session)
}

pub const COMMANDS: &[Command] = &[
    cmd("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::NONE, Session::Multi, no_session,
        "Starts a transaction.").rules(NOT_QUEUED),
    cmd("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, KeySpec::NONE, Session::Exec, no_session,
        "Executes all commands in a transaction.").rules(NOT_QUEUED),
    cmd("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::NONE, Session::Discard, no_session,
        "Discards a transaction.").rules(NOT_QUEUED),
    cmd("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::ALL, Session::Watch, no_session,
        "Monitors changes to keys to determine the execution of a transaction.").rules(NOT_QUEUED),
    // Queued inside MULTI: EXEC runs its handler.
    cmd("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::NONE, Session::Unwatch, unwatch,
        "Forgets about watched keys of a transaction."),
];

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

#[cfg(test)]
mod tests {
    use crate::commands::{flags, rules, Command, CommandTable};

    fn rows() -> Vec<&'static Command> {
        let table = CommandTable::default();
        table.all().into_iter().flat_map(|c| std::iter::once(c).chain(c.subcommands.iter())).collect()
    }

    fn following(rule: u32) -> Vec<&'static str> {
        rows().into_iter().filter(|c| c.follows(rule)).map(|c| c.name).collect()
    }

    /// The dispatcher tests NOSCRIPT before it looks for a session step; the busy
    /// servicer refuses keyed commands run at once, which only WATCH is.
    #[test]
    fn session_rows_are_noscript_and_watch_alone_has_keys() {
        for c in rows().into_iter().filter(|c| c.session.is_some()) {
            assert!(c.has(flags::NOSCRIPT), "{} has a session step but is not noscript", c.name);
        }
        let keyed_busy: Vec<_> = rows().into_iter().filter(|c| c.has(flags::ALLOW_BUSY) && c.keys.first > 0).map(|c| c.name).collect();
        assert_eq!(keyed_busy, ["watch"]);
    }

    #[test]
    fn session_rules_are_on_the_rows_redis_names() {
        let subscribed = ["ping", "psubscribe", "punsubscribe", "quit", "reset", "ssubscribe", "subscribe", "sunsubscribe", "unsubscribe"];
        assert_eq!(following(rules::WHEN_SUBSCRIBED), subscribed);
        assert_eq!(following(rules::NOT_QUEUED), ["discard", "exec", "multi", "quit", "reset", "watch"]);
        assert_eq!(following(rules::NULL_WHEN_EMPTY), ["blmove", "brpoplpush"]);
    }
}
