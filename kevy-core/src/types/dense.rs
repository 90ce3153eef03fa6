//! The one hash table behind a hash's and a set's `hashtable` encoding: chained buckets
//! over one dense array of entries, keyed by byte strings. An entry is the stored item
//! (any [`Keyed`] type: a set's member, a hash's field and value in one allocation)
//! plus 8 bytes of hash and chain link: 24 bytes for a boxed slice.
//!
//! Entries stay contiguous (a removal moves the last entry into the hole), so an entry
//! can be picked at random in O(1) and fairly, and iteration is a walk over an array.
//! Each bucket holds the index of the first entry of its chain. The table doubles when
//! it holds more entries than buckets and shrinks to fit when under 10% full (Redis's
//! `dictExpand` and `htNeedsResize` thresholds). [`DenseTable::scan`] walks buckets in
//! Redis's reverse-binary cursor order, which keeps the SCAN family's guarantee across
//! resizes (see [`DenseTable::scan_bucket`]).

use std::sync::OnceLock;

/// "No entry" in a bucket head or a chain link.
const NIL: u32 = u32::MAX;
/// The smallest bucket array (Redis's `DICT_HT_INITIAL_SIZE`).
const MIN_BUCKETS: usize = 4;

/// The hash of a member, field or key of a collection: one process-wide randomly keyed
/// hasher (the one seed of types/), so bucket order differs between runs as with
/// Redis's siphash seed, and crafted input cannot be aimed at one bucket. Fixed for
/// the process, so SCAN positions stay put between calls.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new).hash_one(bytes)
}

/// What a table stores per entry: something that holds its key's bytes.
pub trait Keyed {
    fn key(&self) -> &[u8];
}

/// A set's entry: the member alone.
impl Keyed for Box<[u8]> {
    fn key(&self) -> &[u8] {
        self
    }
}

#[derive(Debug, Clone)]
struct Entry<T> {
    item: T,
    /// The low 32 bits of the key's hash (enough to pick among 2^32 buckets).
    hash: u32,
    /// The next entry of the same bucket, or NIL.
    next: u32,
}

/// A hash table of items keyed by byte strings, entries in one dense array.
#[derive(Debug, Clone)]
pub struct DenseTable<T> {
    entries: Vec<Entry<T>>,
    /// Power-of-two many chain heads (entry indexes or NIL).
    buckets: Vec<u32>,
}

/// Where [`DenseTable::slot`] found a key: its item, or the place to insert it.
pub enum Slot<'t, T> {
    Found(&'t mut T),
    Vacant(Vacant<'t, T>),
}

/// An absent key's place, with its hash already computed.
pub struct Vacant<'t, T> {
    table: &'t mut DenseTable<T>,
    hash: u32,
}

impl<T> Vacant<'_, T> {
    /// Adds the item for the key that was looked up (its key must be those bytes);
    /// a mutable key would break the chains, so an item's key never changes.
    #[inline]
    pub fn insert(self, item: T) {
        self.table.push_new(item, self.hash);
    }
}

fn short_hash(key: &[u8]) -> u32 {
    hash_bytes(key) as u32
}

impl<T: Keyed> DenseTable<T> {
    /// Index of the entry holding `key`.
    #[inline]
    fn find(&self, key: &[u8], hash: u32) -> Option<usize> {
        let mut i = self.buckets[self.bucket(hash)];
        while i != NIL {
            let e = &self.entries[i as usize];
            if e.hash == hash && e.item.key() == key {
                return Some(i as usize);
            }
            i = e.next;
        }
        None
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.find(key, short_hash(key)).map(|i| &self.entries[i].item)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.find(key, short_hash(key)).is_some()
    }

    /// Looks `key` up once, for an update in place or an insert without hashing again.
    /// An update must keep the item's key.
    #[inline]
    pub fn slot(&mut self, key: &[u8]) -> Slot<'_, T> {
        let hash = short_hash(key);
        match self.find(key, hash) {
            Some(i) => Slot::Found(&mut self.entries[i].item),
            None => Slot::Vacant(Vacant { table: self, hash }),
        }
    }

    /// Adds `item`, whose key is known to be absent (e.g. when converting from another
    /// encoding).
    pub fn insert_new(&mut self, item: T) {
        let hash = short_hash(item.key());
        self.push_new(item, hash);
    }

    /// Removes `key`. Returns true when it was there.
    #[inline]
    pub fn remove(&mut self, key: &[u8]) -> bool {
        match self.find(key, short_hash(key)) {
            Some(i) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }
}

