//! From parsed arguments to a reply: look the command up, check arity, find the shard(s)
//! that own its keys, and run it locally, on the owning shard over the mailbox, or
//! across several shards locked in shard order.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, MutexGuard};

use super::conn::Conn;
use crate::store::db::Db;
use super::blocking::{self, Home};
use crate::store::blocked::{ConnRef, Ticket};
use super::conn::BlockedOn;
use super::mailbox::{Outbox, ReplyBatch, Request, RequestBatch};
use crate::store::routing::ShardId;
use super::txn::SessionCtx;
use super::Shared;
use crate::commands::runtime::Runtime;
use crate::commands::effects::{consumers, traits, Propagate};
use crate::commands::call::{resolve, route, Call, Target};
use crate::commands::{flags, rules, Command, Ctx};
use crate::resp::{parse, Args, Limits, Parsed, ReplyWriter};
use crate::store::Keyspace;

/// What a connection's shard needs while it runs commands in one event-loop turn.
pub struct Turn<'s> {
    pub shared: &'s Shared,
    pub me: ShardId,
    pub now_ms: u64,
    pub outbox: &'s mut Outbox,
    pub commands: u64,
    /// Some(the -BUSY text) while a script on this thread is busy and its hook serves
    /// the other connections (`shard::busy`): only what Redis allows then runs.
    pub busy: Option<&'static str>,
    /// The effect consumers on (`effects::consumers`), read once per turn; refreshed
    /// after a command that may switch one (CONFIG SET is neither a read nor a write).
    pub effects_on: u32,
}

/// RESP2 subscribed mode allows only the rows with `rules::WHEN_SUBSCRIBED`: true when
/// `cmd` was refused here.
#[cold]
fn refused_when_subscribed(conn: &mut Conn, cmd: &'static Command) -> bool {
    if !conn.client.subs.any() || conn.client.resp3 || cmd.follows(rules::WHEN_SUBSCRIBED) {
        return false;
    }
    let msg = crate::commands::errors::only_subscribe_commands(cmd.name);
    ReplyWriter::new(conn.reply_parts().0, false).error(&msg);
    true
}

/// A protocol error before AUTH: over the small limits, Redis names them (a malformed
/// count gets the same text here; either way the connection is closed).
#[cold]
fn unauthenticated_text(msg: &'static str) -> &'static str {
    match msg {
        crate::resp::parser::INVALID_MULTIBULK => crate::commands::errors::UNAUTH_MULTIBULK,
        crate::resp::parser::INVALID_BULK => crate::commands::errors::UNAUTH_BULK,
        other => other,
    }
}

/// `-NOAUTH` for what a connection may not run before AUTH (everything but the
/// `no-auth` rows: AUTH, HELLO, QUIT, RESET), while a password is required. Never
/// inlined: the hot path keeps only the flag test.
#[cold]
#[inline(never)]
fn refused_unauthenticated<'g>(
    shared: &'g Shared,
    conn: &mut Conn,
    guard: &mut Option<MutexGuard<'g, Keyspace>>,
    cmd: &'static Command,
) -> bool {
    if cmd.has(flags::NO_AUTH) || !crate::commands::auth::password_required(&shared.config) {
        return false;
    }
    super::txn::refused(shared, conn, guard, Some(cmd), crate::commands::errors::NOAUTH);
    true
}

/// The rules of a connection's state that come before running a command, read from
/// its row: subscribed mode, then the session stage (`txn::session`: MULTI's queue,
/// the row's session step). Err: refused, not counted as run. Ok(Some(step)): answered
/// here. Ok(None): run the row's handler.
#[cold]
fn connection_state<'g>(
    turn: &mut Turn<'g>,
    conn: &mut Conn,
    guard: &mut Option<MutexGuard<'g, Keyspace>>,
    cmd: &'static Command,
    args: Args<'_>,
) -> Result<Option<Step>, Step> {
    if refused_when_subscribed(conn, cmd) {
        return Err(Step::Done);
    }
    Ok(super::txn::session(&mut SessionCtx { turn, conn, guard }, cmd, args))
}

