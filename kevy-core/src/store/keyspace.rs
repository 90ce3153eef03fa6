//! One shard's keys: a hash map from key to value and deadline, with lazy expiry on
//! access and a bounded active reaper over the keys that have a deadline.

use hashbrown::hash_map::EntryRef;
use hashbrown::HashMap;

use super::value::Value;
use crate::shard::routing::key_hash;

/// "No deadline" in [`Entry::expire_at`].
pub const NO_EXPIRE: u64 = 0;
const NOT_VOLATILE: u32 = u32::MAX;

/// What a key holds: its value and its deadline (unix ms, or [`NO_EXPIRE`]).
#[derive(Debug)]
pub struct Entry {
    pub value: Value,
    expire_at: u64,
    /// Position of this key in `Keyspace::volatile` when it has a deadline.
    volatile_at: u32,
}

impl Entry {
    pub fn expire_at(&self) -> u64 {
        self.expire_at
    }
}

/// Counters INFO reports, kept by the keyspace as it works.
#[derive(Default, Debug, Clone, Copy)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
}

/// The keys of one shard.
#[derive(Default)]
pub struct Keyspace {
    map: HashMap<Box<[u8]>, Entry, ahash::RandomState>,
    /// Keys that have a deadline, for the active reaper to walk.
    volatile: Vec<Box<[u8]>>,
    reap_cursor: usize,
    /// Sorted snapshot that SCAN walks (see [`Keyspace::scan`]).
    scan_index: Option<ScanIndex>,
    pub stats: KeyspaceStats,
}

/// How long a SCAN snapshot is reused before it is rebuilt or freed.
const SCAN_INDEX_TTL_MS: u64 = 10_000;

/// Keys of a shard sorted by SCAN position, as of `built_ms`.
struct ScanIndex {
    built_ms: u64,
    entries: Vec<(u64, Box<[u8]>)>,
}

impl Keyspace {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Number of keys with a deadline.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// Removes `key` if its deadline has passed. Returns true when it was removed.
    fn expire_if_due(&mut self, key: &[u8], now_ms: u64) -> bool {
        let due = matches!(self.map.get(key), Some(e) if e.expire_at != NO_EXPIRE && e.expire_at <= now_ms);
        if due {
            self.remove(key);
            self.stats.expired += 1;
        }
        due
    }

