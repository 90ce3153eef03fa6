//! SLOWLOG GET/LEN/RESET/HELP over the server's one slow log (`commands::stats::slowlog`).

use crate::commands::{container, errors, flags::*, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::NONE, handler).route(Route::Keys).group("server").summary(summary)
}

pub const COMMANDS: &[Command] = &[Command::new("slowlog", -2, 0, KeySpec::NONE, container)
    .group("server")
    .summary("A container for slow log commands.")
    .subcommands(SUBCOMMANDS)];

const SUBCOMMANDS: &[Command] = &[
    cmd("slowlog|get", -2, ADMIN | LOADING | STALE, slowlog_get, "Returns the slow log's entries."),
    cmd("slowlog|len", 2, ADMIN | LOADING | STALE, slowlog_len, "Returns the number of entries in the slow log."),
    cmd("slowlog|reset", 2, ADMIN | LOADING | STALE, slowlog_reset, "Clears all entries from the slow log."),
    cmd("slowlog|help", 2, LOADING | STALE, slowlog_help, "Show helpful text about the different subcommands"),
];

/// Entries SLOWLOG GET returns without a count.
const DEFAULT_COUNT: usize = 10;

/// SLOWLOG GET [count]
fn slowlog_get(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() > 3 {
        return ctx.out.error(&errors::unknown_subcommand_or_arity("SLOWLOG", args.get(1)));
    }
    let count = match args.len() {
        2 => Some(DEFAULT_COUNT),
        _ => match parse_i64(args.get(2)) {
            Some(-1) => None,
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.out.error(errors::SLOWLOG_BAD_COUNT),
        },
    };
    let entries = ctx.shared.slowlog().newest(ctx.shared.config(), count);
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.unix_s as i64);
        ctx.out.int(e.micros as i64);
        ctx.out.array(e.args.len());
        for arg in &e.args {
            ctx.out.bulk(arg);
        }
        ctx.out.bulk(e.addr.as_bytes());
        ctx.out.bulk(&e.name);
    }
}

/// SLOWLOG LEN
fn slowlog_len(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.int(ctx.shared.slowlog().len(ctx.shared.config()) as i64);
}

/// SLOWLOG RESET
fn slowlog_reset(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.shared.slowlog().reset();
    ctx.out.ok();
}

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

/// SLOWLOG HELP
fn slowlog_help(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.array(SLOWLOG_HELP.len());
    for line in SLOWLOG_HELP {
        ctx.out.simple(line);
    }
}