/// Whether (and when) a call's wake-ups of blocked clients run.
pub enum Wake<'o> {
    /// Right after it, through this outbox.
    Now(&'o mut Outbox),
    /// The caller runs [`wake`] later (EXEC: after the whole transaction).
    Later,
    /// Not at all: a nested call (script, custom command) or a replay; the command
    /// around it, or nobody, wakes.
    Never,
}

/// Runs one call: the handler, then its effect stage. This is the one way a command
/// runs, whoever asks (a connection, another shard, EXEC, a host thread, a script, a
/// served blocked client, the AOF replay).
///
/// A handler's panic becomes an error reply, so one bad command cannot take the shard
/// (or the host process) down. The effect stage: WATCH settles the write's in-place
/// changes (kept unless it failed); with a consumer on, notifications and the AOF read
/// the row's declaration and the handler's [`Effects`](crate::commands::effects::Effects);
/// then, per `wake`, blocked clients on its keys are served.
pub fn run(shared: &Shared, call: &Call<'_>, ctx: &mut Ctx<'_>, wakes: Wake<'_>) {
    let cmd = call.cmd;
    let mark = ctx.out.mark();
    let on = ctx.effects.on;
    if on & consumers::NOTIFY != 0 {
        super::notify::before(call, ctx);
    }
    let write = cmd.has(flags::WRITE);
    if write {
        super::watch::settle(&mut ctx.db, true);
    }
    let timed = crate::commands::stats::slowlog::start(&shared.config);
    let fault = shared.faults.take(cmd.name);
    if let Some(crate::faults::Fault::Delay(pause)) = fault {
        std::thread::sleep(pause);
    }
    if let Some(crate::faults::Fault::Error(text)) = fault {
        ctx.out.error(&text);
    } else if catch_unwind(AssertUnwindSafe(|| (cmd.handler)(ctx, call.args))).is_err() {
        ctx.out.truncate(mark);
        ctx.out.error(crate::commands::errors::INTERNAL_ERROR);
    }
    if let Some(started) = timed {
        crate::commands::stats::slowlog::finish(call, ctx, started, &shared.config, &shared.slowlog, &shared.latency);
    }
    // A write that changed nothing, by its own report: no WATCH touch, not dirty.
    let mut noop = false;
    if write {
        ctx.effects.failed = ctx.out.written_since(mark).first() == Some(&b'-');
        noop = cmd.is(traits::NOOP_UNLESS_CHANGED) && ctx.effects.changes == 0;
        super::watch::settle(&mut ctx.db, !ctx.effects.failed && !noop);
    }
    if on != 0 {
        consume(shared, call, ctx, mark);
    }
    if let Wake::Now(outbox) = wakes {
        if (cmd.has(flags::WRITE) || cmd.is(traits::MAY_WRITE)) && ctx.block.is_none() && !noop {
            let (me, now_ms) = (ctx.shard, ctx.now_ms);
            wake(&mut ctx.db, call, shared, me, now_ms, outbox);
        }
    }
}



/// The notification and AOF consumers of a call's effects.
#[cold]
#[inline(never)]
fn consume(shared: &Shared, call: &Call<'_>, ctx: &mut Ctx<'_>, mark: usize) {
    if ctx.effects.on & consumers::NOTIFY != 0 {
        super::notify::after(call, ctx);
    }
    if ctx.effects.on & consumers::AOF != 0 && call.cmd.has(flags::WRITE) {
        // Only a family's custom propagation reads the reply (streams' generated IDs).
        let reply = match call.cmd.propagate {
            Propagate::Custom(_) => ctx.out.written_since(mark).to_vec(),
            _ => Vec::new(),
        };
        if catch_unwind(AssertUnwindSafe(|| crate::persist::aof::record(&shared.aof, call, ctx, &reply))).is_err() {
            crate::log_warning!("could not log '{}' to the append only file", call.cmd.name);
        }
    }
}

