//! The session steps of MULTI / EXEC / DISCARD / WATCH / UNWATCH / RESET, run by the
//! dispatcher on the connection's thread (they act on the connection, not on keys):
//! the row names its step (`commands::Session`), and `rules::NOT_QUEUED` says which
//! commands run at once inside MULTI.
//!
//! Inside MULTI every other command is checked (lookup, arity, no-multi) and queued
//! with its arguments; a refused one makes EXEC fail with EXECABORT. EXEC waits for the
//! connection's earlier replies (the multi-shard barrier), then locks, in shard order,
//! the union of the shards that the queued commands and the watched keys need (plus the
//! connection's own shard, for keyless commands), checks the watch under those locks,
//! and runs every queued command over one [`Db`], writing the replies as one array.
//! Clients blocked on keys the transaction wrote are served after the last command, so
//! nobody observes the transaction half done, on any shard.

use super::conn::Conn;
use crate::store::db::Db;
use super::dispatch::{run, wake, Step, Turn, Wake};
use crate::commands::call::Call;
use crate::store::routing::{shard_of, ShardId};
use super::watch::Watching;
use super::Shared;
use crate::commands::{flags, rules, Command, Ctx, Route, Session};
use crate::resp::{Args, OwnedArgs, ReplyWriter};
use crate::store::Keyspace;
use std::sync::MutexGuard;

use crate::commands::errors::{
    execabort_because, DISCARD_WITHOUT_MULTI, EXECABORT, EXEC_WITHOUT_MULTI, NESTED_MULTI, NOT_IN_MULTI, WATCH_IN_MULTI,
};

/// A connection's open transaction.
#[derive(Default)]
pub struct Multi {
    queue: Vec<(&'static Command, OwnedArgs)>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    aborted: bool,
}

type Guard<'g> = Option<MutexGuard<'g, Keyspace>>;

/// What a session step works on: the turn, the connection, and the pipeline's lock of
/// the connection's own shard (released before a step takes other shards' locks).
pub(crate) struct SessionCtx<'t, 'g> {
    pub turn: &'t mut Turn<'g>,
    pub conn: &'t mut Conn,
    pub guard: &'t mut Guard<'g>,
}

fn reply_error(conn: &mut Conn, msg: &str) {
    let resp3 = conn.client.resp3;
    ReplyWriter::new(conn.reply_parts().0, resp3).error(msg);
}

fn reply_ok(conn: &mut Conn) {
    let resp3 = conn.client.resp3;
    ReplyWriter::new(conn.reply_parts().0, resp3).ok();
}

/// Drops the connection's watches. The pipeline's own lock is released first: the
/// watched keys may live on any shard.
fn unwatch(shared: &Shared, conn: &mut Conn, guard: &mut Guard<'_>) {
    if let Some(w) = conn.watching.take() {
        conn.client.watch = None;
        conn.client.changed = true;
        drop(guard.take());
        w.forget(shared);
    }
}

/// A disconnecting connection's watches (no lock held by the caller).
pub fn on_close(shared: &Shared, conn: &Conn) {
    if let Some(w) = &conn.watching {
        w.forget(shared);
    }
}

/// A command that failed lookup or arity (`msg`; `cmd` when the lookup found it).
/// Inside MULTI it dooms the transaction; a malformed EXEC ends it at once, as Redis
/// does.
pub(crate) fn refused<'g>(shared: &'g Shared, conn: &mut Conn, guard: &mut Guard<'g>, cmd: Option<&'static Command>, msg: &str) {
    if cmd.is_some_and(|c| c.session == Some(Session::Exec)) {
        end_multi(conn);
        unwatch(shared, conn, guard);
        return reply_error(conn, &execabort_because(msg));
    }
    if let Some(m) = conn.multi.as_mut() {
        m.aborted = true;
    }
    reply_error(conn, msg);
}