    /// The live entry under `key` (expired keys are removed on the way).
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.expire_if_due(key, now_ms);
        self.map.get(key)
    }

    /// Like [`get`](Self::get), counting a hit or a miss (read commands use this).
    pub fn read(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.expire_if_due(key, now_ms);
        let found = self.map.get(key);
        if found.is_some() {
            self.stats.hits += 1;
        } else {
            self.stats.misses += 1;
        }
        found
    }

    /// The live value under `key`, for in-place changes. The deadline is kept.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        self.expire_if_due(key, now_ms);
        self.map.get_mut(key).map(|e| &mut e.value)
    }

    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// Stores `value` under `key` with the given deadline, replacing what was there.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) {
        match self.map.entry_ref(key) {
            EntryRef::Occupied(mut o) => {
                let e = o.get_mut();
                e.value = value;
                let was = std::mem::replace(&mut e.expire_at, expire_at);
                self.relink(key, was, expire_at);
            }
            EntryRef::Vacant(v) => {
                v.insert(Entry { value, expire_at, volatile_at: NOT_VOLATILE });
                if expire_at != NO_EXPIRE {
                    self.link_volatile(key);
                }
            }
        }
    }

    /// Stores a string (SET), reusing the buffer of the string already there when it
    /// fits, so overwriting a key allocates nothing.
    pub fn set_string(&mut self, key: &[u8], bytes: &[u8], expire_at: u64) {
        let was = match self.map.entry_ref(key) {
            EntryRef::Occupied(mut o) => {
                let e = o.get_mut();
                match &mut e.value {
                    // Reuse only a buffer of about the right size: a huge one would stay pinned.
                    Value::Str(buf) if buf.capacity() >= bytes.len() && buf.capacity() <= 2 * bytes.len().max(32) => {
                        buf.clear();
                        buf.extend_from_slice(bytes);
                    }
                    other => *other = Value::Str(bytes.to_vec()),
                }
                std::mem::replace(&mut e.expire_at, expire_at)
            }
            EntryRef::Vacant(v) => {
                v.insert(Entry { value: Value::Str(bytes.to_vec()), expire_at, volatile_at: NOT_VOLATILE });
                NO_EXPIRE
            }
        };
        self.relink(key, was, expire_at);
    }

    /// Keeps the volatile list in step after a key's deadline went from `was` to `now`.
    fn relink(&mut self, key: &[u8], was: u64, now: u64) {
        if was == NO_EXPIRE && now != NO_EXPIRE {
            self.link_volatile(key);
        } else if was != NO_EXPIRE && now == NO_EXPIRE {
            self.unlink_volatile(key);
        }
    }

    /// Stores `value` keeping the key's current deadline (or none for a new key).
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value, now_ms: u64) {
        match self.get_mut(key, now_ms) {
            Some(v) => *v = value,
            None => self.insert(key, value, NO_EXPIRE),
        }
    }

    /// Removes `key` (expired or not) and returns what it held.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.map.get(key)?;
        if e.expire_at != NO_EXPIRE {
            self.unlink_volatile(key);
        }
        self.map.remove(key)
    }

    /// Removes a live key and returns its value and deadline.
    pub fn take(&mut self, key: &[u8], now_ms: u64) -> Option<(Value, u64)> {
        self.expire_if_due(key, now_ms);
        self.remove(key).map(|e| (e.value, e.expire_at))
    }

    /// The deadline of a live key: None when the key is missing.
    pub fn expire_of(&mut self, key: &[u8], now_ms: u64) -> Option<u64> {
        self.get(key, now_ms).map(|e| e.expire_at)
    }

    /// Sets (or with [`NO_EXPIRE`], clears) the deadline of a live key. False if missing.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64, now_ms: u64) -> bool {
        self.expire_if_due(key, now_ms);
        let Some(e) = self.map.get_mut(key) else { return false };
        let was = std::mem::replace(&mut e.expire_at, expire_at);
        self.relink(key, was, expire_at);
        true
    }

    fn link_volatile(&mut self, key: &[u8]) {
        let idx = self.volatile.len() as u32;
        self.volatile.push(key.into());
        self.map.get_mut(key).expect("linked key exists").volatile_at = idx;
    }

    fn unlink_volatile(&mut self, key: &[u8]) {
        let Some(e) = self.map.get_mut(key) else { return };
        let idx = std::mem::replace(&mut e.volatile_at, NOT_VOLATILE) as usize;
        if idx == NOT_VOLATILE as usize {
            return;
        }
        self.volatile.swap_remove(idx);
        if let Some(moved) = self.volatile.get(idx) {
            if let Some(m) = self.map.get_mut(&moved[..]) {
                m.volatile_at = idx as u32;
            }
        }
    }

    /// Drops every key.
    pub fn clear(&mut self) {
        self.map = HashMap::default();
        self.volatile = Vec::new();
        self.reap_cursor = 0;
        self.scan_index = None;
    }

    /// Active expiry: checks up to `budget` keys that have a deadline, removing the due
    /// ones, resuming where the last call stopped. Returns how many were removed.
    pub fn reap(&mut self, now_ms: u64, budget: usize) -> usize {
        self.drop_idle_scan_index(now_ms);
        let mut removed = 0;
        for _ in 0..budget.min(self.volatile.len()) {
            if self.reap_cursor >= self.volatile.len() {
                self.reap_cursor = 0;
            }
            let key = self.volatile[self.reap_cursor].clone();
            if self.expire_if_due(&key, now_ms) {
                removed += 1; // the slot now holds another key: look at it next
            } else {
                self.reap_cursor += 1;
            }
            if self.volatile.is_empty() {
                break;
            }
        }
        removed
    }

    /// Live keys, in no particular order.
    pub fn live_keys(&self, now_ms: u64) -> impl Iterator<Item = &[u8]> + '_ {
        self.map
            .iter()
            .filter(move |(_, e)| e.expire_at == NO_EXPIRE || e.expire_at > now_ms)
            .map(|(k, _)| &k[..])
    }

    /// Live keys with their values.
    pub fn live_entries(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Entry)> + '_ {
        self.map
            .iter()
            .filter(move |(_, e)| e.expire_at == NO_EXPIRE || e.expire_at > now_ms)
            .map(|(k, e)| (&k[..], e))
    }

    /// A live key picked at random (`seed` chooses it), or None when there are none.
    pub fn random_key(&self, now_ms: u64, seed: u64) -> Option<Vec<u8>> {
        let n = self.map.len();
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
            if matches!(self.map.get(&key[..]), Some(e) if e.expire_at == NO_EXPIRE || e.expire_at > now_ms) {
                keys.push(key.to_vec());
            }
            i += 1;
        }
        (keys, None)
    }

    /// Frees the SCAN snapshot once no walk has used it for a while.
    fn drop_idle_scan_index(&mut self, now_ms: u64) {
        if self.scan_index.as_ref().is_some_and(|ix| now_ms.saturating_sub(ix.built_ms) > SCAN_INDEX_TTL_MS) {
            self.scan_index = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.as_bytes().to_vec())
    }

    #[test]
    fn lazy_expiry_and_volatile_tracking() {
        let mut ks = Keyspace::new();
        ks.insert(b"a", s("1"), 100);
        ks.insert(b"b", s("2"), 200);
        ks.insert(b"c", s("3"), NO_EXPIRE);
        assert_eq!(ks.volatile_len(), 2);
        assert!(ks.get(b"a", 50).is_some());
        assert!(ks.get(b"a", 100).is_none());
        assert_eq!(ks.volatile_len(), 1);
        assert!(ks.set_expire(b"b", NO_EXPIRE, 150));
        assert_eq!(ks.volatile_len(), 0);
        assert!(ks.set_expire(b"c", 10, 0));
        assert_eq!(ks.reap(20, 10), 1);
        assert_eq!(ks.len(), 1);
    }

    #[test]
    fn reaper_is_bounded_and_complete() {
        let mut ks = Keyspace::new();
        for i in 0..100 {
            ks.insert(format!("k{i}").as_bytes(), s("v"), if i % 2 == 0 { 10 } else { 1000 });
        }
        let mut total = 0;
        for _ in 0..20 {
            let n = ks.reap(500, 10);
            assert!(n <= 10);
            total += n;
        }
        assert_eq!(total, 50);
        assert_eq!(ks.len(), 50);
    }

    #[test]
    fn scan_visits_every_key_once() {
        let mut ks = Keyspace::new();
        for i in 0..1000 {
            ks.insert(format!("key:{i}").as_bytes(), s("v"), NO_EXPIRE);
        }
        let (mut seen, mut cur) = (Vec::new(), Some(0));
        while let Some(c) = cur {
            let (keys, next) = ks.scan(c, 7, 0);
            seen.extend(keys);
            cur = next;
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn scan_survives_changes_during_the_walk() {
        let mut ks = Keyspace::new();
        for i in 0..2000 {
            ks.insert(format!("stay:{i}").as_bytes(), s("v"), NO_EXPIRE);
            ks.insert(format!("gone:{i}").as_bytes(), s("v"), NO_EXPIRE);
        }
        let (mut seen, mut cur, mut step) = (Vec::new(), Some(0), 0);
        while let Some(c) = cur {
            let (keys, next) = ks.scan(c, 10, step);
            seen.extend(keys);
            cur = next;
            // Churn between steps: delete some keys, add new ones, move the clock so the
            // snapshot is rebuilt mid-walk.
            ks.remove(format!("gone:{step}").as_bytes());
            ks.insert(format!("new:{step}").as_bytes(), s("v"), NO_EXPIRE);
            step += 997;
        }
        let stay: Vec<_> = seen.iter().filter(|k| k.starts_with(b"stay:")).collect();
        let mut unique = stay.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 2000, "every key present throughout is returned");
        assert_eq!(stay.len(), 2000, "and only once");
    }

    #[test]
    fn set_string_overwrites_in_place_and_tracks_deadlines() {
        let mut ks = Keyspace::new();
        ks.set_string(b"k", b"first", 500);
        assert_eq!(ks.volatile_len(), 1);
        ks.set_string(b"k", b"second", NO_EXPIRE);
        assert_eq!(ks.volatile_len(), 0);
        assert_eq!(ks.get(b"k", 1000).map(|e| e.value.clone()), Some(s("second")));
        ks.insert(b"l", Value::List(Default::default()), 700);
        ks.set_string(b"l", b"now a string", 900);
        assert_eq!(ks.expire_of(b"l", 0), Some(900));
        assert_eq!(ks.volatile_len(), 1);
    }
}
