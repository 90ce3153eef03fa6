//! From parsed arguments to a reply: look the command up, check arity, find the shard(s)
//! that own its keys, and run it locally, on the owning shard over the mailbox, or
//! across several shards locked in shard order.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, MutexGuard};

use super::conn::Conn;
use super::db::Db;
use super::blocking::{self, Home, Ticket};
use super::conn::BlockedOn;
use super::mailbox::{ConnRef, Outbox, ReplyBatch, Request, RequestBatch};
use super::routing::{shard_of, ShardId};
use super::Shared;
use crate::commands::{errors, flags, txn::is_txn, Command, CommandTable, Ctx, Route};
use crate::resp::{parse, Args, Limits, Parsed, ReplyWriter};
use crate::store::Keyspace;

/// Where a command runs.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// On the connection's shard.
    Local,
    /// On another shard that owns all its keys.
    Remote(ShardId),
    /// Across these shards (sorted), locked together.
    Multi(Vec<ShardId>),
}

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
}

/// The rules of a connection's state that come before running a command: RESP2
/// subscribed mode allows only the pub/sub commands, PING, QUIT and RESET; RESET ends
/// a transaction and every WATCH. Some(step) when the command was answered here.
#[cold]
fn connection_state<'g>(
    turn: &mut Turn<'g>,
    conn: &mut Conn,
    guard: &mut Option<MutexGuard<'g, Keyspace>>,
    cmd: &'static Command,
    _args: Args<'_>,
) -> Option<Step> {
    if conn.client.subs.any() && !conn.client.resp3 && !crate::commands::pubsub::allowed_when_subscribed(cmd) {
        let msg = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            cmd.name
        );
        ReplyWriter::new(conn.reply_parts().0, false).error(&msg);
        return Some(Step::Done);
    }
    if cmd.name == "reset" {
        super::txn::reset(turn.shared, conn, guard);
    }
    None
}

