//! One shard's keys: a hash table of packed records (key, deadline, small string
//! inline), an object table for the values that do not fit a record (lists, hashes,
//! large strings), lazy expiry on access, and a bounded active reaper.
//!
//! Memory per small string key is one table slot (16 bytes, at most about twice that
//! with the table's load factor) plus one allocation of about key + value + 2 bytes.

use hashbrown::HashTable;

use super::record::{Deadline, Payload, Record};
use super::value::{Value, ValueRef};

/// "No deadline" in [`Entry::expire_at`].
pub const NO_EXPIRE: u64 = 0;
/// Strings up to this length live inside the key's record; longer ones are objects,
/// so that APPEND and SETRANGE grow them in place.
const INLINE_MAX: usize = 64;

/// A key's value and deadline, as reads see them.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub value: ValueRef<'a>,
    expire_at: u64,
}

impl Entry<'_> {
    /// The deadline (unix ms), or [`NO_EXPIRE`].
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
    pub(super) table: HashTable<Record>,
    hasher: ahash::RandomState,
    /// Values that do not live in their record; holes are reused through `free`.
    objects: Vec<Option<Value>>,
    free: Vec<u32>,
    /// Keys that have a deadline, for the active reaper to walk. A record with a
    /// deadline stores its position here.
    volatile: Vec<Box<[u8]>>,
    reap_cursor: usize,
    pub(super) scan_index: Option<super::walk::ScanIndex>,
    pub stats: KeyspaceStats,
    /// Clients blocked on keys of this keyspace (BLPOP...), by key.
    pub blocked: super::blocked::BlockedKeys,
    /// Keys connections WATCH, with their flags: every change to one of them below
    /// sets its watchers' flags (see `shard::watch`). Empty unless someone watches.
    pub watched: super::watched::WatchedKeys,
    /// Keys removed because their deadline passed, while keyspace notifications for
    /// `expired` are on (None otherwise): drained by `shard::notify`.
    pub expired_log: Option<Vec<Vec<u8>>>,
}

fn deadline_at(r: &Record) -> u64 {
    r.deadline().map_or(NO_EXPIRE, |d| d.at)
}

/// Is a record with this deadline still alive at `now_ms`?
pub(super) fn alive(r: &Record, now_ms: u64) -> bool {
    let at = deadline_at(r);
    at == NO_EXPIRE || at > now_ms
}

