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

use std::sync::Arc;

use super::mailbox::{Msg, Outbox, ReplyBatch};
use super::Shared;
use crate::commands::blocking::BlockRequest;
use crate::commands::{Command, Ctx};
use crate::resp::{Args, OwnedArgs, ReplyWriter};
use crate::store::blocked::{ConnRef, Ticket, Waiter};
use crate::store::db::Db;
use crate::store::routing::{shard_of, ShardId};

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
        cmd: cmd.name,
        args: match &req.args {
            Some(a) => OwnedArgs::from_slices(a.iter()),
            None => OwnedArgs::from_slices(args.iter()),
        },
        extra: req.extra.clone(),
    });
    for key in &req.watch {
        db.ks(key).blocked.push(key, &waiter);
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
            let Some(cmd) = shared.table.lookup(w.cmd.as_bytes()) else {
                ks.blocked.pop_front(&key); // not a command any more (never: rows are static)
                continue;
            };
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
                effects: crate::commands::effects::Effects::new(shared.consumers_on()),
            };
            let call = crate::commands::call::Call::new(cmd, w.args.args());
            crate::shard::dispatch::run(shared, &call, &mut ctx, crate::shard::dispatch::Wake::Never);
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

/// Does any keyspace of `db` have waiters on one of `cmd`'s keys?
pub fn any_waiters(db: &Db<'_>) -> bool {
    db.any(|ks| !ks.blocked.is_empty())
}

