//! The `hashtable` form of a hash: chained buckets over one dense array of entries.
//!
//! Entries stay contiguous (a removal moves the last entry into the hole), so an entry
//! can be picked at random in O(1) and fairly, and iteration is a walk over an array.
//! Each bucket holds the index of the first entry of its chain. The table doubles when
//! it holds more entries than buckets and shrinks to fit when under 1/8 full.
//! [`Table::scan_bucket`] walks buckets in Redis's reverse-binary cursor order, which
//! keeps HSCAN's guarantee across resizes (see there).

use std::sync::OnceLock;

/// "No entry" in a bucket head or a chain link.
const NIL: u32 = u32::MAX;
/// The smallest bucket array.
const MIN_BUCKETS: usize = 4;

#[derive(Debug, Clone)]
struct Entry {
    field: Box<[u8]>,
    value: Box<[u8]>,
    /// The low 32 bits of the field's hash (enough to pick among 2^32 buckets).
    hash: u32,
    /// The next entry of the same bucket, or NIL.
    next: u32,
}

/// A hash table of field -> value.
#[derive(Debug, Clone)]
pub struct Table {
    entries: Vec<Entry>,
    buckets: Vec<u32>,
}

/// The field hash: one process-wide random key, so bucket order differs between runs
/// (as Redis's siphash seed does) and crafted fields cannot be aimed at one bucket.
fn hash_of(field: &[u8]) -> u32 {
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new).hash_one(field) as u32
}

impl Table {
    /// An empty table with room for `n` entries before it grows.
    pub fn with_capacity(n: usize) -> Self {
        let buckets = n.next_power_of_two().max(MIN_BUCKETS);
        Table { entries: Vec::with_capacity(n), buckets: vec![NIL; buckets] }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn bucket(&self, hash: u32) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    /// Index of the entry holding `field`.
    fn find(&self, field: &[u8], hash: u32) -> Option<usize> {
        let mut i = self.buckets[self.bucket(hash)];
        while i != NIL {
            let e = &self.entries[i as usize];
            if e.hash == hash && *e.field == *field {
                return Some(i as usize);
            }
            i = e.next;
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field, hash_of(field)).map(|i| &*self.entries[i].value)
    }

    /// Sets `field` to `value`. Returns true when the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let hash = hash_of(field);
        if let Some(i) = self.find(field, hash) {
            let old = &mut self.entries[i].value;
            if old.len() == value.len() {
                old.copy_from_slice(value);
            } else {
                *old = value.into();
            }
            return false;
        }
        let b = self.bucket(hash);
        self.entries.push(Entry { field: field.into(), value: value.into(), hash, next: self.buckets[b] });
        self.buckets[b] = (self.entries.len() - 1) as u32;
        if self.entries.len() > self.buckets.len() {
            self.rehash(self.buckets.len() * 2);
        }
        true
    }

    /// Removes `field`. Returns true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let hash = hash_of(field);
        let Some(i) = self.find(field, hash) else { return false };
        self.repoint(hash, i as u32, self.entries[i].next);
        let last = self.entries.len() - 1;
        self.entries.swap_remove(i);
        if i != last {
            // The last entry moved into slot i: whoever pointed at `last` now points at i.
            self.repoint(self.entries[i].hash, last as u32, i as u32);
        }
        let fit = self.entries.len().next_power_of_two().max(MIN_BUCKETS);
        if self.entries.len() * 8 < self.buckets.len() && fit < self.buckets.len() {
            self.rehash(fit);
        }
        true
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
        self.buckets = vec![NIL; buckets];
        for i in 0..self.entries.len() {
            let b = self.bucket(self.entries[i].hash);
            self.entries[i].next = self.buckets[b];
            self.buckets[b] = i as u32;
        }
    }

    /// The entry at position `i` (< len) of the dense array.
    pub fn at(&self, i: usize) -> (&[u8], &[u8]) {
        let e = &self.entries[i];
        (&e.field, &e.value)
    }

    /// Every entry, in the order of the dense array.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries.iter().map(|e| (&*e.field, &*e.value))
    }

    /// Visits the entries of the bucket `cursor` names and returns the next cursor, 0
    /// when the walk is over.
    ///
    /// Buckets are visited in reverse-binary order (the cursor's bits are counted from
    /// the top down). A bucket of a table of size 2^k covers exactly the buckets of a
    /// table of size 2^(k+1) that share its low k bits, and those come right after it
    /// in that order; so when the table is resized between calls, every bucket already
    /// visited maps to buckets that are still behind the cursor. Hence HSCAN's
    /// guarantee: a field present for the whole walk is returned at least once; after
    /// a shrink it may be returned again.
    pub fn scan_bucket<'a>(&'a self, cursor: u64, mut visit: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        let mask = (self.buckets.len() - 1) as u64;
        let mut i = self.buckets[(cursor & mask) as usize];
        while i != NIL {
            let e = &self.entries[i as usize];
            visit(&e.field, &e.value);
            i = e.next;
        }
        // Increment the reversed cursor over the bits the mask keeps.
        let mut v = cursor | !mask;
        v = v.reverse_bits().wrapping_add(1).reverse_bits();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(i: usize) -> Vec<u8> {
        format!("field:{i}").into_bytes()
    }

    #[test]
    fn insert_update_remove_keep_chains_consistent() {
        let mut t = Table::with_capacity(0);
        for i in 0..1000 {
            assert!(t.insert(&field(i), format!("{i}").as_bytes()));
        }
        assert!(!t.insert(&field(7), b"seven"));
        assert_eq!(t.get(&field(7)), Some(&b"seven"[..]));
        assert_eq!(t.len(), 1000);
        for i in (0..1000).step_by(2) {
            assert!(t.remove(&field(i)));
            assert!(!t.remove(&field(i)));
        }
        assert_eq!(t.len(), 500);
        for i in 0..1000 {
            assert_eq!(t.get(&field(i)).is_some(), i % 2 == 1, "field {i}");
        }
        for i in (1..1000).step_by(2) {
            assert!(t.remove(&field(i)));
        }
        assert_eq!((t.len(), t.buckets.len()), (0, MIN_BUCKETS));
    }

    #[test]
    fn dense_positions_cover_every_entry() {
        let mut t = Table::with_capacity(4);
        for i in 0..50 {
            t.insert(&field(i), b"v");
        }
        t.remove(&field(3));
        let mut all: Vec<Vec<u8>> = (0..t.len()).map(|i| t.at(i).0.to_vec()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 49);
    }

    #[test]
    fn scan_cursor_wraps_to_zero() {
        let mut t = Table::with_capacity(0);
        for i in 0..100 {
            t.insert(&field(i), b"v");
        }
        let (mut cursor, mut seen, mut steps) = (0, 0, 0);
        loop {
            cursor = t.scan_bucket(cursor, |_, _| seen += 1);
            steps += 1;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!((seen, steps), (100, t.buckets.len()));
    }
}
