//! Persistence: snapshots in Redis's RDB format and the append-only file, per shard.
//!
//! - `rdb`: reads RDB files (kevy's and redis-server's, compact encodings included).
//! - `rdb_write`: writes RDB version 10 in the plain per-type encodings.
//! - `packed`: ziplist, listpack, intset and zipmap decoding.
//! - `lzf`: LZF decompression of compressed strings.
//! - `aof`, `aof_record`, `aof_rewrite`, `aof_worker`: the append-only file
//!   per shard: logging, replay at start-up (records framed strictly), rewrite, the
//!   background fsync/rewrite thread.
//! - `crc64`: the checksum at the end of every RDB file.
//! - `saver`: SAVE, BGSAVE, the save rules and the final save at stop.
//! - `dump`: per-shard snapshot files, the layout file, start-up loading and resharding.

pub mod aof;
pub mod aof_record;
pub mod aof_rewrite;
pub mod aof_worker;
pub mod crc64;
pub mod dump;
pub mod lzf;
pub mod packed;
pub mod rdb;
pub mod rdb_write;
pub mod saver;
pub mod snapshot_rdb;

use std::sync::MutexGuard;

use crate::config::LiveConfig;
use crate::store::routing::ShardId;
use crate::store::Keyspace;

/// The running server as the persistence drivers (saver, AOF worker, rewrite) see it;
/// implemented by `shard::Shared`, above this layer.
pub trait Host: Sync {
    fn config(&self) -> &LiveConfig;
    /// The server's clock (unix ms).
    fn now_ms(&self) -> u64;
    fn shard_count(&self) -> usize;
    /// Locks one shard's keyspace.
    fn lock(&self, id: ShardId) -> MutexGuard<'_, Keyspace>;
    /// Locks the keyspaces of `ids` (sorted, distinct) in shard order.
    fn lock_shards(&self, ids: &[ShardId]) -> Vec<MutexGuard<'_, Keyspace>>;
    /// Write commands run so far, over all shards (the save rules count them).
    fn dirty_total(&self) -> u64;
    fn save_state(&self) -> &saver::SaveState;
    /// How SHUTDOWN asked to stop (`saver::shutdown`).
    fn shutdown_mode(&self) -> u8;
    fn logs(&self) -> &aof::Logs;
    fn aof_worker(&self) -> &aof_worker::Worker;
}