/// Runs a batch of commands another shard sent here; returns their encoded replies.
/// A blocking command that has to wait sends no reply now: it is queued, and served
/// later from whichever shard gets its data.
pub fn run_requests(
    shared: &Shared,
    me: ShardId,
    now_ms: u64,
    ks: &mut Keyspace,
    batch: &RequestBatch,
    outbox: &mut Outbox,
) -> ReplyBatch {
    let mut replies = ReplyBatch::with_capacity(batch.requests.len());
    let mut budget = ReplyBudget::default();
    let on = shared.consumers_on();
    for r in &batch.requests {
        if !budget.allows(r, &mut replies) {
            continue;
        }
        let args = batch.args(r);
        let mut ctx = Ctx::with_consumers(
            Db::one(me, ks, shared.shard_count()),
            ReplyWriter::new(&mut replies.bytes, r.resp3),
            now_ms,
            None,
            shared,
            me,
            on,
        );
        let call = Call::new(r.cmd, args);
        run(shared, &call, &mut ctx, Wake::Now(outbox));
        match (ctx.block.take(), &r.ticket) {
            (Some(req), Some(ticket)) => {
                let home = Home { shard: batch.from, conn: r.conn, seq: r.seq, resp3: r.resp3 };
                blocking::register(&mut ctx.db, &req, ticket, home, r.cmd, args);
                // The home shard owns the timeout: let it see the deadline now.
                shared.shards[batch.from].waker.wake_if_parked();
            }
            _ => replies.close(r.conn, r.seq),
        }
    }
    replies
}

/// Tracks the reply bytes of the run of one connection's requests in a batch (a
/// pipeline's requests are adjacent) against the budget each request carries.
#[derive(Default)]
struct ReplyBudget {
    conn: Option<ConnRef>,
    /// Where the run's replies start in the batch's bytes.
    start: usize,
    /// The connection's replies reached its budget: its later requests are not run.
    spent: bool,
}

impl ReplyBudget {
    /// May `r` run? Refuses it (and the connection's next requests) once the replies
    /// of the run reached `r.budget`, telling the connection once.
    #[inline]
    fn allows(&mut self, r: &Request, replies: &mut ReplyBatch) -> bool {
        if self.conn != Some(r.conn) {
            *self = ReplyBudget { conn: Some(r.conn), start: replies.bytes.len(), spent: false };
        }
        if !self.spent && (replies.bytes.len() - self.start) as u64 >= r.budget {
            self.spent = true;
            replies.refuse_over_limit(r.conn);
        }
        !self.spent
    }
}

/// After a write (or a script that may have written): counts it dirty, makes the other
/// shards' logs it wrote durable, and serves clients blocked on its keys.
#[inline]
pub(crate) fn wake(db: &mut Db<'_>, call: &Call<'_>, shared: &Shared, me: ShardId, now_ms: u64, outbox: &mut Outbox) {
    let cmd = call.cmd;
    // Reads (and everything that is not a write or a script) end here.
    if cmd.has(flags::WRITE) || cmd.is(traits::MAY_WRITE) {
        wake_slow(db, call, shared, me, now_ms, outbox);
    }
}

fn wake_slow(db: &mut Db<'_>, call: &Call<'_>, shared: &Shared, me: ShardId, now_ms: u64, outbox: &mut Outbox) {
    if call.cmd.has(flags::WRITE) {
        shared.shards[me].stats.dirty.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if shared.aof.on.load(std::sync::atomic::Ordering::Relaxed) {
            // Other shards' logs this command wrote to: durable before the locks go
            // (our own shard's log is flushed by our loop before the turn's replies).
            crate::persist::aof::flush_others(&shared.aof, &shared.config, db, me);
        }
    }
    // A script's (or custom command's) nested writes: their keys, not its declared ones.
    let written = if call.cmd.is(traits::MAY_WRITE) { crate::commands::nested::take_written() } else { Vec::new() };
    if blocking::any_waiters(db) {
        let mut keys: Vec<Vec<u8>> = call.keys().map(<[u8]>::to_vec).collect();
        let n = db.shards();
        keys.extend(written.into_iter().filter(|k| db.shard(crate::store::routing::shard_of(k, n)).is_some()));
        blocking::serve_ready(db, keys, shared, me, now_ms, outbox);
    }
}

