//! One shard's keys: a hash map from key to value and deadline, with lazy expiry on
//! access and a bounded active reaper over the keys that have a deadline.

use std::collections::HashMap;

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
    pub stats: KeyspaceStats,
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
        if let Some(e) = self.map.get_mut(key) {
            e.value = value;
            let was = e.expire_at;
            e.expire_at = expire_at;
            if (was == NO_EXPIRE) != (expire_at == NO_EXPIRE) {
                if expire_at == NO_EXPIRE {
                    self.unlink_volatile(key);
                } else {
                    self.link_volatile(key);
                }
            }
            return;
        }
        self.map.insert(key.into(), Entry { value, expire_at: NO_EXPIRE, volatile_at: NOT_VOLATILE });
        if expire_at != NO_EXPIRE {
            self.map.get_mut(key).expect("just inserted").expire_at = expire_at;
            self.link_volatile(key);
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
        let was = e.expire_at;
        e.expire_at = expire_at;
        if was == NO_EXPIRE && expire_at != NO_EXPIRE {
            self.link_volatile(key);
        } else if was != NO_EXPIRE && expire_at == NO_EXPIRE {
            self.unlink_volatile(key);
        }
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
    }

    /// Active expiry: checks up to `budget` keys that have a deadline, removing the due
    /// ones, resuming where the last call stopped. Returns how many were removed.
    pub fn reap(&mut self, now_ms: u64, budget: usize) -> usize {
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
    /// when the shard is done). Every key present for the whole walk is returned once;
    /// keys sharing a hash prefix are returned together.
    pub fn scan(&self, from: u64, count: usize, now_ms: u64) -> (Vec<Vec<u8>>, Option<u64>) {
        let mut batch: Vec<(u64, &[u8])> = self
            .live_keys(now_ms)
            .map(|k| (key_hash(k) >> 16, k))
            .filter(|(h, _)| *h >= from)
            .collect();
        let count = count.max(1);
        if batch.len() <= count {
            return (batch.into_iter().map(|(_, k)| k.to_vec()).collect(), None);
        }
        // Linear selection, not a sort: the `count` lowest positions go first, the
        // last of them being `edge`; keys sharing `edge` join them.
        let edge = batch.select_nth_unstable_by_key(count - 1, |(h, _)| *h).1 .0;
        let mut keys: Vec<Vec<u8>> = batch[..count].iter().map(|(_, k)| k.to_vec()).collect();
        let mut next = None;
        for &(h, k) in &batch[count..] {
            if h == edge {
                keys.push(k.to_vec());
            } else {
                next = Some(next.map_or(h, |n: u64| n.min(h)));
            }
        }
        (keys, next)
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
}
