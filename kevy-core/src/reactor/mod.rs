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
pub mod uring;

use std::io;
use std::os::fd::RawFd;

pub use epoll::{Epoll, Event, READABLE, WRITABLE};
pub use uring::Uring;

/// Which readiness mechanism a shard's reactor uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Epoll,
    Uring,
}

impl Backend {
    /// The name INFO and the logs use.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Uring => "io_uring",
        }
    }
}

/// The backend for the `io-uring` setting (`auto`, `on`, `off`), which the
/// `KEVY_IO_URING` environment variable overrides when set. `auto` probes a real ring
/// and falls back to epoll with one log line; `on` without a working ring is an error.
pub fn choose(setting: &str) -> Result<Backend, String> {
    choose_from(setting, std::env::var("KEVY_IO_URING").ok().as_deref())
}

fn choose_from(setting: &str, env: Option<&str>) -> Result<Backend, String> {
    let setting = env.map(str::trim).filter(|v| !v.is_empty()).unwrap_or(setting);
    match setting.to_ascii_lowercase().as_str() {
        "off" | "no" => Ok(Backend::Epoll),
        "on" | "yes" => Uring::probe().map(|()| Backend::Uring).map_err(|e| format!("io-uring is on but io_uring is unavailable: {e}")),
        // Valgrind passes io_uring_enter through as a call that does not block, so it
        // keeps its one-thread-at-a-time lock while a shard waits on the ring and every
        // other thread of the process stalls: under it, `auto` means epoll.
        "auto" if under_valgrind() => Ok(Backend::Epoll),
        "auto" => match Uring::probe() {
            Ok(()) => Ok(Backend::Uring),
            Err(e) => {
                crate::log_warning!("io_uring unavailable ({e}): using epoll");
                Ok(Backend::Epoll)
            }
        },
        other => Err(format!("io-uring must be auto, on or off, not '{other}'")),
    }
}

/// Is this process running under valgrind? (Its preloaded core library is named in
/// LD_PRELOAD.)
fn under_valgrind() -> bool {
    std::env::var("LD_PRELOAD").is_ok_and(|v| v.contains("vgpreload"))
}

/// One shard's reactor: level-triggered readiness by token, whatever the backend.
// One per shard thread, so the size gap costs nothing; boxing would add a pointer
// chase per call.
#[allow(clippy::large_enum_variant)]
pub enum Reactor {
    Epoll(Epoll),
    Uring(Uring),
}

impl Reactor {
    /// A reactor of `backend`; epoll reports up to `capacity` events per wait.
    pub fn new(backend: Backend, capacity: usize) -> io::Result<Self> {
        match backend {
            Backend::Epoll => Ok(Reactor::Epoll(Epoll::new(capacity)?)),
            Backend::Uring => Ok(Reactor::Uring(Uring::new()?)),
        }
    }

    /// Watches `fd` for `interest` (READABLE, WRITABLE), reporting it as `token`.
    pub fn add(&mut self, fd: RawFd, interest: u32, token: u64) -> io::Result<()> {
        match self {
            Reactor::Epoll(e) => e.add(fd, interest, token),
            Reactor::Uring(u) => u.add(fd, interest, token),
        }
    }

    /// Changes what `fd` is watched for.
    pub fn modify(&mut self, fd: RawFd, interest: u32, token: u64) -> io::Result<()> {
        match self {
            Reactor::Epoll(e) => e.modify(fd, interest, token),
            Reactor::Uring(u) => u.modify(fd, interest, token),
        }
    }

    /// Stops watching `fd`; called before it is closed.
    pub fn delete(&mut self, fd: RawFd) -> io::Result<()> {
        match self {
            Reactor::Epoll(e) => e.delete(fd),
            Reactor::Uring(u) => u.delete(fd),
        }
    }

    /// Does this reactor send a turn's replies in one batch ([`Uring::send_batch`])
    /// rather than a write per connection?
    pub fn batches_sends(&self) -> bool {
        matches!(self, Reactor::Uring(_))
    }

    /// Waits up to `timeout_ms` (-1: forever, 0: not at all) and puts what is ready in `out`.
    pub fn wait(&mut self, timeout_ms: i32, out: &mut Vec<Event>) -> io::Result<()> {
        match self {
            Reactor::Epoll(e) => e.wait(timeout_ms, out),
            Reactor::Uring(u) => u.wait(timeout_ms, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_the_setting() {
        assert_eq!(choose_from("on", Some("off")), Ok(Backend::Epoll));
        assert_eq!(choose_from("off", Some("")), Ok(Backend::Epoll), "empty means unset");
        assert!(choose_from("off", Some("sometimes")).unwrap_err().contains("auto, on or off"));
    }

    #[test]
    fn auto_falls_back_and_on_insists() {
        let usable = Uring::probe().is_ok();
        let want = if usable { Backend::Uring } else { Backend::Epoll };
        assert_eq!(choose_from("auto", None), Ok(want));
        assert_eq!(choose_from("on", None).is_ok(), usable);
        if !usable {
            eprintln!("io_uring refused by this kernel: auto chose epoll");
        }
    }
}
