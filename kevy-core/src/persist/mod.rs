//! Persistence: snapshots in Redis's RDB format and the append-only file, per shard.
//!
//! - `rdb`: reads RDB files (kevy's and redis-server's, compact encodings included).
//! - `rdb_write`: writes RDB version 10 in the plain per-type encodings.
//! - `packed`: ziplist, listpack, intset and zipmap decoding.
//! - `lzf`: LZF decompression of compressed strings.
//! - `aof`, `aof_load`, `aof_record`, `aof_rewrite`, `aof_worker`: the append-only file
//!   per shard: logging, replay at start-up (records framed strictly), rewrite, the
//!   background fsync/rewrite thread.
//! - `crc64`: the checksum at the end of every RDB file.
//! - `saver`: SAVE, BGSAVE, the save rules and the final save at stop.
//! - `dump`: per-shard snapshot files, the layout file, start-up loading and resharding.

pub mod aof;
pub mod aof_load;
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
