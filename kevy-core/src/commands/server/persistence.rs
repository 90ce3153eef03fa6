//! Persistence commands: SAVE BGSAVE BGREWRITEAOF LASTSAVE SHUTDOWN.

use std::sync::atomic::Ordering;

use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec, Route};
use crate::persist::{dump, saver};
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
    if ctx.shared.persist.in_progress.load(Ordering::Acquire) {
        return ctx.out.error(errors::BGSAVE_IN_PROGRESS);
    }
    let shared = ctx.shared;
    let views = ctx.db.all();
    let views: Vec<&crate::store::Keyspace> = views.iter().map(|(_, ks)| &**ks).collect();
    match saver::save_locked(shared, &views) {
        Ok(_) => ctx.out.ok(),
        Err(e) => {
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
    if ctx.shared.persist.in_progress.load(Ordering::Acquire) {
        return ctx.out.error(errors::BGSAVE_IN_PROGRESS);
    }
    let now_ms = ctx.now_ms;
    let copies: Vec<_> = ctx.db.all().iter().map(|(_, ks)| dump::copy_shard(ks, now_ms)).collect();
    if saver::start_background(ctx.shared, copies) {
        ctx.out.simple("Background saving started");
    } else {
        ctx.out.error(errors::BGSAVE_IN_PROGRESS);
    }
}

/// BGREWRITEAOF
///
/// Each shard's file is rewritten in turn by the AOF thread; shards keep serving.
fn bgrewriteaof(ctx: &mut Ctx<'_>, _: Args<'_>) {
    if !ctx.shared.aof.on.load(Ordering::Acquire) {
        return ctx.out.error(errors::AOF_REWRITE_NEEDS_AOF);
    }
    if ctx.shared.aof_worker.request_rewrite() {
        ctx.out.simple("Background append only file rewriting started");
    } else {
        ctx.out.error(errors::AOF_REWRITE_IN_PROGRESS);
    }
}

/// LASTSAVE
fn lastsave(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.int(ctx.shared.persist.last_save_s.load(Ordering::Acquire) as i64);
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
        if let Some(busy) = crate::scripting::busy_anywhere(ctx.shared) {
            return ctx.out.error(busy);
        }
    }
    let mode = if save {
        saver::shutdown::SAVE
    } else if nosave {
        saver::shutdown::NOSAVE
    } else {
        saver::shutdown::DEFAULT
    };
    let shared = ctx.shared;
    crate::log_warning!("user requested shutdown...");
    shared.shutdown_mode.store(mode, Ordering::Release);
    shared.stop.store(true, Ordering::Release);
    for s in &shared.shards {
        s.waker.wake();
    }
    // Redis sends no reply on success: the connection just closes.
    if let Some(client) = ctx.client.as_deref_mut() {
        client.close_after_reply = true;
    }
}