impl Keyspace {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.table.len()
    }
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
    /// Number of keys with a deadline.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The record of `key` and its entry, live or not (MEMORY USAGE sizes them).
    pub(super) fn record_of(&self, key: &[u8]) -> Option<(&Record, Entry<'_>)> {
        self.find(key).map(|r| (r, Self::view(&self.objects, r)))
    }

    /// The object table's slots and how many hold a value (MEMORY USAGE shares it).
    pub(super) fn object_slots(&self) -> (usize, usize) {
        (self.objects.capacity(), self.objects.len() - self.free.len())
    }

    /// Slots of the volatile list (MEMORY USAGE shares it among keys with a TTL).
    pub(super) fn volatile_capacity(&self) -> usize {
        self.volatile.capacity()
    }

    fn find(&self, key: &[u8]) -> Option<&Record> {
        self.table.find(self.hash(key), |r| r.key() == key)
    }

    /// Looks `key` up once, removing it when its deadline has passed. Returns its hash
    /// and whether a live record is there.
    #[inline]
    fn probe(&mut self, key: &[u8], now_ms: u64) -> (u64, bool) {
        let h = self.hash(key);
        match self.table.find(h, |r| r.key() == key) {
            None => (h, false),
            Some(r) if alive(r, now_ms) => (h, true),
            Some(_) => {
                self.discard_hashed(h, key);
                self.stats.expired += 1;
                self.touched(key);
                if let Some(log) = &mut self.expired_log {
                    log.push(key.to_vec());
                }
                (h, false)
            }
        }
    }

    /// `key` changed: breaks the watches on it. One test when nobody watches.
    #[inline]
    fn touched(&mut self, key: &[u8]) {
        if !self.watched.is_empty() {
            self.watched.touch(key);
        }
    }

    fn find_mut(&mut self, key: &[u8]) -> Option<&mut Record> {
        let h = self.hash(key);
        self.table.find_mut(h, |r| r.key() == key)
    }

    fn view<'a>(objects: &'a [Option<Value>], r: &'a Record) -> Entry<'a> {
        let value = match r.payload() {
            Payload::Str(s) => ValueRef::Str(s),
            Payload::Object(i) => objects[i as usize].as_ref().expect("live object").as_ref(),
        };
        Entry { value, expire_at: deadline_at(r) }
    }

    /// Removes `key` if its deadline has passed. Returns true when it was removed.
    fn expire_if_due(&mut self, key: &[u8], now_ms: u64) -> bool {
        let had = self.table.len();
        self.probe(key, now_ms);
        self.table.len() < had
    }

    /// The live entry under `key` (expired keys are removed on the way).
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<Entry<'_>> {
        let (h, live) = self.probe(key, now_ms);
        if !live {
            return None;
        }
        let r = self.table.find(h, |r| r.key() == key)?;
        Some(Self::view(&self.objects, r))
    }

    /// Like [`get`](Self::get), counting a hit or a miss (read commands use this).
    pub fn read(&mut self, key: &[u8], now_ms: u64) -> Option<Entry<'_>> {
        let (h, live) = self.probe(key, now_ms);
        if !live {
            self.stats.misses += 1;
            return None;
        }
        self.stats.hits += 1;
        let r = self.table.find(h, |r| r.key() == key)?;
        Some(Self::view(&self.objects, r))
    }

    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// The live value under `key`, for in-place changes; the deadline is kept. A string
    /// stored inline moves to the object table first (so it can grow in place): prefer
    /// [`set_string`](Self::set_string) to replace a string wholesale.
    ///
    /// For WATCH this is a change of the key unless the command then fails (see
    /// `shard::watch`).
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        self.expire_if_due(key, now_ms);
        let r = self.find(key)?;
        let idx = match r.payload() {
            Payload::Object(i) => i,
            Payload::Str(s) => {
                let value = Value::Str(s.to_vec());
                let deadline = r.deadline();
                let i = self.alloc_object(value);
                *self.find_mut(key).expect("found above") = Record::new(key, deadline, Payload::Object(i));
                i
            }
        };
        if !self.watched.is_empty() {
            // Settled when the command ends: a failed command changed nothing.
            self.watched.maybe_touch(key);
        }
        self.objects[idx as usize].as_mut()
    }

    fn alloc_object(&mut self, value: Value) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.objects[i as usize] = Some(value);
                i
            }
            None => {
                self.objects.push(Some(value));
                (self.objects.len() - 1) as u32
            }
        }
    }

    fn free_object(&mut self, i: u32) -> Value {
        let v = self.objects[i as usize].take().expect("live object");
        self.free.push(i);
        if self.free.len() == self.objects.len() {
            self.objects.clear();
            self.free.clear();
        }
        v
    }

    /// Stores `value` under `key` with the given deadline, replacing what was there.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) {
        self.touched(key);
        let h = self.hash(key);
        self.insert_hashed(h, key, value, expire_at);
    }

    fn insert_hashed(&mut self, h: u64, key: &[u8], value: Value, expire_at: u64) {
        self.discard_hashed(h, key);
        let deadline = self.link_volatile(key, expire_at);
        let record = match value {
            Value::Str(s) if s.len() <= INLINE_MAX => Record::new(key, deadline, Payload::Str(&s)),
            other => {
                let i = self.alloc_object(other);
                Record::new(key, deadline, Payload::Object(i))
            }
        };
        let hasher = &self.hasher;
        self.table.insert_unique(h, record, |r| hasher.hash_one(r.key()));
    }

    /// Stores a string (SET). Overwriting a string of the same size, or a large string
    /// whose buffer fits, allocates nothing.
    pub fn set_string(&mut self, key: &[u8], bytes: &[u8], expire_at: u64) {
        self.touched(key);
        let h = self.hash(key);
        if let Some(r) = self.table.find_mut(h, |r| r.key() == key) {
            if r.deadline().is_some() == (expire_at != NO_EXPIRE) {
                let reused = match r.payload() {
                    Payload::Str(_) => r.overwrite_str(bytes),
                    // Reuse a large string's buffer only when of about the right size.
                    Payload::Object(i) => match self.objects[i as usize].as_mut() {
                        Some(Value::Str(buf)) if bytes.len() > INLINE_MAX && buf.capacity() <= 2 * bytes.len() => {
                            buf.clear();
                            buf.extend_from_slice(bytes);
                            true
                        }
                        _ => false,
                    },
                };
                if reused {
                    if let Some(d) = r.deadline() {
                        r.set_deadline(Deadline { at: expire_at, volatile_at: d.volatile_at });
                    }
                    return;
                }
            }
        }
        self.discard_hashed(h, key);
        if bytes.len() <= INLINE_MAX {
            let deadline = self.link_volatile(key, expire_at);
            let hasher = &self.hasher;
            self.table.insert_unique(h, Record::new(key, deadline, Payload::Str(bytes)), |r| hasher.hash_one(r.key()));
        } else {
            self.insert_hashed(h, key, Value::Str(bytes.to_vec()), expire_at);
        }
    }

    /// Stores `value` keeping the key's current deadline (or none for a new key).
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value, now_ms: u64) {
        let at = self.expire_of(key, now_ms).unwrap_or(NO_EXPIRE);
        self.insert(key, value, at);
    }

    /// Removes `key` (expired or not) and returns its value and deadline.
    pub fn remove(&mut self, key: &[u8]) -> Option<(Value, u64)> {
        let h = self.hash(key);
        let removed = self.remove_hashed(h, key)?;
        self.touched(key);
        Some(removed)
    }

    fn remove_hashed(&mut self, h: u64, key: &[u8]) -> Option<(Value, u64)> {
        let record = self.unlink_hashed(h, key)?;
        let at = deadline_at(&record);
        let value = match record.payload() {
            Payload::Str(s) => Value::Str(s.to_vec()),
            Payload::Object(i) => self.free_object(i),
        };
        Some((value, at))
    }

    /// Removes `key` without handing its value back (an overwrite).
    fn discard_hashed(&mut self, h: u64, key: &[u8]) {
        if let Some(record) = self.unlink_hashed(h, key) {
            if let Payload::Object(i) = record.payload() {
                self.free_object(i);
            }
        }
    }

    /// Takes `key`'s record out of the table and the volatile list.
    fn unlink_hashed(&mut self, h: u64, key: &[u8]) -> Option<Record> {
        let (record, _) = self.table.find_entry(h, |r| r.key() == key).ok()?.remove();
        if let Some(d) = record.deadline() {
            self.unlink_volatile(d.volatile_at);
        }
        Some(record)
    }

    /// Removes a live key and returns its value and deadline.
    pub fn take(&mut self, key: &[u8], now_ms: u64) -> Option<(Value, u64)> {
        self.expire_if_due(key, now_ms);
        self.remove(key)
    }

    /// The deadline of a live key: None when the key is missing.
    pub fn expire_of(&mut self, key: &[u8], now_ms: u64) -> Option<u64> {
        self.get(key, now_ms).map(|e| e.expire_at)
    }

    /// Sets (or with [`NO_EXPIRE`], clears) the deadline of a live key. False if missing.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64, now_ms: u64) -> bool {
        self.expire_if_due(key, now_ms);
        let Some(r) = self.find_mut(key) else { return false };
        match (r.deadline(), expire_at) {
            (Some(d), at) if at != NO_EXPIRE => {
                r.set_deadline(Deadline { at, volatile_at: d.volatile_at });
                self.touched(key);
            }
            (None, NO_EXPIRE) => {}
            _ => {
                // Adding or dropping the deadline changes the record's shape.
                let (value, _) = self.remove(key).expect("found above");
                self.insert(key, value, expire_at);
            }
        }
        true
    }

    /// Adds `key` to the volatile list when it has a deadline.
    fn link_volatile(&mut self, key: &[u8], expire_at: u64) -> Option<Deadline> {
        if expire_at == NO_EXPIRE {
            return None;
        }
        self.volatile.push(key.into());
        Some(Deadline { at: expire_at, volatile_at: (self.volatile.len() - 1) as u32 })
    }

    fn unlink_volatile(&mut self, idx: u32) {
        let idx = idx as usize;
        self.volatile.swap_remove(idx);
        if let Some(moved) = self.volatile.get(idx).cloned() {
            if let Some(r) = self.find_mut(&moved) {
                if let Some(d) = r.deadline() {
                    r.set_deadline(Deadline { at: d.at, volatile_at: idx as u32 });
                }
            }
        }
    }

    /// Drops every key.
    pub fn clear(&mut self) {
        if !self.watched.is_empty() {
            let mut watched = std::mem::take(&mut self.watched);
            watched.touch_where(|key| self.find(key).is_some());
            self.watched = watched;
        }
        let (hasher, stats) = (self.hasher.clone(), self.stats);
        let blocked = std::mem::take(&mut self.blocked); // blocked clients stay blocked
        let watched = std::mem::take(&mut self.watched); // and watches on missing keys hold
        *self = Keyspace { hasher, stats, blocked, watched, ..Keyspace::default() };
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

    /// Live keys with their values, in no particular order.
    pub fn live_entries(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], Entry<'_>)> + '_ {
        self.table.iter().filter(move |r| alive(r, now_ms)).map(|r| (r.key(), Self::view(&self.objects, r)))
    }

    /// Is `key` present and alive (without removing it if expired)?
    pub(super) fn is_live(&self, key: &[u8], now_ms: u64) -> bool {
        self.find(key).is_some_and(|r| alive(r, now_ms))
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
        assert_eq!(ks.get(b"k", 1000).map(|e| e.value.to_owned()), Some(s("second")));
        ks.insert(b"l", Value::List(Default::default()), 700);
        ks.set_string(b"l", b"now a string", 900);
        assert_eq!(ks.expire_of(b"l", 0), Some(900));
        assert_eq!(ks.volatile_len(), 1);
    }

    #[test]
    fn strings_move_between_record_and_object_table() {
        let mut ks = Keyspace::new();
        ks.set_string(b"k", b"small", 900);
        // In-place growth moves the string to the object table, deadline kept.
        if let Some(Value::Str(v)) = ks.get_mut(b"k", 0) {
            v.extend_from_slice(&[b'x'; 100]);
        }
        assert_eq!(ks.expire_of(b"k", 0), Some(900));
        assert_eq!(ks.get(b"k", 0).map(|e| e.value.to_owned().encoding_name()), Some("raw"));
        // A large value overwritten by a small one goes back inline; objects are freed.
        ks.set_string(b"k", b"tiny", NO_EXPIRE);
        assert_eq!(ks.get(b"k", 0).map(|e| e.value), Some(ValueRef::Str(b"tiny")));
        assert!(ks.objects.iter().all(Option::is_none));
        let big = vec![b'b'; 1000];
        ks.set_string(b"big", &big, NO_EXPIRE);
        ks.set_string(b"big", &big[..900], NO_EXPIRE);
        assert_eq!(ks.take(b"big", 0), Some((Value::Str(big[..900].to_vec()), NO_EXPIRE)));
        assert_eq!(ks.len(), 1);
    }

    #[test]
    fn deadlines_follow_keys_through_every_path() {
        let mut ks = Keyspace::new();
        for i in 0..50u64 {
            ks.set_string(format!("k{i}").as_bytes(), b"v", 1000 + i);
        }
        ks.insert(b"list", Value::List(Default::default()), 5000);
        for i in (0..50u64).step_by(3) {
            ks.set_expire(format!("k{i}").as_bytes(), NO_EXPIRE, 0);
        }
        ks.remove(b"k1");
        // Every volatile entry points at a record whose stored position is its own.
        for (pos, key) in ks.volatile.clone().iter().enumerate() {
            let d = ks.find(key).and_then(|r| r.deadline()).expect("volatile key has a deadline");
            assert_eq!(d.volatile_at as usize, pos);
        }
        // 50 strings + 1 list had deadlines; 17 were persisted and k1 removed.
        assert_eq!(ks.volatile_len(), 33);
        assert_eq!(ks.reap(1_000_000, 1000), 33);
        assert_eq!(ks.len(), 17);
    }
}
