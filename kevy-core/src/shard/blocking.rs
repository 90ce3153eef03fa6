//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN...) across shards.
//!
//! A blocking command first runs like any other. When it finds nothing to pop, its
//! handler asks to block (`Ctx::block`) instead of replying: the connection keeps an
//! awaited reply slot, and a [`Waiter`] is queued, FIFO, under each watched key in the
//! keyspace that owns it (whatever shard that is). Every waiter of one command shares a
//! [`Ticket`], so exactly one of its registrations can serve it.
//!
//! After any write command, the keys it touched are checked for waiters: the first
//! waiter of a key whose data is there is claimed and its command re-run right away,
//! under the same locks, restricted to that key (`Ctx::serving`). The reply goes to the
//! waiter's home shard like any cross-shard reply. A waiter that also needs a key of a
//! shard that is not locked (BLMOVE to another shard's list) is served a moment later
//! by the owning shard, which then locks both shards in order.
//!
//! The home shard owns timeouts and disconnects: it cancels the ticket, and stale
//! registrations are skipped and swept.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use crate::store::db::Db;
use super::mailbox::{ConnRef, Msg, Outbox, ReplyBatch};
use crate::store::routing::{shard_of, ShardId};
use super::Shared;
use crate::commands::{Command, Ctx};
use crate::resp::{Args, OwnedArgs, ReplyWriter};

const WAITING: u8 = 0;
const CLAIMED: u8 = 1;
const DONE: u8 = 2;

/// "Block until served" in [`Ticket`] deadlines.
pub const FOREVER: u64 = u64::MAX;

/// The shared fate of one blocked command: waiting, being served, or done (served,
/// timed out, or its client left).
#[derive(Debug)]
pub struct Ticket {
    state: AtomicU8,
    deadline_ms: AtomicU64,
}

impl Default for Ticket {
    fn default() -> Self {
        Ticket { state: AtomicU8::new(WAITING), deadline_ms: AtomicU64::new(FOREVER) }
    }
}

