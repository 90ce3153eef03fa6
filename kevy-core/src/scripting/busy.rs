//! What a long script does besides running: its count hook lends the thread to the
//! shard's other connections (Redis's processEventsWhileBlocked) and stops the script
//! when the server stops.
//!
//! The shard thread installs a [`Servicer`] for itself once (`shard::busy` builds it
//! over the shard's reactor and connections). The hook calls it at most every
//! [`POLL_EVERY`]: it answers `-BUSY` or runs the commands allowed while busy, and says
//! whether the server is stopping. Threads without a servicer (a host's `call`) only
//! honour SCRIPT KILL.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use crate::commands::errors;
use super::Running;

/// How often a running script looks at the stop flag and, once past
/// `busy-reply-threshold`, serves the shard's other connections.
pub const POLL_EVERY: Duration = Duration::from_millis(20);

/// A shard thread's side of a long script: its other connections and its stop flag.
pub trait Servicer {
    /// Is the server stopping? (The script is then aborted.)
    fn stopping(&mut self, run: &Running) -> bool;
    /// Serves the other connections without blocking; `run` is past the threshold.
    fn serve(&mut self, run: &Running);
    /// `busy-reply-threshold`, in milliseconds.
    fn threshold_ms(&self) -> u64;
}

thread_local! {
    static SERVICER: RefCell<Option<Box<dyn Servicer>>> = const { RefCell::new(None) };
    /// When the running script last polled (so the hook polls every POLL_EVERY).
    static LAST_POLL: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Installs this thread's servicer (a shard thread, at its start).
pub fn install(servicer: Box<dyn Servicer>) {
    SERVICER.with(|s| *s.borrow_mut() = Some(servicer));
}

/// Drops this thread's servicer (a shard thread, when it ends).
pub fn uninstall() {
    SERVICER.with(|s| s.borrow_mut().take());
}

/// Called by the script hook of `run`: Err(reply text) stops the script.
pub(super) fn on_hook(run: &Running) -> Result<(), &'static str> {
    let now = Instant::now();
    let due = LAST_POLL.with(|l| match l.get() {
        Some(at) if now.duration_since(at) < POLL_EVERY => false,
        _ => {
            l.set(Some(now));
            true
        }
    });
    if !due {
        return Ok(());
    }
    SERVICER.with(|s| {
        // Borrowed already: a script started by the servicer itself (never: it runs
        // no scripts), or no shard thread. Either way only SCRIPT KILL applies.
        let Ok(mut slot) = s.try_borrow_mut() else { return Ok(()) };
        let Some(servicer) = slot.as_mut() else { return Ok(()) };
        if servicer.stopping(run) {
            return Err(errors::SCRIPT_STOPPED);
        }
        if run.started.elapsed().as_millis() as u64 >= servicer.threshold_ms() {
            servicer.serve(run);
        }
        Ok(())
    })
}

/// A script run starts: its first poll comes one POLL_EVERY later.
pub(super) fn on_start() {
    LAST_POLL.with(|l| l.set(Some(Instant::now())));
}
