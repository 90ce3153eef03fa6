//! Server statistics that commands feed as they run and that SLOWLOG, LATENCY and
//! INFO read: the slow log and the latency monitor. `shard::Shared` holds one of each;
//! handlers reach them through [`Runtime`](crate::commands::runtime::Runtime).

pub mod latency;
pub mod slowlog;
