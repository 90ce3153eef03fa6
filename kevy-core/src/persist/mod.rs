//! Persistence: Redis's RDB format (read and write), and the packed encodings inside
//! it. Snapshots and the AOF build on these.
//!
//! - `rdb`: reads RDB files (kevy's and redis-server's, compact encodings included).
//! - `rdb_write`: writes RDB version 10 in the plain per-type encodings.
//! - `packed`: ziplist, listpack, intset and zipmap decoding.
//! - `lzf`: LZF decompression of compressed strings.
//! - `crc64`: the checksum at the end of every RDB file.
//! - `saver`: SAVE, BGSAVE, the save rules and the final save at stop.
//! - `dump`: per-shard snapshot files, the layout file, start-up loading and resharding.

pub mod crc64;
pub mod dump;
pub mod lzf;
pub mod packed;
pub mod rdb;
pub mod rdb_write;
pub mod saver;