/// Finds the command (or subcommand) and checks its arity. Errors are reply texts.
#[inline]
pub fn resolve(table: &CommandTable, args: Args<'_>) -> Result<&'static Command, String> {
    let name = args.get(0);
    let Some(cmd) = table.lookup(name) else {
        return Err(errors::unknown_command(name, &mut args.from(1)));
    };
    if cmd.subcommands.is_empty() || args.len() < 2 {
        if !cmd.arity_ok(args.len()) {
            return Err(errors::wrong_arity(cmd.name));
        }
        return Ok(cmd);
    }
    let sub = args.get(1);
    let Some(sc) = cmd.subcommands.iter().find(|s| s.short_name().as_bytes().eq_ignore_ascii_case(sub)) else {
        return Err(errors::unknown_subcommand(cmd.name, sub));
    };
    if !sc.arity_ok(args.len()) {
        return Err(errors::wrong_arity(sc.name));
    }
    Ok(sc)
}

/// Picks where `cmd` runs for a connection on shard `me`.
pub fn target(cmd: &Command, args: Args<'_>, shards: usize, me: ShardId) -> Target {
    if shards == 1 {
        return Target::Local;
    }
    let one = |s: ShardId| if s == me { Target::Local } else { Target::Remote(s) };
    match cmd.route {
        Route::AllShards => Target::Multi((0..shards).collect()),
        Route::Pick(pick) => one(pick(args, shards)),
        Route::KeyPositions(list) => match list(args) {
            Some(positions) => by_keys(positions.into_iter(), args, shards, me),
            None => Target::Local,
        },
        Route::Keys => by_keys(cmd.keys.positions(args.len()), args, shards, me),
    }
}

/// Where a command runs given the positions of its keys.
fn by_keys(mut positions: impl Iterator<Item = usize>, args: Args<'_>, shards: usize, me: ShardId) -> Target {
    let Some(first) = positions.next() else { return Target::Local };
    let home = shard_of(args.get(first), shards);
    let mut spread: Option<Vec<ShardId>> = None;
    for p in positions {
        let s = shard_of(args.get(p), shards);
        if s != home {
            spread.get_or_insert_with(|| vec![home]).push(s);
        }
    }
    match spread {
        None if home == me => Target::Local,
        None => Target::Remote(home),
        Some(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            Target::Multi(ids)
        }
    }
}

/// Runs a handler, turning a panic into an error reply so one bad command cannot take
/// the shard (or the host process) down.
///
/// A write command's in-place changes of watched keys are settled here: they break
/// the watches unless the command replied with an error.
pub fn execute(cmd: &'static Command, args: Args<'_>, ctx: &mut Ctx<'_>) {
    let mark = ctx.out.mark();
    let notify = super::notify::flags(ctx.shared) != 0;
    let existed = if notify { super::notify::before(cmd, args, ctx) } else { None };
    let write = cmd.has(flags::WRITE);
    if write {
        super::watch::settle(&mut ctx.db, true);
    }
    if catch_unwind(AssertUnwindSafe(|| (cmd.handler)(ctx, args))).is_err() {
        ctx.out.truncate(mark);
        ctx.out.error("ERR internal error while running the command");
    }
    if write {
        let failed = ctx.out.written_since(mark).first() == Some(&b'-');
        super::watch::settle(&mut ctx.db, !failed);
    }
    let log = write && ctx.shared.aof.on.load(std::sync::atomic::Ordering::Relaxed);
    if !notify && !log {
        return;
    }
    // Both need the reply while they use the context: one copy serves both.
    let reply = ctx.out.written_since(mark).to_vec();
    if notify {
        super::notify::after(cmd, args, ctx, &reply, existed);
    }
    if log && catch_unwind(AssertUnwindSafe(|| crate::persist::aof::record(cmd, args, ctx, &reply))).is_err() {
        crate::log_warning!("could not log '{}' to the append only file", cmd.name);
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
    for r in &batch.requests {
        if !budget.allows(r, &mut replies) {
            continue;
        }
        let args = batch.args(r);
        let mut ctx = Ctx::new(
            Db::one(me, ks, shared.shard_count()),
            ReplyWriter::new(&mut replies.bytes, r.resp3),
            now_ms,
            None,
            shared,
            me,
        );
        execute(r.cmd, args, &mut ctx);
        match (ctx.block.take(), &r.ticket) {
            (Some(req), Some(ticket)) => {
                let home = Home { shard: batch.from, conn: r.conn, seq: r.seq, resp3: r.resp3 };
                blocking::register(&mut ctx.db, &req, ticket, home, r.cmd, args);
                // The home shard owns the timeout: let it see the deadline now.
                shared.shards[batch.from].waker.wake_if_parked();
            }
            _ => {
                after_write(&mut ctx.db, r.cmd, args, shared, me, now_ms, outbox);
                replies.close(r.conn, r.seq);
            }
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

/// After a write, serves clients blocked on the keys it touched.
#[inline]
pub(crate) fn after_write(db: &mut Db<'_>, cmd: &'static Command, args: Args<'_>, shared: &Shared, me: ShardId, now_ms: u64, outbox: &mut Outbox) {
    // Reads (and everything that is not a write or a script) end here.
    if cmd.has(flags::WRITE) || (cmd.has(flags::NOSCRIPT) && crate::scripting::may_write(cmd)) {
        after_write_slow(db, cmd, args, shared, me, now_ms, outbox);
    }
}

fn after_write_slow(db: &mut Db<'_>, cmd: &'static Command, args: Args<'_>, shared: &Shared, me: ShardId, now_ms: u64, outbox: &mut Outbox) {
    if cmd.has(flags::WRITE) {
        shared.shards[me].stats.dirty.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if shared.aof.on.load(std::sync::atomic::Ordering::Relaxed) {
            // Other shards' logs this command wrote to: durable before the locks go
            // (our own shard's log is flushed by our loop before the turn's replies).
            crate::persist::aof::flush_others(db, shared, me);
        }
    }
    if (cmd.has(flags::WRITE) || crate::scripting::may_write(cmd)) && blocking::any_waiters(db) {
        blocking::serve_ready(db, blocking::touched_keys(cmd, args), shared, me, now_ms, outbox);
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
    let limits = Limits {
        max_bulk_len: shared.config.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed),
        ..Limits::default()
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
fn run_for_conn(turn: &mut Turn<'_>, conn: &mut Conn, db: Db<'_>, cmd: &'static Command, args: Args<'_>) {
    let resp3 = conn.client.resp3;
    let (buf, client) = conn.reply_parts();
    let mut ctx = Ctx::new(db, ReplyWriter::new(buf, resp3), turn.now_ms, Some(client), turn.shared, turn.me);
    execute(cmd, args, &mut ctx);
    after_write(&mut ctx.db, cmd, args, turn.shared, turn.me, turn.now_ms, turn.outbox);
}

/// Runs a blocking command on this thread: it replies now, or blocks the connection
/// with an awaited reply slot and queues it under its keys.
fn run_blocking_here(turn: &mut Turn<'_>, conn: &mut Conn, slot: u32, mut db: Db<'_>, cmd: &'static Command, args: Args<'_>) {
    let resp3 = conn.client.resp3;
    let mut bytes = Vec::new();
    let mut ctx = Ctx::new(db.reborrow(), ReplyWriter::new(&mut bytes, resp3), turn.now_ms, None, turn.shared, turn.me);
    execute(cmd, args, &mut ctx);
    let block = ctx.block.take();
    after_write(&mut ctx.db, cmd, args, turn.shared, turn.me, turn.now_ms, turn.outbox);
    drop(ctx);
    let Some(req) = block else {
        conn.reply_parts().0.extend_from_slice(&bytes);
        return;
    };
    let seq = conn.await_reply();
    let ticket = Arc::new(Ticket::default());
    let home = Home { shard: turn.me, conn: ConnRef { slot, generation: conn.generation }, seq, resp3 };
    blocking::register(&mut db, &req, &ticket, home, cmd, args);
    block_conn(turn.shared, conn, ticket, seq, cmd);
}

/// Marks the connection blocked: its pipeline waits for the awaited reply.
fn block_conn(shared: &Shared, conn: &mut Conn, ticket: Arc<Ticket>, seq: u64, cmd: &'static Command) {
    conn.blocked = Some(BlockedOn { ticket, seq, cmd });
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
            super::txn::refused(shared, conn, guard, args, &msg);
            return Step::Done;
        }
    };
    if let Some(busy) = turn.busy {
        return super::busy::run_one_busy(turn, conn, guard, cmd, args, busy);
    }
    let (me, now_ms) = (turn.me, turn.now_ms);
    conn.client.last_cmd = cmd.name;
    conn.client.last_cmd_ms = now_ms;
    // One test for ordinary commands on ordinary connections: transaction commands and
    // RESET are all NOSCRIPT, and the other cases are connection states.
    let special = cmd.has(flags::NOSCRIPT) || conn.multi.is_some() || conn.client.subs.any();
    if special && conn.multi.is_some() && !cmd.has(flags::ALLOW_BUSY) {
        // As Redis: a busy server refuses what a transaction would queue (dooming it)
        // and EXEC, whatever their keys, so no transaction runs half refused.
        if let Some(busy) = crate::scripting::busy_anywhere(shared) {
            super::txn::refused(shared, conn, guard, args, busy);
            return Step::Done;
        }
    }
    let txn = if special {
        match connection_state(turn, conn, guard, cmd, args) {
            Some(step) => return step,
            None if conn.multi.is_some() || is_txn(cmd) => super::txn::intercept(turn, conn, guard, cmd, args),
            None => None,
        }
    } else {
        None
    };
    match txn {
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
    let routed = target(cmd, args, shards, me);
    if let Some(busy) = crate::scripting::busy_for_command(shared, cmd, args, &routed, me) {
        let resp3 = conn.client.resp3;
        ReplyWriter::new(conn.reply_parts().0, resp3).error(busy);
        return Ok(());
    }
    match routed {
        Target::Local => {
            let ks = guard.get_or_insert_with(|| shared.lock(me));
            let db = Db::one(me, ks, shards);
            if cmd.has(flags::BLOCKING) {
                run_blocking_here(turn, conn, slot, db, cmd, args);
            } else {
                run_for_conn(turn, conn, db, cmd, args);
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
                block_conn(shared, conn, ticket, seq, cmd);
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
                run_blocking_here(turn, conn, slot, db, cmd, args);
            } else {
                run_for_conn(turn, conn, db, cmd, args);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::OwnedArgs;

    fn routed(line: &str, shards: usize, me: ShardId) -> Result<Target, String> {
        let table = CommandTable::default();
        let owned = OwnedArgs::from_slices(line.split(' '));
        let cmd = resolve(&table, owned.args())?;
        Ok(target(cmd, owned.args(), shards, me))
    }

    #[test]
    fn resolves_names_subcommands_and_arity() {
        assert!(routed("get k", 1, 0).is_ok());
        assert_eq!(routed("GET", 1, 0).unwrap_err(), "ERR wrong number of arguments for 'get' command");
        assert_eq!(routed("config nope", 1, 0).unwrap_err(), "ERR unknown subcommand 'nope'. Try CONFIG HELP.");
        assert_eq!(
            routed("config get", 1, 0).unwrap_err(),
            "ERR wrong number of arguments for 'config|get' command"
        );
        assert!(routed("nosuch a b", 1, 0).unwrap_err().starts_with("ERR unknown command 'nosuch', with args"));
    }

    #[test]
    fn routes_by_key_owner() {
        let owner = shard_of(b"k", 4);
        assert_eq!(routed("get k", 4, owner).unwrap(), Target::Local);
        assert_eq!(routed("get k", 4, (owner + 1) % 4).unwrap(), Target::Remote(owner));
        assert_eq!(routed("ping", 4, 2).unwrap(), Target::Local);
        assert_eq!(routed("dbsize", 4, 2).unwrap(), Target::Multi(vec![0, 1, 2, 3]));
        // Hash-tagged keys stay together.
        assert!(matches!(routed("del {t}a {t}b {t}c", 4, 0).unwrap(), Target::Local | Target::Remote(_)));
        let spread: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        match routed(&format!("del {}", spread.join(" ")), 4, 0).unwrap() {
            Target::Multi(ids) => assert_eq!(ids, vec![0, 1, 2, 3]),
            other => panic!("expected multi, got {other:?}"),
        }
    }
}
