//! The reactor: readiness of sockets and wake-ups for one shard thread, plus the few raw
//! syscalls the runtime needs. All `unsafe` of the runtime lives in this folder.

pub mod epoll;
pub mod sys;

pub use epoll::{Epoll, Event, READABLE, WRITABLE};
