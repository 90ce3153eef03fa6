//! Server commands: DBSIZE FLUSHDB FLUSHALL TIME CONFIG.

pub mod info;
pub mod introspect;
pub mod memory;
pub mod latency;
pub mod persistence;
pub mod slowlog;

use crate::commands::{container, errors, flags::*, is, Command, Ctx, KeySpec, Route};
use crate::resp::Args;

const fn cmd(name: &'static str, arity: i32, flags: u32, route: Route, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::NONE, handler).route(route).group("server").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("dbsize", 1, READONLY | FAST, Route::AllShards, dbsize, "Returns the number of keys in the database."),
    cmd("flushdb", -1, WRITE, Route::AllShards, flushall, "Removes all keys from the current database."),
    cmd("flushall", -1, WRITE, Route::AllShards, flushall, "Removes all keys from all databases."),
    cmd("time", 1, LOADING | STALE | FAST, Route::Keys, time, "Returns the server time."),
    Command::new("config", -2, 0, KeySpec::NONE, container).group("server").summary("A container for server configuration commands.").subcommands(CONFIG_SUBCOMMANDS),
];

const CONFIG_SUBCOMMANDS: &[Command] = &[
    cmd("config|get", -3, ADMIN | NOSCRIPT | LOADING | STALE, Route::Keys, config_get, "Returns the effective values of configuration parameters."),
    cmd("config|set", -4, ADMIN | NOSCRIPT | LOADING | STALE, Route::Keys, config_set, "Sets configuration parameters in-flight."),
    cmd("config|resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, Route::Keys, config_resetstat, "Resets the server's statistics."),
];

/// DBSIZE
fn dbsize(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let n: usize = ctx.db.all().iter().map(|(_, ks)| ks.len()).sum();
    ctx.out.int(n as i64);
}

/// FLUSHALL [ASYNC|SYNC] / FLUSHDB [ASYNC|SYNC]
fn flushall(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() > 2 || (args.len() == 2 && !is(args.get(1), "ASYNC") && !is(args.get(1), "SYNC")) {
        return ctx.out.error(errors::SYNTAX);
    }
    for (_, ks) in ctx.db.all() {
        ks.clear();
    }
    ctx.out.ok();
}

/// TIME
fn time(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk(now.as_secs().to_string().as_bytes());
    ctx.out.bulk(now.subsec_micros().to_string().as_bytes());
}

/// CONFIG GET parameter [parameter ...]
fn config_get(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut found: Vec<(String, String)> = Vec::new();
    for pattern in args.from(2) {
        for (name, value) in ctx.shared.config().matching(pattern) {
            if !found.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                found.push((name, value));
            }
        }
    }
    ctx.out.map(found.len());
    for (name, value) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
}

/// CONFIG SET parameter value [parameter value ...]
fn config_set(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() % 2 != 0 {
        return ctx.out.error(errors::SYNTAX);
    }
    let mut pairs = Vec::new();
    for i in (2..args.len()).step_by(2) {
        let name = String::from_utf8_lossy(args.get(i)).into_owned();
        let value = String::from_utf8_lossy(args.get(i + 1)).into_owned();
        pairs.push((name, value));
    }
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    // The host's in-process calls have a client without a peer address; a command run
    // without any client (never CONFIG SET today) gets a remote client's rights.
    let origin = match ctx.client.as_deref() {
        Some(c) if !c.is_connection() => crate::config::Origin::Host,
        Some(c) => crate::config::Origin::Client { local: c.is_local() },
        None => crate::config::Origin::Client { local: false },
    };
    match ctx.shared.config().set_many_from(&refs, origin) {
        Ok(()) => {
            ctx.shared.config_changed();
            ctx.out.ok()
        }
        Err(msg) => ctx.out.error(&msg),
    }
}

/// CONFIG RESETSTAT
fn config_resetstat(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.shared.reset_stats();
    ctx.out.ok();
}
