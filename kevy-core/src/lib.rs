//! kevy-core: a Redis-compatible, thread-per-core key-value server you can embed.
//!
//! # Modules
//! The public API is what this file exports: `server`, `config`, `error`, `log`,
//! `clock`, `resp` (replies), `commands` (custom commands), `persist` (the RDB format)
//! and the names re-exported below; the other modules are internal (`pub(crate)`).
//! - [`server`]: the public entry point ([`Server::start`], port, in-process
//!   [`Server::call`], custom commands, stop).
//! - [`clock`]: wall time or the host's manual clock.
//! - [`log`]: log lines to stderr or the host's hook.
//! - [`config`]: one table of parameters under Redis's names (a leaf: parses every
//!   parameter's values, notify-keyspace-events letters and appendfsync included).
//! - [`resp`]: request parser (multibulk + inline) and RESP2/RESP3 reply writer.
//! - `shard`: the thread per shard: event loop, front end (reactor, connections), the
//!   dispatch pipeline, mailbox rings between shards, the busy-script servicer, the AOF
//!   replay; `Shared`, the server-wide state, implementing the traits below it.
//! - [`persist`]: RDB files, the append-only file, snapshots and save rules (driven
//!   through `persist::Host`).
//! - `scripting`: Lua scripts (EVAL, SCRIPT, FUNCTION): the engine, conversions, the
//!   cache, and the rows it adds to the command table.
//! - [`commands`]: the command table (each row declares its effects), the call record,
//!   the `Runtime` trait handlers see the server through, session state, one folder per
//!   command family.
//! - `store`: a shard's keyspace, the `Db` view a command holds, the values, the
//!   routing hash, the WATCH and blocked-client registries.
//! - `types`: the data structures behind lists, hashes, sets, sorted sets.
//! - `reactor`: epoll or io_uring, and the raw syscalls (the only `unsafe` of the runtime).
//! - `glob`: Redis glob patterns.
//! - `num`: numbers as Redis reads them (`string2ll`).
//! - `random`: the generator and distinct picks of the random commands.
//!
//! # The life of a command
//! A shard thread's reactor reports a readable socket; the connection reads into its
//! buffer; `resp::parse` yields argument spans without copying; `commands::call` looks
//! the command up in the table, checks arity and computes the owning shard of each key.
//! All keys here: the handler runs now on this shard's keyspace and writes its reply
//! into the output buffer. All keys on one other shard: the arguments travel over the
//! SPSC ring to that shard, which runs the handler and sends the encoded reply back;
//! the connection keeps a slot so replies leave in request order. Keys on several
//! shards: the connection waits for its earlier replies, then locks those shards'
//! keyspaces in shard order and runs the handler over all of them, atomically.
//! Wherever it runs, a command goes through `shard::dispatch::run`: the handler, then
//! the effect stage (WATCH, keyspace events, AOF, wake-ups of blocked clients), read
//! from what its table row declares and what the handler reported. Imports point down
//! the layers of docs/ARCHITECTURE.md, with no exception (`tests/layers.rs` checks
//! them): commands see the running server through `commands::runtime::Runtime`, the
//! persistence drivers through `persist::Host`, both implemented by `shard::Shared`.

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod alloc_count;
mod heap_cost;
pub mod clock;
pub mod commands;
pub mod config;
pub mod error;
pub mod faults;
pub(crate) mod glob;
pub mod log;
pub(crate) mod num;
pub mod persist;
pub(crate) mod random;
pub(crate) mod reactor;
pub mod resp;
pub(crate) mod scripting;
pub mod server;
pub(crate) mod shard;
pub(crate) mod store;
pub(crate) mod types;

pub use config::Config;
pub use error::Error;
pub use commands::custom::{parse_flags, CommandCtx, CustomHandler, CustomSpec, RegisterError};
pub use commands::KeySpec;
pub use resp::Reply;
pub use server::Server;
pub use shard::host::Snapshot;
/// The shard that owns a key, for `shards` shards (`{hashtag}` honoured): a pure
/// function of the key, for hosts and tests that place keys.
pub use store::routing::shard_of;

/// The kevy version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version kevy answers as (HELLO, INFO): what clients check features against.
pub const REDIS_VERSION: &str = "7.0.15";