/// Did one command finish, or must the pipeline wait for earlier replies first?
pub(crate) enum Step {
    Done,
    Wait,
}

/// Parses and runs every complete command in the connection's input, in order.
pub fn run_pipeline(turn: &mut Turn<'_>, conn: &mut Conn, slot: u32) {
    let shared = turn.shared;
    let limits = match conn.client.auth_pending {
        false => Limits {
            max_bulk_len: shared.config.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed),
            ..Limits::default()
        },
        // Redis's small limits before AUTH: 10 arguments, 16 KiB per argument.
        true => Limits { max_bulk_len: 16384, max_multibulk_len: 10 },
    };
    // The parse buffers are moved out so `conn` can be borrowed for the reply.
    let rbuf = std::mem::take(&mut conn.rbuf);
    let mut spans = std::mem::take(&mut conn.spans);
    let mut scratch = std::mem::take(&mut conn.scratch);
    let mut guard: Option<MutexGuard<'_, Keyspace>> = None;
    let mut need = 0;
    // A client over its output buffer limit runs nothing more (it is closed, as Redis).
    while !conn.closing && !conn.barrier && conn.rpos < conn.rlen && !conn.over_output_limit(turn.now_ms) {
        let input = &rbuf[conn.rpos..conn.rlen];
        match parse(input, &limits, &mut spans, &mut scratch) {
            Parsed::Incomplete { hint } => {
                need = hint;
                break;
            }
            Parsed::Empty { consumed } => conn.rpos += consumed,
            Parsed::Error(msg) => {
                let msg = if conn.client.auth_pending { unauthenticated_text(msg) } else { msg };
                let resp3 = conn.client.resp3;
                ReplyWriter::new(conn.reply_parts().0, resp3).error(msg);
                conn.closing = true;
                conn.rpos = conn.rlen;
            }
            Parsed::Command { consumed, inline } => {
                let args = Args::new(if inline { &scratch } else { input }, &spans);
                match run_one(turn, conn, slot, &mut guard, args) {
                    Step::Done => conn.rpos += consumed,
                    Step::Wait => conn.barrier = true,
                }
            }
        }
    }
    drop(guard);
    conn.rbuf = rbuf;
    conn.spans = spans;
    conn.scratch = scratch;
    if need > 0 {
        conn.expect(need);
    } else {
        conn.compact();
    }
}

/// Runs `cmd` on this thread for `conn`, over `db`, replying into the connection.
#[inline(always)]
fn run_for_conn(turn: &mut Turn<'_>, conn: &mut Conn, db: Db<'_>, call: &Call<'_>) {
    let resp3 = conn.client.resp3;
    let (buf, client) = conn.reply_parts();
    let out = ReplyWriter::new(buf, resp3);
    let mut ctx = Ctx::with_consumers(db, out, turn.now_ms, Some(client), turn.shared, turn.me, turn.effects_on);
    run(turn.shared, call, &mut ctx, Wake::Now(turn.outbox));
    refresh_consumers(turn, call.cmd);
}

/// After a command that is neither a read nor a write (CONFIG SET, a script, a custom
/// command...), the turn's consumer word is read again.
#[inline(always)]
fn refresh_consumers(turn: &mut Turn<'_>, cmd: &Command) {
    if cmd.flags & (flags::WRITE | flags::READONLY) == 0 {
        turn.effects_on = turn.shared.consumers_on();
    }
}

