//! How commands see the running server: the [`Runtime`] trait, defined here (below
//! the layers that implement it) and implemented by `shard::Shared`. A handler's
//! `Ctx` holds a `&dyn Runtime`; the shard's hot path never calls through it (the
//! dispatcher passes the concrete state where a command runs, and the effect consumers
//! are read once per turn), so only commands that reach the server as a whole (INFO,
//! CONFIG, CLIENT LIST, pub/sub, SAVE, scripts, nested calls) pay a dynamic call.

use std::sync::MutexGuard;

use super::call::Call;
use super::client::{Client, Kind, Subscriptions};
use super::{CommandTable, Ctx};
use crate::config::LiveConfig;
use crate::store::blocked::ConnRef;
use crate::store::routing::ShardId;
use crate::store::Keyspace;

/// Server-wide counters INFO shows.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub port: u16,
    pub started_ms: u64,
    pub connected_clients: u64,
    pub blocked_clients: u64,
    pub total_connections: u64,
    pub rejected_connections: u64,
    /// Commands run, over all shards.
    pub commands: u64,
}

/// The state of snapshots and the append-only file, for INFO's persistence section.
#[derive(Debug, Default, Clone, Copy)]
pub struct PersistInfo {
    pub changes_since_save: u64,
    pub bgsave_in_progress: bool,
    pub last_save_s: u64,
    pub last_save_ok: bool,
    pub aof_on: bool,
    pub aof_rewriting: bool,
}

/// How SHUTDOWN asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Save when save rules are configured.
    Default,
    Save,
    NoSave,
}

/// Why SAVE or BGSAVE did not start (the reply texts are in `errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    InProgress,
    /// The write failed (logged with its cause).
    Failed(String),
}

/// The running server, as commands (and the layers over them) see it.
pub trait Runtime: Sync {
    fn table(&self) -> &CommandTable;
    fn config(&self) -> &LiveConfig;
    fn shard_count(&self) -> usize;
    /// Wakes shard `id`'s thread if it is parked (it has deferred work to pick up).
    fn wake_shard(&self, id: ShardId);
    /// The server's slow log (SLOWLOG).
    fn slowlog(&self) -> &crate::commands::stats::slowlog::SlowLog;
    /// The latency monitor (LATENCY).
    fn latency(&self) -> &crate::commands::stats::latency::Monitor;
    /// The reactor the shards run on (INFO's `multiplexing_api`: epoll or io_uring).
    fn multiplexing_api(&self) -> &'static str;
    /// Shard `id`'s keyspace, when its lock is free right now (SCAN over a shard the
    /// command does not hold).
    fn try_lock(&self, id: ShardId) -> Option<MutexGuard<'_, Keyspace>>;
    /// Every connected client's state, over all shards, ordered by id.
    fn client_list(&self) -> Vec<Client>;
    fn counters(&self) -> Counters;
    /// CONFIG RESETSTAT: zeroes the command and connection counters.
    fn reset_stats(&self);
    /// After CONFIG SET: parameters that need more than a new value (appendonly).
    fn config_changed(&self);
    /// The effect consumers on now (`effects::consumers`).
    fn consumers_on(&self) -> u32;

    /// Pub/sub: connection `conn` of shard `shard` (un)subscribes.
    fn subscribe(&self, shard: ShardId, kind: Kind, name: &[u8], conn: ConnRef);
    fn unsubscribe(&self, shard: ShardId, kind: Kind, name: &[u8], conn: ConnRef);
    /// Drops every subscription of a connection.
    fn forget_subscriptions(&self, shard: ShardId, subs: &Subscriptions, conn: ConnRef);
    /// PUBLISH / SPUBLISH: the number of receivers.
    fn publish(&self, kind: Kind, channel: &[u8], message: &[u8]) -> i64;
    /// PUBSUB CHANNELS / SHARDCHANNELS.
    fn channel_names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>>;
    /// PUBSUB NUMSUB / SHARDNUMSUB, one channel.
    fn subscriber_count(&self, kind: Kind, name: &[u8]) -> i64;
    /// PUBSUB NUMPAT.
    fn pattern_count(&self) -> i64;

    fn persistence(&self) -> PersistInfo;
    /// SAVE over `views` (every shard, locked by the caller).
    fn save(&self, views: &[&Keyspace]) -> Result<(), SaveError>;
    /// BGSAVE: copies `views` now and writes them from a background thread.
    fn bgsave(&self, views: &[&Keyspace], now_ms: u64) -> Result<(), SaveError>;
    /// BGREWRITEAOF: false when a rewrite is already under way.
    fn rewrite_aof(&self) -> bool;
    /// SHUTDOWN: stops every shard.
    fn shutdown(&self, mode: Shutdown);

    /// The server's scripts (the scripting layer, above this one, knows their type:
    /// `scripting::of`).
    fn scripts(&self) -> &(dyn std::any::Any + Send + Sync);
    /// The -BUSY text while a script anywhere is past `busy-reply-threshold`.
    fn busy_script(&self) -> Option<&'static str>;

    /// Runs `call` nested in another command (a script's `redis.call`, a custom
    /// command's `call`): the one pipeline, without wake-ups (the outer command wakes).
    fn run_nested(&self, call: &Call<'_>, ctx: &mut Ctx<'_>);
}
