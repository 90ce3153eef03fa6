//! Walking a shard's keys: KEYS-style iteration, RANDOMKEY, and SCAN's stable order.

use super::keyspace::{alive, Keyspace};
use super::routing::key_hash;

/// How long a SCAN snapshot is reused before it is rebuilt or freed.
const SCAN_INDEX_TTL_MS: u64 = 10_000;

/// Keys of a shard sorted by SCAN position, as of `built_ms`.
pub struct ScanIndex {
    built_ms: u64,
    entries: Vec<(u64, Box<[u8]>)>,
}

impl Keyspace {
    /// Live keys, in no particular order.
    pub fn live_keys(&self, now_ms: u64) -> impl Iterator<Item = &[u8]> + '_ {
        self.table.iter().filter(move |r| alive(r, now_ms)).map(|r| r.key())
    }

    /// A live key picked at random (`seed` chooses it), or None when there are none.
    pub fn random_key(&self, now_ms: u64, seed: u64) -> Option<Vec<u8>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let start = (seed % n as u64) as usize;
        let pick = self.live_keys(now_ms).skip(start).chain(self.live_keys(now_ms)).next();
        pick.map(|k| k.to_vec())
    }

    /// One SCAN step over this shard: keys ordered by their 48-bit routing hash, from
    /// `from` on. Returns up to about `count` keys and the position to resume at (None
    /// when the shard is done). Keys sharing a hash position are returned together.
    ///
    /// The order comes from a sorted snapshot of (position, key), built once and reused
    /// by later calls, so a step costs O(log n + count). Any snapshot taken during a walk
    /// holds every key present for the whole walk, so reuse keeps SCAN's guarantee: such
    /// keys are returned exactly once. Keys deleted since are skipped; keys added since
    /// may be missed, which SCAN allows.
    pub fn scan(&mut self, from: u64, count: usize, now_ms: u64) -> (Vec<Vec<u8>>, Option<u64>) {
        let stale = self.scan_index.as_ref().is_none_or(|ix| now_ms.saturating_sub(ix.built_ms) > SCAN_INDEX_TTL_MS);
        if stale || (from == 0 && self.scan_index.as_ref().is_some_and(|ix| ix.built_ms != now_ms)) {
            let mut entries: Vec<(u64, Box<[u8]>)> =
                self.live_keys(now_ms).map(|k| (key_hash(k) >> 16, Box::from(k))).collect();
            entries.sort_unstable();
            self.scan_index = Some(ScanIndex { built_ms: now_ms, entries });
        }
        let ix = self.scan_index.as_ref().expect("built above");
        let count = count.max(1);
        let mut i = ix.entries.partition_point(|(h, _)| *h < from);
        let mut keys = Vec::new();
        while i < ix.entries.len() {
            let (h, key) = &ix.entries[i];
            if keys.len() >= count && ix.entries[i - 1].0 != *h {
                return (keys, Some(*h));
            }
            if self.is_live(key, now_ms) {
                keys.push(key.to_vec());
            }
            i += 1;
        }
        (keys, None)
    }

    /// Frees the SCAN snapshot once no walk has used it for a while.
    pub(super) fn drop_idle_scan_index(&mut self, now_ms: u64) {
        if self.scan_index.as_ref().is_some_and(|ix| now_ms.saturating_sub(ix.built_ms) > SCAN_INDEX_TTL_MS) {
            self.scan_index = None;
        }
    }
}
