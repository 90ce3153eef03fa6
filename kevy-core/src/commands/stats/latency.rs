//! The latency monitor: per event (`command`, `fast-command`), the latest samples at
//! or over `latency-monitor-threshold`, one per second at most, for the whole server.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Redis's LATENCY_TS_LEN: samples kept per event.
const SAMPLES_KEPT: usize = 160;

/// One event's history.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// (unix seconds, ms), oldest first.
    pub samples: VecDeque<(u64, u64)>,
    /// The highest ms seen since the last reset.
    pub max_ms: u64,
}

/// Every event's series, by name.
#[derive(Default)]
pub struct Monitor {
    events: Mutex<BTreeMap<&'static str, Series>>,
}

impl Monitor {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Series>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a sample; two in the same second keep the higher, as in Redis.
    pub fn add(&self, event: &'static str, unix_s: u64, ms: u64) {
        let mut events = self.lock();
        let series = events.entry(event).or_default();
        series.max_ms = series.max_ms.max(ms);
        match series.samples.back_mut() {
            Some((t, worst)) if *t == unix_s => *worst = (*worst).max(ms),
            _ => {
                series.samples.push_back((unix_s, ms));
                if series.samples.len() > SAMPLES_KEPT {
                    series.samples.pop_front();
                }
            }
        }
    }

    /// Every event with its series (by name).
    pub fn all(&self) -> Vec<(&'static str, Series)> {
        self.lock().iter().map(|(n, s)| (*n, s.clone())).collect()
    }

    /// One event's series, if it has samples.
    pub fn series(&self, event: &[u8]) -> Option<Series> {
        self.lock().iter().find(|(n, _)| n.as_bytes() == event).map(|(_, s)| s.clone())
    }

    /// Forgets the named events (all for an empty list); how many had samples.
    pub fn reset(&self, names: &[&[u8]]) -> usize {
        let mut events = self.lock();
        if names.is_empty() {
            let n = events.len();
            events.clear();
            return n;
        }
        let before = events.len();
        events.retain(|n, _| !names.contains(&n.as_bytes()));
        before - events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_merge_per_second_and_reset_counts() {
        let m = Monitor::default();
        m.add("command", 10, 5);
        m.add("command", 10, 9);
        m.add("command", 11, 3);
        m.add("fast-command", 11, 2);
        let s = m.series(b"command").unwrap();
        assert_eq!(s.samples, [(10, 9), (11, 3)]);
        assert_eq!(s.max_ms, 9);
        assert_eq!(m.reset(&[b"nope"]), 0);
        assert_eq!(m.reset(&[b"command"]), 1);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.all().is_empty());
    }
}
