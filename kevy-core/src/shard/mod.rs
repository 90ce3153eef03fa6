//! Shards: one thread each, owning a slice of the keys, its connections and its reactor.
//!
//! - `event_loop`: the thread loop (accept, read, dispatch, write, park).
//! - `front`: its reactor, listeners and connection slab (shared with `busy`).
//! - `busy`: serving the shard's connections from a long script's hook.
//! - `conn`: one connection's buffers and its in-order reply queue.
//! - `dispatch`: the one pipeline (`run`: handler, then effect stage), local / remote /
//!   multi-shard execution.
//! - `blocking`: registering, serving and timing out blocked clients.
//! - `mailbox`: SPSC rings between shards, backlog, waker.
//! - `pubsub`: subscriptions and message fan-out across shards.
//! - `notify`: keyspace notifications (`notify-keyspace-events`).
//! - `host`: in-process calls, snapshots and restores from host threads.
//! - `txn`, `watch`: MULTI/EXEC transactions and WATCH.
//! - `aof_load`: the AOF replay at start-up (through `dispatch::run`).
//! - `runtime`: `Shared` as the commands' `Runtime` and persistence's `Host`.

pub mod aof_load;
pub mod blocking;
pub mod busy;
pub mod conn;
pub mod dispatch;
pub mod event_loop;
pub mod front;
pub mod host;
pub mod mailbox;
pub mod notify;
pub mod pubsub;
pub mod runtime;
pub mod txn;
pub mod watch;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::commands::CommandTable;
use crate::config::LiveConfig;
use crate::store::Keyspace;
use crate::commands::client::Client;
use mailbox::{Rings, Waker};
use crate::store::routing::ShardId;

/// Counters a shard publishes for INFO (updated once per event-loop turn).
#[derive(Default)]
pub struct ShardStats {
    pub commands: AtomicU64,
    pub keys: AtomicU64,
    pub expires: AtomicU64,
    /// Write commands run on this shard (the `save` rules count them).
    pub dirty: AtomicU64,
}

/// What other threads may reach of one shard.
pub struct ShardHandle {
    /// The shard's keys. Its own thread holds the lock while it runs commands; a
    /// command spanning shards takes the locks of all its shards in shard order.
    pub keyspace: Mutex<Keyspace>,
    pub waker: Waker,
    pub stats: ShardStats,
    /// Copies of this shard's client states, for CLIENT LIST (changed only on connect,
    /// disconnect and SETNAME-like commands, never per request).
    pub clients: Mutex<HashMap<u64, Client>>,
    /// Which of this shard's connections listen to which channels (pub/sub).
    pub subscribers: Mutex<pubsub::Local>,
}

/// Server-wide state, shared by all shard threads.
pub struct Shared {
    pub config: LiveConfig,
    /// The clock shards read once per turn (wall time, or the host's manual clock).
    pub clock: crate::clock::Clock,
    pub table: CommandTable,
    /// The server's Lua scripts and function libraries (EVAL, FUNCTION), shared by
    /// every shard.
    pub scripts: crate::scripting::Scripts,
    pub shards: Vec<ShardHandle>,
    pub rings: Rings,
    pub stop: AtomicBool,
    pub port: u16,
    /// The shards' reactor backend (INFO's multiplexing_api).
    pub reactor: crate::reactor::Backend,
    pub started_ms: u64,
    pub next_client_id: AtomicU64,
    pub connected_clients: AtomicU64,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Connections waiting in a blocking command.
    pub blocked_clients: AtomicU64,
    /// Snapshot bookkeeping (LASTSAVE, BGSAVE, save rules).
    pub persist: crate::persist::saver::SaveState,
    /// How SHUTDOWN asked to stop (`persist::saver::shutdown`).
    pub shutdown_mode: std::sync::atomic::AtomicU8,
    /// Subscriber counts per shard, by channel and pattern (pub/sub).
    pub pubsub: pubsub::Registry,
    /// The append-only files, one per shard.
    pub aof: crate::persist::aof::Logs,
    /// The AOF's background thread (everysec fsync, rewrites).
    pub aof_worker: crate::persist::aof_worker::Worker,
    /// Errors and delays a test host injected (`crate::faults`).
    pub faults: crate::faults::Faults,
    /// SLOWLOG's entries, from every shard.
    pub slowlog: crate::commands::stats::slowlog::SlowLog,
    /// LATENCY's events, from every shard.
    pub latency: crate::commands::stats::latency::Monitor,
}

impl Shared {
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Locks the keyspaces of `ids` (sorted, distinct) in shard order: the one lock
    /// order every thread follows, so multi-shard commands never deadlock.
    pub fn lock_shards(&self, ids: &[ShardId]) -> Vec<MutexGuard<'_, Keyspace>> {
        debug_assert!(ids.windows(2).all(|w| w[0] < w[1]));
        ids.iter().map(|&i| self.lock(i)).collect()
    }

    /// Locks one shard's keyspace (a poisoned lock is taken over: the panic that
    /// poisoned it was already turned into an error reply).
    pub fn lock(&self, id: ShardId) -> MutexGuard<'_, Keyspace> {
        self.shards[id].keyspace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sum of a per-shard counter.
    pub fn sum(&self, f: impl Fn(&ShardStats) -> &AtomicU64) -> u64 {
        self.shards.iter().map(|s| f(&s.stats).load(Ordering::Relaxed)).sum()
    }

    /// Every connected client's state, over all shards, ordered by id.
    pub fn client_list(&self) -> Vec<Client> {
        let mut all: Vec<Client> = self
            .shards
            .iter()
            .flat_map(|s| s.clients.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect::<Vec<_>>())
            .collect();
        all.sort_by_key(|c| c.id);
        all
    }
}

pub use crate::clock::wall_ms as unix_ms;
