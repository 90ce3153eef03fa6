//! In-process access from host threads (the C ABI's `kevy_call`, Python's
//! `Server.call`): run a command without a socket, take and restore snapshots.
//!
//! A host call does not hop to the shard thread: it locks the keyspaces of the shards
//! that own the command's keys, in shard order like any multi-shard command, and runs
//! the same handler on the calling thread. That is atomic with respect to every other
//! client, costs no thread switch, and needs no reply channel. Clients blocked on the
//! keys it writes are served right away; their replies reach their shards through the
//! shards' host inboxes.

use crate::commands::client::Client;
use crate::store::db::Db;
use super::dispatch::{run, Wake};
use crate::commands::call::{resolve, route, Call, Target};
use super::mailbox::Outbox;
use crate::store::routing::{shard_of, ShardId};
use super::Shared;
use crate::commands::{custom, Ctx};
use crate::resp::{OwnedArgs, Reply, ReplyWriter};
use crate::store::Value;

/// Runs one command from a host thread and returns its reply (decoded from RESP3).
/// A blocking command that finds nothing returns nil at once, as inside MULTI.
pub fn call(shared: &Shared, argv: &OwnedArgs) -> Reply {
    let args = argv.args();
    if args.is_empty() {
        return Reply::Error(crate::commands::errors::EMPTY_COMMAND.as_bytes().to_vec());
    }
    if custom::in_callback() {
        return Reply::Error(crate::commands::errors::HOST_CALL_IN_CALLBACK.as_bytes().to_vec());
    }
    let cmd = match resolve(&shared.table, args) {
        Ok(c) => c,
        Err(msg) => return Reply::Error(msg.into_bytes()),
    };
    if cmd.has(crate::commands::flags::PUBSUB) && cmd.follows(crate::commands::rules::WHEN_SUBSCRIBED) {
        // No connection here would ever receive the messages.
        let name = String::from_utf8_lossy(args.get(0)).to_ascii_uppercase();
        return Reply::Error(crate::commands::errors::pubsub_needs_connection(&name).into_bytes());
    }
    let n = shared.shard_count();
    let call = Call::new(cmd, args);
    let ids = match route(&call, n, 0) {
        Target::Local => vec![0],
        Target::Remote(s) => vec![s],
        Target::Multi(ids) => ids,
    };
    let home: ShardId = ids[0];
    let now_ms = shared.clock.now_ms();
    let mut bytes = Vec::new();
    let mut client = Client { resp3: true, ..Client::default() };
    let mut outbox = Outbox::for_host(n);
    let waiters: bool;
    {
        let mut locks = shared.lock_shards(&ids);
        let db = Db::locked(&mut locks, &ids, n);
        let mut ctx = Ctx::new(db, ReplyWriter::new(&mut bytes, true), now_ms, Some(&mut client), shared, home);
        waiters = cmd.has(crate::commands::flags::WRITE) && super::blocking::any_waiters(&ctx.db);
        crate::commands::stats::slowlog::new_turn();
        run(shared, &call, &mut ctx, Wake::Now(&mut outbox));
        if ctx.block.take().is_some() {
            ctx.out.null();
        }
        if cmd.has(crate::commands::flags::WRITE) && shared.aof.on.load(std::sync::atomic::Ordering::Relaxed) {
            // No loop of ours will flush the logs: they are durable before we return.
            let policy = crate::persist::aof::Fsync::current(&shared.config);
            ids.iter().for_each(|&id| shared.aof.flush(id, policy));
        }
    }
    shared.shards[home].stats.commands.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Wake the shards we sent replies to, and, when clients were blocked on them, the
    // ones whose keys we wrote (the write may have left them deferred waiters to serve).
    // An idle shard is not woken for every write: that would cost a syscall per call.
    outbox.flush(&shared.rings, |to| shared.shards[to].waker.wake_if_parked());
    if waiters {
        ids.iter().for_each(|&s| shared.shards[s].waker.wake_if_parked());
    }
    Reply::from_encoded(&bytes)
}

/// Every key of a server, copied: (key, value, deadline in unix ms or 0).
#[derive(Clone, Default)]
pub struct Snapshot {
    entries: Vec<(Vec<u8>, Value, u64)>,
}

impl Snapshot {
    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// A snapshot of these keys: (key, value, deadline in unix ms or 0).
    pub fn from_entries(entries: Vec<(Vec<u8>, Value, u64)>) -> Snapshot {
        Snapshot { entries }
    }
    /// The keys held: (key, value, deadline in unix ms or 0).
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&[u8], crate::store::ValueRef<'_>, u64)> + Clone {
        self.entries.iter().map(|(k, v, at)| (k.as_slice(), v.as_ref(), *at))
    }
}

/// Copies every live key of every shard, all shards locked at once (a consistent cut).
pub fn snapshot(shared: &Shared) -> Snapshot {
    let ids: Vec<ShardId> = (0..shared.shard_count()).collect();
    let now_ms = shared.clock.now_ms();
    let locks = shared.lock_shards(&ids);
    let entries = locks
        .iter()
        .flat_map(|ks| ks.live_entries(now_ms).map(|(k, e)| (k.to_vec(), e.value.to_owned(), e.expire_at())))
        .collect();
    Snapshot { entries }
}

/// Replaces every shard's keys with the snapshot's (keys re-homed to the current shard
/// count). Clients blocked on keys stay blocked; they are served by the next write.
pub fn restore(shared: &Shared, snap: &Snapshot) {
    let n = shared.shard_count();
    let ids: Vec<ShardId> = (0..n).collect();
    let mut locks = shared.lock_shards(&ids);
    locks.iter_mut().for_each(|ks| ks.clear());
    for (key, value, expire_at) in &snap.entries {
        locks[shard_of(key, n)].insert(key, value.clone(), *expire_at);
    }
}