/// The session stage of a command on a client connection: inside MULTI it is queued
/// (or refused, `no-multi`) unless its row says `NOT_QUEUED`; then the row's session
/// step, if it has one, runs. Some(step): answered here. None: run the row's handler
/// as usual.
pub(crate) fn session(s: &mut SessionCtx<'_, '_>, cmd: &'static Command, args: Args<'_>) -> Option<Step> {
    if s.conn.multi.is_some() && !cmd.follows(rules::NOT_QUEUED) {
        queue(s.conn, cmd, args);
        return Some(Step::Done);
    }
    match cmd.session? {
        Session::Multi => multi(s.conn),
        Session::Exec => return Some(exec(s)),
        Session::Discard => discard(s),
        Session::Watch => return Some(watch(s, args)),
        Session::Unwatch => {
            unwatch(s.turn.shared, s.conn, s.guard);
            reply_ok(s.conn);
        }
        Session::Reset => {
            // RESET ends the transaction and every watch; its handler does the rest.
            end_multi(s.conn);
            unwatch(s.turn.shared, s.conn, s.guard);
            return None;
        }
    }
    Some(Step::Done)
}

/// Queues `cmd` in the open transaction, or refuses it (`no-multi`), dooming it.
fn queue(conn: &mut Conn, cmd: &'static Command, args: Args<'_>) {
    let multi = conn.multi.as_mut().expect("inside MULTI");
    if cmd.has(flags::NO_MULTI) {
        multi.aborted = true;
        return reply_error(conn, NOT_IN_MULTI);
    }
    multi.queue.push((cmd, OwnedArgs::from_slices(args.iter())));
    conn.client.multi = Some(multi.queue.len());
    conn.client.changed = true;
    let resp3 = conn.client.resp3;
    ReplyWriter::new(conn.reply_parts().0, resp3).simple("QUEUED");
}

/// MULTI: opens a transaction.
fn multi(conn: &mut Conn) {
    if conn.multi.is_some() {
        return reply_error(conn, NESTED_MULTI);
    }
    conn.multi = Some(Box::default());
    conn.client.multi = Some(0);
    conn.client.changed = true;
    reply_ok(conn);
}

/// DISCARD: drops the transaction and the watches.
fn discard(s: &mut SessionCtx<'_, '_>) {
    if s.conn.multi.is_none() {
        return reply_error(s.conn, DISCARD_WITHOUT_MULTI);
    }
    end_multi(s.conn);
    unwatch(s.turn.shared, s.conn, s.guard);
    reply_ok(s.conn);
}

/// Leaves MULTI (the queue is dropped).
fn end_multi(conn: &mut Conn) {
    conn.multi = None;
    conn.client.multi = None;
    conn.client.changed = true;
}

/// WATCH key [key ...]: registers the keys in their owners' keyspaces.
fn watch(s: &mut SessionCtx<'_, '_>, args: Args<'_>) -> Step {
    let (turn, conn) = (&mut *s.turn, &mut *s.conn);
    if conn.multi.is_some() {
        reply_error(conn, WATCH_IN_MULTI);
        return Step::Done;
    }
    if !conn.pending.is_empty() {
        // An earlier command of the pipeline may still write one of these keys.
        return Step::Wait;
    }
    let (shared, n) = (turn.shared, turn.shared.shard_count());
    let mut ids: Vec<ShardId> = args.from(1).map(|k| shard_of(k, n)).collect();
    ids.sort_unstable();
    ids.dedup();
    drop(s.guard.take());
    let mut locks = shared.lock_shards(&ids);
    let mut db = Db::locked(&mut locks, &ids, n);
    let w = conn.watching.get_or_insert_with(Box::default);
    conn.client.watch = Some(std::sync::Arc::clone(&w.flag));
    conn.client.changed = true;
    for key in args.from(1) {
        let s = shard_of(key, n);
        let ks = db.shard(s).expect("the key's shard is locked");
        w.add(s, ks, key, turn.now_ms);
    }
    drop(db);
    drop(locks);
    reply_ok(conn);
    Step::Done
}