impl<T> DenseTable<T> {
    /// An empty table with room for `n` entries before it grows.
    pub fn with_capacity(n: usize) -> Self {
        let buckets = n.next_power_of_two().max(MIN_BUCKETS);
        DenseTable { entries: Vec::with_capacity(n), buckets: vec![NIL; buckets] }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn bucket(&self, hash: u32) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    fn push_new(&mut self, item: T, hash: u32) {
        let b = self.bucket(hash);
        let i = u32::try_from(self.entries.len()).ok().filter(|&i| i != NIL).expect("fewer than 2^32-1 entries");
        self.entries.push(Entry { item, hash, next: self.buckets[b] });
        self.buckets[b] = i;
        if self.entries.len() > self.buckets.len() {
            self.rehash(self.buckets.len() * 2);
        }
    }

    /// Removes the entry at position `i` (< len) and returns its item; the last entry
    /// takes its place.
    pub fn remove_at(&mut self, i: usize) -> T {
        self.repoint(self.entries[i].hash, i as u32, self.entries[i].next);
        let last = self.entries.len() - 1;
        if i != last {
            // The last entry moves into slot i: whoever points at `last` must point at i.
            self.repoint(self.entries[last].hash, last as u32, i as u32);
        }
        let entry = self.entries.swap_remove(i);
        if self.buckets.len() > MIN_BUCKETS && self.entries.len() * 10 < self.buckets.len() {
            self.rehash(self.entries.len().next_power_of_two().max(MIN_BUCKETS));
        }
        entry.item
    }

    /// Makes the link that points at entry `from` (whose hash is `hash`: a bucket head
    /// or a chain link) point at `to` instead.
    fn repoint(&mut self, hash: u32, from: u32, to: u32) {
        let b = self.bucket(hash);
        if self.buckets[b] == from {
            self.buckets[b] = to;
            return;
        }
        let mut i = self.buckets[b];
        while i != NIL {
            let e = &mut self.entries[i as usize];
            if e.next == from {
                e.next = to;
                return;
            }
            i = e.next;
        }
    }

    /// Rebuilds the chains over `buckets` buckets (a power of two).
    fn rehash(&mut self, buckets: usize) {
        self.buckets.clear();
        self.buckets.resize(buckets, NIL);
        for i in 0..self.entries.len() {
            let b = self.bucket(self.entries[i].hash);
            self.entries[i].next = self.buckets[b];
            self.buckets[b] = i as u32;
        }
    }

    /// The item at position `i` (< len) of the dense array: with a uniform `i`, a fair
    /// random pick.
    pub fn at(&self, i: usize) -> &T {
        &self.entries[i].item
    }

    /// Every item, in the order of the dense array.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self.entries.iter())
    }

    /// Visits the items of the bucket `cursor` names and returns the next cursor, 0
    /// when the walk is over.
    ///
    /// Buckets are visited in reverse-binary order (the cursor's bits are counted from
    /// the top down). A bucket of a table of size 2^k covers exactly the buckets of a
    /// table of size 2^(k+1) that share its low k bits, and those come right after it
    /// in that order; so when the table is resized between calls, every bucket already
    /// visited maps to buckets that are still behind the cursor. Hence the guarantee:
    /// a key present for the whole walk is returned at least once; after a shrink it
    /// may be returned again.
    pub fn scan_bucket<'a>(&'a self, cursor: u64, mut visit: impl FnMut(&'a T)) -> u64 {
        let mask = (self.buckets.len() - 1) as u64;
        let mut i = self.buckets[(cursor & mask) as usize];
        while i != NIL {
            let e = &self.entries[i as usize];
            visit(&e.item);
            i = e.next;
        }
        // Increment the reversed cursor over the bits the mask keeps.
        (cursor | !mask).reverse_bits().wrapping_add(1).reverse_bits()
    }

    /// One SCAN-family step from `cursor`: buckets are visited (see
    /// [`scan_bucket`](Self::scan_bucket)) until `count` items were found, the walk is
    /// over, or 10 × `count` buckets past the first were looked at (Redis's
    /// `scanGenericCommand` loop). Returns the cursor to continue from, 0 when done.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(&'a T)) -> u64 {
        let (mut cursor, mut found, mut budget) = (cursor, 0usize, count.saturating_mul(10));
        loop {
            cursor = self.scan_bucket(cursor, |item| {
                found += 1;
                visit(item);
            });
            if cursor == 0 || budget == 0 || found >= count {
                return cursor;
            }
            budget -= 1;
        }
    }
}

