//! The server's clock: wall time, or a manual clock that moves only when the host
//! advances it (`clock manual`), so TTLs, expiry and blocking timeouts can be tested
//! without sleeping. Shards read it once per event-loop turn.

use std::sync::atomic::{AtomicU64, Ordering};

/// Unix milliseconds, from the system or from the host.
pub struct Clock {
    /// Some: the manual clock's current time.
    manual: Option<AtomicU64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { manual: None }
    }
    /// A manual clock starting at the current wall time.
    pub fn manual() -> Self {
        Clock { manual: Some(AtomicU64::new(wall_ms())) }
    }
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }
    /// Now, in unix milliseconds.
    #[inline]
    pub fn now_ms(&self) -> u64 {
        match &self.manual {
            Some(t) => t.load(Ordering::Acquire),
            None => wall_ms(),
        }
    }
    /// Moves a manual clock forward by `ms`; false for the system clock.
    pub fn advance(&self, ms: u64) -> bool {
        match &self.manual {
            Some(t) => {
                t.fetch_add(ms, Ordering::AcqRel);
                true
            }
            None => false,
        }
    }
}

/// Wall-clock time in unix milliseconds.
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = Clock::manual();
        let t0 = c.now_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.now_ms(), t0);
        assert!(c.advance(1500));
        assert_eq!(c.now_ms(), t0 + 1500);
        assert!(!Clock::system().advance(1));
    }
}
