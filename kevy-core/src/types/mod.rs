//! Data structures behind the non-string values, one file each. They know nothing of
//! keys, commands or the protocol.

pub mod dense;
pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;
