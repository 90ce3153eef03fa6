//! The reactor: readiness of sockets and wake-ups for one shard thread, plus the few raw
//! syscalls the runtime needs. All `unsafe` of the runtime lives in this folder.
//!
//! [`Reactor`] is an enum over the backends rather than a trait object: the shard loop
//! calls it a few times per request, and a match on a two-variant enum is one
//! predictable branch that still lets each backend's call inline, where `dyn` would be
//! an indirect call per use and generics would thread a type parameter through the
//! front end, the event loop and the busy servicer.

pub mod epoll;
pub mod sys;

use std::io;
use std::os::fd::RawFd;

pub use epoll::{Epoll, Event, READABLE, WRITABLE};

/// Which readiness mechanism a shard's reactor uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Epoll,
}

impl Backend {
    /// The name INFO and the logs use.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
        }
    }
}

/// One shard's reactor: level-triggered readiness by token, whatever the backend.
pub enum Reactor {
    Epoll(Epoll),
}

impl Reactor {
    /// A reactor of `backend` that reports up to `capacity` events per wait.
    pub fn new(backend: Backend, capacity: usize) -> io::Result<Self> {
        match backend {
            Backend::Epoll => Ok(Reactor::Epoll(Epoll::new(capacity)?)),
        }
    }

    /// Watches `fd` for `interest` (READABLE, WRITABLE), reporting it as `token`.
    pub fn add(&mut self, fd: RawFd, interest: u32, token: u64) -> io::Result<()> {
        match self {
            Reactor::Epoll(e) => e.add(fd, interest, token),
        }
    }

    /// Changes what `fd` is watched for.
    pub fn modify(&mut self, fd: RawFd, interest: u32, token: u64) -> io::Result<()> {
        match self {
            Reactor::Epoll(e) => e.modify(fd, interest, token),
        }
    }

    /// Stops watching `fd`; called before it is closed.
    pub fn delete(&mut self, fd: RawFd) -> io::Result<()> {
        match self {
            Reactor::Epoll(e) => e.delete(fd),
        }
    }

    /// Waits up to `timeout_ms` (-1: forever, 0: not at all) and puts what is ready in `out`.
    pub fn wait(&mut self, timeout_ms: i32, out: &mut Vec<Event>) -> io::Result<()> {
        match self {
            Reactor::Epoll(e) => e.wait(timeout_ms, out),
        }
    }
}