/// Runs a blocking command on this thread: it replies now, or blocks the connection
/// with an awaited reply slot and queues it under its keys.
fn run_blocking_here(turn: &mut Turn<'_>, conn: &mut Conn, slot: u32, mut db: Db<'_>, call: &Call<'_>) {
    let (cmd, args) = (call.cmd, call.args);
    let resp3 = conn.client.resp3;
    let mut bytes = Vec::new();
    let out = ReplyWriter::new(&mut bytes, resp3);
    let mut ctx = Ctx::with_consumers(db.reborrow(), out, turn.now_ms, None, turn.shared, turn.me, turn.effects_on);
    run(turn.shared, call, &mut ctx, Wake::Now(turn.outbox));
    let block = ctx.block.take();
    drop(ctx);
    let Some(req) = block else {
        conn.reply_parts().0.extend_from_slice(&bytes);
        return;
    };
    let seq = conn.await_reply();
    let ticket = Arc::new(Ticket::default());
    let home = Home { shard: turn.me, conn: ConnRef { slot, generation: conn.generation }, seq, resp3 };
    blocking::register(&mut db, &req, &ticket, home, cmd, args);
    block_conn(turn.shared, conn, ticket, seq);
}

/// Marks the connection blocked: its pipeline waits for the awaited reply.
fn block_conn(shared: &Shared, conn: &mut Conn, ticket: Arc<Ticket>, seq: u64) {
    conn.blocked = Some(BlockedOn { ticket, seq });
    conn.barrier = true;
    shared.blocked_clients.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

fn run_one<'g>(
    turn: &mut Turn<'g>,
    conn: &mut Conn,
    slot: u32,
    guard: &mut Option<MutexGuard<'g, Keyspace>>,
    args: Args<'_>,
) -> Step {
    let shared = turn.shared;
    let cmd = match resolve(&shared.table, args) {
        Ok(cmd) => cmd,
        Err(msg) => {
            // The row, when the lookup found one (an arity error: a malformed EXEC).
            let row = shared.table.lookup(args.get(0));
            super::txn::refused(shared, conn, guard, row, &msg);
            return Step::Done;
        }
    };
    // One flag per connection: false unless `requirepass` was set when it connected.
    if conn.client.auth_pending && refused_unauthenticated(shared, conn, guard, cmd) {
        return Step::Done;
    }
    if let Some(busy) = turn.busy {
        return super::busy::run_one_busy(turn, conn, guard, cmd, args, busy);
    }
    let (me, now_ms) = (turn.me, turn.now_ms);
    conn.client.last_cmd = cmd.name;
    conn.client.last_cmd_ms = now_ms;
    // One test for ordinary commands on ordinary connections: the rows with a session
    // step are all NOSCRIPT (a table test checks it), and the other cases are
    // connection states.
    let special = cmd.has(flags::NOSCRIPT) || conn.multi.is_some() || conn.client.subs.any();
    if special && conn.multi.is_some() && !cmd.has(flags::ALLOW_BUSY) {
        // As Redis: a busy server refuses what a transaction would queue (dooming it)
        // and EXEC, whatever their keys, so no transaction runs half refused.
        if let Some(busy) = shared.busy_script() {
            super::txn::refused(shared, conn, guard, Some(cmd), busy);
            return Step::Done;
        }
    }
    let answered = match special {
        true => match connection_state(turn, conn, guard, cmd, args) {
            Ok(answered) => answered,
            Err(step) => return step,
        },
        false => None,
    };
    match answered {
        Some(Step::Wait) => return Step::Wait,
        Some(Step::Done) => {}
        None => {
            if let Err(wait) = run_routed(turn, conn, slot, guard, cmd, args) {
                return wait;
            }
        }
    }
    turn.commands += 1;
    after_command(shared, me, conn);
    Step::Done
}

/// After a command of a connection: publishes a changed session to CLIENT LIST and
/// honours QUIT.
pub(crate) fn after_command(shared: &Shared, me: ShardId, conn: &mut Conn) {
    let client = &mut conn.client;
    if client.changed {
        client.changed = false;
        let mut list = shared.shards[me].clients.lock().unwrap_or_else(|e| e.into_inner());
        list.insert(client.id, client.clone());
    }
    if client.close_after_reply {
        conn.closing = true;
    }
}