impl Ticket {
    /// Takes the right to serve this command. False if someone else has it or it ended.
    pub fn claim(&self) -> bool {
        self.state.compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
    /// After a claim: the command was served.
    pub fn finish(&self) {
        self.state.store(DONE, Ordering::Release);
    }
    /// After a claim: the command could not be served after all; it waits on.
    pub fn release(&self) {
        self.state.store(WAITING, Ordering::Release);
    }
    /// Ends the wait (timeout, disconnect). False when a server got there first.
    pub fn cancel(&self) -> bool {
        self.state.compare_exchange(WAITING, DONE, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
    pub fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }
    pub fn deadline(&self) -> u64 {
        self.deadline_ms.load(Ordering::Acquire)
    }
    pub fn set_deadline(&self, at: u64) {
        self.deadline_ms.store(at, Ordering::Release);
    }
}

/// What a handler asks for when it has to block.
#[derive(Debug, Default)]
pub struct BlockRequest {
    /// Unix ms, or [`FOREVER`].
    pub deadline_ms: u64,
    /// Keys whose new data can serve the command (BLPOP's lists, BLMOVE's source).
    pub watch: Vec<Vec<u8>>,
    /// Other keys serving touches (BLMOVE's destination).
    pub extra: Vec<Vec<u8>>,
    /// The arguments to re-run the command with when serving it, if not the ones it
    /// came with (XREAD's `$` resolved to the stream's last ID at block time).
    pub args: Option<Vec<Vec<u8>>>,
}

/// One blocked command queued under one key.
pub struct Waiter {
    pub ticket: Arc<Ticket>,
    pub home: ShardId,
    pub conn: ConnRef,
    pub seq: u64,
    pub resp3: bool,
    pub cmd: &'static Command,
    args: OwnedArgs,
    extra: Vec<Vec<u8>>,
}

/// The waiters of one keyspace, by key.
#[derive(Default)]
pub struct BlockedKeys {
    queues: HashMap<Box<[u8]>, VecDeque<Arc<Waiter>>>,
    /// Keys whose first waiter needs another shard locked to be served.
    pub deferred: Vec<Vec<u8>>,
}

impl BlockedKeys {
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.deferred.is_empty()
    }
    pub fn has(&self, key: &[u8]) -> bool {
        self.queues.contains_key(key)
    }
    fn front(&mut self, key: &[u8]) -> Option<Arc<Waiter>> {
        let q = self.queues.get_mut(key)?;
        while q.front().is_some_and(|w| w.ticket.is_done()) {
            q.pop_front();
        }
        let front = q.front().cloned();
        if front.is_none() {
            self.queues.remove(key);
        }
        front
    }
    fn pop_front(&mut self, key: &[u8]) {
        if let Some(q) = self.queues.get_mut(key) {
            q.pop_front();
            if q.is_empty() {
                self.queues.remove(key);
            }
        }
    }
    /// The shards whose locks serving the first live waiter of `key` needs (besides
    /// the key's own). None when nobody waits on it any more.
    pub fn shards_to_serve(&mut self, key: &[u8], shards: usize) -> Option<Vec<ShardId>> {
        let w = self.front(key)?;
        Some(w.extra.iter().map(|k| shard_of(k, shards)).collect())
    }

    /// Drops registrations whose command has ended.
    pub fn sweep(&mut self) {
        self.queues.retain(|_, q| {
            q.retain(|w| !w.ticket.is_done());
            !q.is_empty()
        });
    }
    /// Number of keys with waiters.
    pub fn keys(&self) -> usize {
        self.queues.len()
    }
}

/// Where a blocked command's reply must go.
pub struct Home {
    pub shard: ShardId,
    pub conn: ConnRef,
    pub seq: u64,
    pub resp3: bool,
}

/// Queues the blocked command under every watched key (in the keyspaces `db` holds).
pub fn register(db: &mut Db<'_>, req: &BlockRequest, ticket: &Arc<Ticket>, home: Home, cmd: &'static Command, args: Args<'_>) {
    ticket.set_deadline(req.deadline_ms);
    let waiter = Arc::new(Waiter {
        ticket: Arc::clone(ticket),
        home: home.shard,
        conn: home.conn,
        seq: home.seq,
        resp3: home.resp3,
        cmd,
        args: match &req.args {
            Some(a) => OwnedArgs::from_slices(a.iter()),
            None => OwnedArgs::from_slices(args.iter()),
        },
        extra: req.extra.clone(),
    });
    for key in &req.watch {
        let q = db.ks(key).blocked.queues.entry(key.as_slice().into()).or_default();
        if !q.iter().any(|w| Arc::ptr_eq(&w.ticket, ticket)) {
            q.push_back(Arc::clone(&waiter));
        }
    }
}

/// Sends one reply to a connection of shard `home` (possibly this shard itself).
pub fn send_reply(outbox: &mut Outbox, shared: &Shared, home: ShardId, conn: ConnRef, seq: u64, bytes: &[u8]) {
    let mut batch = ReplyBatch::with_capacity(1);
    batch.bytes.extend_from_slice(bytes);
    batch.close(conn, seq);
    outbox.send(&shared.rings, home, Msg::Replies(batch));
}

/// Serves the waiters of `keys` whose data is now there, in FIFO order per key.
/// Serving can make more keys ready (BLMOVE pushes): those are served too.
pub fn serve_ready(db: &mut Db<'_>, keys: Vec<Vec<u8>>, shared: &Shared, me: ShardId, now_ms: u64, outbox: &mut Outbox) {
    let mut work = keys;
    let mut rounds = 0;
    while let Some(key) = work.pop() {
        rounds += 1;
        if rounds > 10_000 {
            break; // a pathological chain of moves; the rest is served on later writes
        }
        loop {
            let ks = db.ks(&key);
            let Some(w) = ks.blocked.front(&key) else { break };
            let shards = db.shards();
            if w.extra.iter().any(|k| db.shard(shard_of(k, shards)).is_none()) {
                let owner = db.ks(&key);
                if !owner.blocked.deferred.contains(&key) {
                    owner.blocked.deferred.push(key.clone());
                }
                let owner_shard = shard_of(&key, shards);
                if owner_shard != me {
                    shared.shards[owner_shard].waker.wake_if_parked();
                }
                break;
            }
            if !w.ticket.claim() {
                db.ks(&key).blocked.pop_front(&key);
                continue;
            }
            let mut bytes = Vec::new();
            let mut ctx = Ctx {
                db: db.reborrow(),
                out: ReplyWriter::new(&mut bytes, w.resp3),
                now_ms,
                client: None,
                shared,
                shard: me,
                serving: Some(&key),
                block: None,
                effects: crate::commands::effects::Effects::new(crate::commands::effects::consumers_on(shared)),
            };
            let call = crate::shard::dispatch::Call::new(w.cmd, w.args.args());
            crate::shard::dispatch::run(&call, &mut ctx, crate::shard::dispatch::Wake::Never);
            if ctx.block.is_some() {
                w.ticket.release(); // nothing to pop after all: keep waiting
                break;
            }
            w.ticket.finish();
            db.ks(&key).blocked.pop_front(&key);
            send_reply(outbox, shared, w.home, w.conn, w.seq, &bytes);
            work.extend(w.extra.iter().cloned());
        }
    }
}

/// Keys that a write command may have given data to: all its keys.
pub fn touched_keys(cmd: &Command, args: Args<'_>) -> Vec<Vec<u8>> {
    cmd.key_positions(args).into_iter().map(|p| args.get(p).to_vec()).collect()
}

/// Does any keyspace of `db` have waiters on one of `cmd`'s keys?
pub fn any_waiters(db: &Db<'_>) -> bool {
    db.any(|ks| !ks.blocked.is_empty())
}

/// Parses a blocking timeout in seconds (fractions allowed) into a deadline, as Redis:
/// `ERR timeout is not a float or out of range`, `ERR timeout is negative`; 0 blocks
/// forever.
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<u64, &'static str> {
    let secs: f64 = std::str::from_utf8(arg)
        .ok()
        .map(str::trim_start)
        .filter(|s| !s.is_empty() && !s.ends_with(char::is_whitespace))
        .and_then(|s| s.parse().ok())
        .filter(|v: &f64| !v.is_nan())
        .ok_or("ERR timeout is not a float or out of range")?;
    let ms = (secs * 1000.0).ceil();
    if !(0.0..=i64::MAX as f64).contains(&ms) {
        return Err("ERR timeout is negative");
    }
    Ok(if ms == 0.0 { FOREVER } else { now_ms.saturating_add(ms as u64) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_serve_once() {
        let t = Ticket::default();
        assert!(t.claim());
        assert!(!t.claim());
        assert!(!t.cancel());
        t.release();
        assert!(t.cancel());
        assert!(!t.claim());
        assert!(t.is_done());
    }

    #[test]
    fn timeouts_like_redis() {
        assert_eq!(parse_timeout(b"0", 1000), Ok(FOREVER));
        assert_eq!(parse_timeout(b"1.5", 1000), Ok(2500));
        assert_eq!(parse_timeout(b"0.0000001", 1000), Ok(1001));
        assert_eq!(parse_timeout(b"-1", 0), Err("ERR timeout is negative"));
        assert_eq!(parse_timeout(b"1e100", 0), Err("ERR timeout is negative"));
        assert_eq!(parse_timeout(b"abc", 0), Err("ERR timeout is not a float or out of range"));
    }
}
