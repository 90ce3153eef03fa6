//! Persistence commands: SAVE BGSAVE BGREWRITEAOF LASTSAVE SHUTDOWN.

use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec, Route};
use crate::commands::runtime::{SaveError, Shutdown};
use crate::resp::Args;

const fn cmd(name: &'static str, arity: i32, flags: u32, route: Route, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::NONE, handler).route(route).group("server").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("save", 1, ADMIN | NOSCRIPT | NO_MULTI, Route::AllShards, save, "Synchronously saves the database(s) to disk."),
    cmd("bgsave", -1, ADMIN | NOSCRIPT, Route::AllShards, bgsave, "Asynchronously saves the database(s) to disk."),
    cmd("bgrewriteaof", 1, ADMIN | NOSCRIPT, Route::Keys, bgrewriteaof, "Asynchronously rewrites the append-only file to disk."),
    cmd("lastsave", 1, LOADING | STALE | FAST, Route::Keys, lastsave, "Returns the Unix timestamp of the last successful save to disk."),
    cmd(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        Route::Keys,
        shutdown,
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
    ),
];


/// SAVE
fn save(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let shared = ctx.shared;
    let views = ctx.db.all();
    let views: Vec<&crate::store::Keyspace> = views.iter().map(|(_, ks)| &**ks).collect();
    match shared.save(&views) {
        Ok(()) => ctx.out.ok(),
        Err(SaveError::InProgress) => ctx.out.error(errors::BGSAVE_IN_PROGRESS),
        Err(SaveError::Failed(e)) => {
            crate::log_warning!("SAVE failed: {e}");
            ctx.out.error(errors::SAVE_FAILED);
        }
    }
}

/// BGSAVE [SCHEDULE]
///
/// The copy is taken now, with every shard locked (one consistent cut); files are
/// written by a background thread while the shards serve.
fn bgsave(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() > 2 || (args.len() == 2 && !is(args.get(1), "SCHEDULE")) {
        return ctx.out.error(errors::SYNTAX);
    }
    let (shared, now_ms) = (ctx.shared, ctx.now_ms);
    let views = ctx.db.all();
    let views: Vec<&crate::store::Keyspace> = views.iter().map(|(_, ks)| &**ks).collect();
    match shared.bgsave(&views, now_ms) {
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(_) => ctx.out.error(errors::BGSAVE_IN_PROGRESS),
    }
}

/// BGREWRITEAOF
///
/// Each shard's file is rewritten in turn by the AOF thread; shards keep serving.
fn bgrewriteaof(ctx: &mut Ctx<'_>, _: Args<'_>) {
    if !ctx.shared.persistence().aof_on {
        return ctx.out.error(errors::AOF_REWRITE_NEEDS_AOF);
    }
    if ctx.shared.rewrite_aof() {
        ctx.out.simple("Background append only file rewriting started");
    } else {
        ctx.out.error(errors::AOF_REWRITE_IN_PROGRESS);
    }
}

/// LASTSAVE
fn lastsave(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.int(ctx.shared.persistence().last_save_s as i64);
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
///
/// Stops every shard; the host (kevy-server's main, or the embedding program) then
/// sees `Server::is_stopping`, and stopping writes the final snapshot when asked.
fn shutdown(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (mut save, mut nosave, mut abort) = (false, false, false);
    for a in args.from(1) {
        if is(a, "SAVE") {
            save = true;
        } else if is(a, "NOSAVE") {
            nosave = true;
        } else if is(a, "ABORT") {
            abort = true;
        } else if !is(a, "NOW") && !is(a, "FORCE") {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    if (save && nosave) || (abort && args.len() > 2) {
        return ctx.out.error(errors::SYNTAX);
    }
    if abort {
        return ctx.out.error(errors::NO_SHUTDOWN_IN_PROGRESS);
    }
    // A busy script holds its shard's keys: only SHUTDOWN NOSAVE may stop it (Redis).
    if !nosave {
        if let Some(busy) = ctx.shared.busy_script() {
            return ctx.out.error(busy);
        }
    }
    let mode = if save {
        Shutdown::Save
    } else if nosave {
        Shutdown::NoSave
    } else {
        Shutdown::Default
    };
    crate::log_warning!("user requested shutdown...");
    ctx.shared.shutdown(mode);
    // Redis sends no reply on success: the connection just closes.
    if let Some(client) = ctx.client.as_deref_mut() {
        client.close_after_reply = true;
    }
}