/// Iterator over a table's items, in dense-array order.
pub struct Iter<'a, T>(std::slice::Iter<'a, Entry<T>>);

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        self.0.next().map(|e| &e.item)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

impl<T> DenseTable<T> {
    /// The heap the table holds (MEMORY USAGE): its entry and bucket arrays, exactly,
    /// plus what `item_bytes` says each item holds, sampled over `samples` items.
    pub fn heap_bytes(&self, samples: usize, item_bytes: impl Fn(&T) -> usize) -> usize {
        use crate::heap_cost::{alloc_cost, sampled};
        let arrays = alloc_cost(self.entries.capacity() * std::mem::size_of::<Entry<T>>()) + alloc_cost(self.buckets.capacity() * 4);
        arrays + sampled(self.entries.len(), samples, self.entries.iter().map(|e| item_bytes(&e.item)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn key(i: usize) -> Vec<u8> {
        format!("field:{i}").into_bytes()
    }

    fn member(i: usize) -> Box<[u8]> {
        key(i).into()
    }

    /// A key with a value, as a hash keeps them.
    #[derive(Debug, Clone)]
    struct Pair(Box<[u8]>, u32);

    impl Keyed for Pair {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    /// Sets `k` to `v` as a hash does; true when new.
    fn put(t: &mut DenseTable<Pair>, k: &[u8], v: u32) -> bool {
        match t.slot(k) {
            Slot::Found(old) => {
                old.1 = v;
                false
            }
            Slot::Vacant(slot) => {
                slot.insert(Pair(k.into(), v));
                true
            }
        }
    }

    /// Every chain reaches each entry exactly once, from the bucket its hash names.
    fn assert_chains_consistent<V>(t: &DenseTable<V>) {
        let mut seen = vec![false; t.len()];
        for (b, &head) in t.buckets.iter().enumerate() {
            let mut i = head;
            while i != NIL {
                let e = &t.entries[i as usize];
                assert_eq!(t.bucket(e.hash), b);
                assert!(!std::mem::replace(&mut seen[i as usize], true), "entry {i} linked twice");
                i = e.next;
            }
        }
        assert!(seen.iter().all(|&s| s), "an entry is in no chain");
        assert!(t.buckets.len().is_power_of_two() && t.buckets.len() >= MIN_BUCKETS);
        assert!(t.len() <= t.buckets.len());
    }

    #[test]
    fn insert_update_remove_grow_and_shrink() {
        let mut t = DenseTable::with_capacity(0);
        for i in 0..1000 {
            assert!(put(&mut t, &key(i), i as u32));
        }
        assert_eq!(t.buckets.len(), 1024);
        assert!(!put(&mut t, &key(7), 77));
        assert_eq!(t.get(&key(7)).map(|p| p.1), Some(77));
        assert_eq!(t.len(), 1000);
        for i in (0..1000).step_by(2) {
            assert!(t.remove(&key(i)));
            assert!(!t.remove(&key(i)));
        }
        assert_chains_consistent(&t);
        for i in 0..1000 {
            assert_eq!(t.contains(&key(i)), i % 2 == 1, "key {i}");
        }
        // Down to under 10% of 1024 buckets: shrinks to fit.
        for i in (201..1000).step_by(2) {
            assert!(t.remove(&key(i)));
        }
        assert_eq!((t.len(), t.buckets.len()), (100, 128));
        for i in (1..200).step_by(2) {
            assert!(t.remove(&key(i)));
        }
        assert_eq!((t.len(), t.buckets.len()), (0, MIN_BUCKETS));
    }

    #[test]
    fn random_ops_match_a_std_hashmap() {
        let mut t: DenseTable<Pair> = DenseTable::with_capacity(3);
        let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut x: u64 = 7;
        for step in 0..30_000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = format!("k{}", (x >> 33) % 2000).into_bytes();
            match (x >> 20) % 5 {
                0 | 1 => assert_eq!(t.remove(&k), model.remove(&k).is_some()),
                2 if !t.is_empty() => {
                    let i = (x >> 40) as usize % t.len();
                    let Pair(k, v) = t.remove_at(i);
                    assert_eq!(model.remove(&*k), Some(v));
                }
                _ => assert_eq!(put(&mut t, &k, step), model.insert(k.clone(), step).is_none()),
            }
            assert_eq!(t.len(), model.len());
            if step % 1000 == 0 {
                assert_chains_consistent(&t);
            }
        }
        assert_chains_consistent(&t);
        let got: HashMap<Vec<u8>, u32> = t.iter().map(|p| (p.0.to_vec(), p.1)).collect();
        assert_eq!(got, model);
        for (k, v) in &model {
            assert_eq!(t.get(k).map(|p| p.1), Some(*v));
        }
    }

    #[test]
    fn dense_positions_and_iteration_follow_the_array() {
        let mut t = DenseTable::with_capacity(4);
        for i in 0..50 {
            t.insert_new(member(i));
        }
        // Iteration is insertion order until a removal moves the last entry.
        assert!(t.iter().map(|k| k.to_vec()).eq((0..50).map(key)));
        assert_eq!(t.remove_at(3).to_vec(), key(3));
        assert_eq!(&**t.at(3), &key(49)[..]);
        assert_eq!(t.iter().len(), 49);
        let all: HashSet<Vec<u8>> = (0..t.len()).map(|i| t.at(i).to_vec()).collect();
        assert_eq!(all.len(), 49);
        assert!(t.iter().eq((0..t.len()).map(|i| t.at(i))));
    }

    /// A set's table.
    type Members = DenseTable<Box<[u8]>>;

    /// Follows the cursor from 0 to the end, calling `between` after each step.
    fn scan_all(mut t: Members, count: usize, between: &mut dyn FnMut(&mut Members)) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = t.scan(cursor, count, |k| seen.push(k.to_vec()));
            if cursor == 0 {
                return seen;
            }
            between(&mut t);
        }
    }

    #[test]
    fn scan_visits_each_bucket_once_then_wraps() {
        let mut t = DenseTable::with_capacity(0);
        for i in 0..100 {
            t.insert_new(member(i));
        }
        let (mut cursor, mut seen, mut steps) = (0, 0, 0);
        loop {
            cursor = t.scan_bucket(cursor, |_| seen += 1);
            steps += 1;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!((seen, steps), (100, t.buckets.len()));
        let once = scan_all(t, 7, &mut |_| {});
        assert_eq!(once.iter().collect::<HashSet<_>>().len(), 100);
        assert_eq!(once.len(), 100);
    }

    #[test]
    fn scan_covers_keys_across_resizes() {
        let mut t = DenseTable::with_capacity(0);
        for i in 0..1000 {
            t.insert_new(member(i));
        }
        let mut n = 1000;
        let grow = scan_all(t.clone(), 5, &mut |t| {
            for _ in 0..50 {
                t.insert_new(member(n));
                n += 1;
            }
        });
        let grow: HashSet<_> = grow.into_iter().collect();
        assert!((0..1000).all(|i| grow.contains(&key(i))));
        let mut gone = 999;
        let shrink = scan_all(t, 5, &mut |t| {
            for _ in 0..40 {
                if gone > 100 {
                    t.remove(&key(gone));
                    gone -= 1;
                }
            }
        });
        let shrink: HashSet<_> = shrink.into_iter().collect();
        assert!((0..=100).all(|i| shrink.contains(&key(i))));
    }

    #[test]
    fn scan_step_stops_at_count_or_bucket_budget() {
        let mut t = DenseTable::with_capacity(0);
        for i in 0..1000 {
            t.insert_new(member(i));
        }
        let mut found = 0;
        t.scan(0, 10, |_| found += 1);
        assert!((10..1000).contains(&found), "{found}");
        // One entry in many buckets: at most 10 * count + 1 buckets per step.
        let mut sparse = DenseTable::with_capacity(1 << 12);
        sparse.insert_new(member(0));
        let (mut cursor, mut steps) = (0, 0);
        loop {
            cursor = sparse.scan(cursor, 1, |_| {});
            steps += 1;
            if cursor == 0 {
                break;
            }
        }
        assert!(steps >= (1 << 12) / 11, "{steps}");
    }

    #[test]
    fn an_entry_of_a_boxed_slice_is_three_words() {
        assert_eq!(std::mem::size_of::<Entry<Box<[u8]>>>(), 24);
    }
}