/// Runs a command where its keys live. Err(Step::Wait): it spans shards and earlier
/// replies are still awaited.
fn run_routed<'g>(
    turn: &mut Turn<'g>,
    conn: &mut Conn,
    slot: u32,
    guard: &mut Option<MutexGuard<'g, Keyspace>>,
    cmd: &'static Command,
    args: Args<'_>,
) -> Result<(), Step> {
    let shared = turn.shared;
    let (shards, me) = (shared.shard_count(), turn.me);
    let call = Call::new(cmd, args);
    let routed = route(&call, shards, me);
    if let Some(busy) = crate::scripting::busy_for_command(&shared.scripts, &shared.config, shards, &call, &routed, me) {
        let resp3 = conn.client.resp3;
        ReplyWriter::new(conn.reply_parts().0, resp3).error(busy);
        return Ok(());
    }
    match routed {
        Target::Local => {
            let ks = guard.get_or_insert_with(|| shared.lock(me));
            let db = Db::one(me, ks, shards);
            if cmd.has(flags::BLOCKING) {
                run_blocking_here(turn, conn, slot, db, &call);
            } else {
                let before = arm_rerun(shards, conn, &call);
                run_for_conn(turn, conn, db, &call);
                rerun_on_every_shard(turn, conn, guard, &call, before);
            }
        }
        Target::Remote(to) => {
            let seq = conn.await_reply();
            let cref = ConnRef { slot, generation: conn.generation };
            let ticket = cmd.has(flags::BLOCKING).then(|| Arc::new(Ticket::default()));
            let budget = conn.reply_budget();
            turn.outbox.request(to, cref, seq, conn.client.resp3, cmd, args, ticket.clone(), budget);
            if let Some(ticket) = ticket {
                // It may block over there: hold the pipeline until its reply is back.
                block_conn(shared, conn, ticket, seq);
            }
        }
        Target::Multi(ids) => {
            if !conn.pending.is_empty() {
                return Err(Step::Wait);
            }
            // Our own lock is released first: every thread takes locks in shard order.
            drop(guard.take());
            let mut locks = shared.lock_shards(&ids);
            let db = Db::locked(&mut locks, &ids, shards);
            if cmd.has(flags::BLOCKING) {
                run_blocking_here(turn, conn, slot, db, &call);
            } else {
                let before = arm_rerun(shards, conn, &call);
                run_for_conn(turn, conn, db, &call);
                drop(locks);
                rerun_on_every_shard(turn, conn, guard, &call, before);
            }
        }
    }
    Ok(())
}

/// Before a command for a connection: where its reply starts, and (for a script on
/// several shards) the mark that [`rerun_on_every_shard`] may run it again.
#[inline]
fn arm_rerun(shards: usize, conn: &mut Conn, call: &Call<'_>) -> usize {
    if shards == 1 || !crate::scripting::reach::is_script(call.cmd) {
        return 0;
    }
    crate::scripting::reach::arm(true);
    conn.reply_parts().0.len()
}

/// A script that reached a shard it did not hold, before writing, was abandoned
/// (`scripting::reach`): its reply (from `before`) is dropped and it runs again
/// holding every shard. Costs one thread-local read otherwise.
#[inline]
fn rerun_on_every_shard<'g>(
    turn: &mut Turn<'g>,
    conn: &mut Conn,
    guard: &mut Option<MutexGuard<'g, Keyspace>>,
    call: &Call<'_>,
    before: usize,
) {
    let shards = turn.shared.shard_count();
    if shards == 1 || !crate::scripting::reach::is_script(call.cmd) || !crate::scripting::reach::take_retry() {
        return;
    }
    conn.reply_parts().0.truncate(before);
    drop(guard.take());
    let ids: Vec<ShardId> = (0..shards).collect();
    let mut locks = turn.shared.lock_shards(&ids);
    run_for_conn(turn, conn, Db::locked(&mut locks, &ids, shards), call);
}