/// The shards a call needs, added to `ids`.
fn shards_of(call: &Call<'_>, n: usize, ids: &mut Vec<ShardId>) {
    match call.cmd.route {
        _ if call.cmd.spans_all(call.args) => ids.extend(0..n),
        Route::Pick(pick) => ids.push(pick(call.args, n)),
        _ => ids.extend(call.keys().map(|key| shard_of(key, n))),
    }
}

/// EXEC: runs the queue atomically across shards, or fails (EXECABORT, broken watch).
fn exec(s: &mut SessionCtx<'_, '_>) -> Step {
    let (turn, conn, guard) = (&mut *s.turn, &mut *s.conn, &mut *s.guard);
    if conn.multi.is_none() {
        reply_error(conn, EXEC_WITHOUT_MULTI);
        return Step::Done;
    }
    if !conn.pending.is_empty() {
        return Step::Wait; // the transaction must see the pipeline's earlier writes
    }
    let shared = turn.shared;
    let multi = conn.multi.take().expect("inside MULTI");
    // CLIENT INFO inside the transaction still shows it (as Redis): cleared at the end.
    conn.client.changed = true;
    if multi.aborted {
        conn.client.multi = None;
        unwatch(shared, conn, guard);
        reply_error(conn, EXECABORT);
        return Step::Done;
    }
    let watching: Option<Box<Watching>> = conn.watching.take();
    conn.client.watch = None;
    let n = shared.shard_count();
    // Each queued command resolved once: its keys serve the locks, the run and the wake-ups.
    let calls: Vec<Call<'_>> = multi.queue.iter().map(|(cmd, args)| Call::new(cmd, args.args())).collect();
    let mut ids = vec![turn.me];
    for call in &calls {
        shards_of(call, n, &mut ids);
    }
    if let Some(w) = &watching {
        ids.extend(w.shards());
    }
    ids.sort_unstable();
    ids.dedup();
    // Every thread takes keyspace locks in shard order: ours goes first.
    drop(guard.take());
    let mut locks = shared.lock_shards(&ids);
    let mut db = Db::locked(&mut locks, &ids, n);
    if let Some(w) = &watching {
        if !w.check_and_forget(&mut db, turn.now_ms) {
            conn.client.multi = None;
            let resp3 = conn.client.resp3;
            ReplyWriter::new(conn.reply_parts().0, resp3).null_array();
            return Step::Done;
        }
    }
    run_queue(turn, conn, &mut db, &calls);
    conn.client.multi = None;
    turn.commands += multi.queue.len() as u64;
    Step::Done
}

/// Runs the queued commands over `db` (all their shards locked), replies as one array,
/// then serves clients blocked on the keys they wrote.
fn run_queue(turn: &mut Turn<'_>, conn: &mut Conn, db: &mut Db<'_>, queue: &[Call<'_>]) {
    let (shared, me, now_ms) = (turn.shared, turn.me, turn.now_ms);
    let (buf, client) = conn.reply_parts();
    ReplyWriter::new(&mut *buf, client.resp3).array(queue.len());
    for call in queue {
        let resp3 = client.resp3; // HELLO inside the transaction switches the rest
        let mut ctx = Ctx::new(db.reborrow(), ReplyWriter::new(&mut *buf, resp3), now_ms, Some(&mut *client), shared, me);
        run(shared, call, &mut ctx, Wake::Later);
        if ctx.block.take().is_some() {
            // Blocking commands do not block inside a transaction: they time out at once.
            if call.cmd.follows(rules::NULL_WHEN_EMPTY) {
                ctx.out.null();
            } else {
                ctx.out.null_array();
            }
        }
    }
    for call in queue {
        wake(db, call, shared, me, now_ms, turn.outbox);
    }
}
