//! The set data structure, in Redis 7.0's two encodings.
//!
//! - `intset`: a sorted array of `i64`, used while every member is a canonical decimal
//!   integer (Redis's `string2ll` form: no sign but '-', no leading zero) and there are
//!   at most [`MAX_INTSET_ENTRIES`]. It iterates in ascending numeric order, as Redis.
//! - `hashtable`: a [`DenseTable`] of members: O(1) fair random picks
//!   by position, iteration over one array, SSCAN's cursor order. A set never goes
//!   back from `hashtable` to `intset` (Redis doesn't either).

use super::dense::{self, DenseTable, Slot};
use crate::num::parse_i64;

/// The `hashtable` form: the members.
type Table = DenseTable<Box<[u8]>>;

/// Redis's `set-max-intset-entries` default: an intset holds at most this many members.
pub const MAX_INTSET_ENTRIES: usize = 512;

/// A set value.
#[derive(Debug, Clone)]
pub struct Set {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Ints(Vec<i64>),
    Table(Table),
}

/// A member as the set stores it: intset members are numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes (an integer in decimal).
    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Calls `f` with the member's bytes, formatting an integer on the stack.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Bytes(b) => f(b),
            Member::Int(n) => {
                let mut buf = [0u8; 20];
                f(crate::num::format_i64(n, &mut buf))
            }
        }
    }
}

impl Default for Set {
    fn default() -> Self {
        Set::new()
    }
}

impl PartialEq for Set {
    /// Equal as sets: the same members, whatever the encodings.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(m))
    }
}

impl Set {
    /// An empty set, encoded as an intset until a member needs otherwise.
    pub const fn new() -> Self {
        Set { repr: Repr::Ints(Vec::new()) }
    }

    /// The name OBJECT ENCODING reports for this value.
    pub fn encoding_name(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_intset(&self) -> bool {
        matches!(self.repr, Repr::Ints(_))
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => parse_i64(member).is_some_and(|n| v.binary_search(&n).is_ok()),
            Repr::Table(t) => t.contains(member),
        }
    }

    /// Like [`contains`](Self::contains), for a member of another set.
    pub fn contains_member(&self, member: Member<'_>) -> bool {
        match (&self.repr, member) {
            (Repr::Ints(v), Member::Int(n)) => v.binary_search(&n).is_ok(),
            _ => member.with_bytes(|b| self.contains(b)),
        }
    }

    /// Adds `member`; false when it was already there. Converts an intset to a hash
    /// table when the member is not an integer or the intset is full.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if let Repr::Ints(v) = &mut self.repr {
            if let Some(n) = parse_i64(member) {
                match v.binary_search(&n) {
                    Ok(_) => return false,
                    Err(at) if v.len() < MAX_INTSET_ENTRIES => {
                        v.insert(at, n);
                        return true;
                    }
                    Err(_) => {}
                }
            }
            self.convert_to_hashtable();
        }
        match &mut self.repr {
            Repr::Table(t) => match t.slot(member) {
                Slot::Found(_) => false,
                Slot::Vacant(slot) => {
                    slot.insert(member.into());
                    true
                }
            },
            Repr::Ints(_) => unreachable!("converted above"),
        }
    }

    /// Like [`insert`](Self::insert), for a member of another set.
    pub fn insert_member(&mut self, member: Member<'_>) -> bool {
        match (&mut self.repr, member) {
            (Repr::Ints(v), Member::Int(n)) if v.len() < MAX_INTSET_ENTRIES => match v.binary_search(&n) {
                Ok(_) => false,
                Err(at) => {
                    v.insert(at, n);
                    true
                }
            },
            _ => member.with_bytes(|b| self.insert(b)),
        }
    }

    /// Removes `member`; false when it was not there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match parse_i64(member).map(|n| v.binary_search(&n)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
            Repr::Table(t) => t.remove(member),
        }
    }

    /// Like [`remove`](Self::remove), for a member of another set.
    pub fn remove_member(&mut self, member: Member<'_>) -> bool {
        match (&mut self.repr, member) {
            (Repr::Ints(v), Member::Int(n)) => match v.binary_search(&n) {
                Ok(at) => {
                    v.remove(at);
                    true
                }
                Err(_) => false,
            },
            _ => member.with_bytes(|b| self.remove(b)),
        }
    }

    /// The member at position `i` of the iteration order (`i < len`): with a uniform
    /// `i`, a fair random pick.
    pub fn member_at(&self, i: usize) -> Member<'_> {
        match &self.repr {
            Repr::Ints(v) => Member::Int(v[i]),
            Repr::Table(t) => Member::Bytes(t.at(i)),
        }
    }

    /// Removes and returns the member at position `i` (`i < len`).
    pub fn take_at(&mut self, i: usize) -> Vec<u8> {
        match &mut self.repr {
            Repr::Ints(v) => Member::Int(v.remove(i)).to_vec(),
            Repr::Table(t) => t.remove_at(i).into_vec(),
        }
    }

    /// Every member: ascending for an intset, in storage order for a hash table.
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Ints(v) => Iter(Walk::Ints(v.iter())),
            Repr::Table(t) => Iter(Walk::Table(t.iter())),
        }
    }

    /// Switches to the hash-table encoding (what Redis does when an intset outgrows it).
    pub fn convert_to_hashtable(&mut self) {
        if let Repr::Ints(v) = &self.repr {
            let mut t = Table::with_capacity(v.len() + 1);
            for &n in v {
                t.insert_new(Member::Int(n).to_vec().into_boxed_slice());
            }
            self.repr = Repr::Table(t);
        }
    }

    /// One step of SSCAN from `cursor`: calls `visit` on the members found and returns
    /// the cursor to continue from, 0 when done.
    ///
    /// An intset is returned whole, with cursor 0, whatever the cursor (as Redis). A
    /// hash table is walked bucket by bucket in reverse-binary order of the bucket
    /// index (Redis's `dictScan`), until `count` members were found or 10 × `count`
    /// buckets were visited. Guarantee: a member present from the first call to the
    /// last is returned at least once, even if the table grew or shrank in between;
    /// after a resize some members may be returned twice.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(Member<'a>)) -> u64 {
        let t = match &self.repr {
            Repr::Ints(v) => {
                v.iter().for_each(|&n| visit(Member::Int(n)));
                return 0;
            }
            Repr::Table(t) => t,
        };
        t.scan(cursor, count, |m| visit(Member::Bytes(m)))
    }
}

/// Iterator over a set's members.
pub struct Iter<'a>(Walk<'a>);

enum Walk<'a> {
    Ints(std::slice::Iter<'a, i64>),
    Table(dense::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.0 {
            Walk::Ints(it) => it.next().map(|&n| Member::Int(n)),
            Walk::Table(it) => it.next().map(|m| Member::Bytes(m)),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            Walk::Ints(it) => it.size_hint(),
            Walk::Table(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Set {
    /// The heap this set holds (MEMORY USAGE): the intset's array, or the table and
    /// each member's allocation (sampled).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::heap_cost::alloc_cost;
        match &self.repr {
            Repr::Ints(v) => alloc_cost(v.capacity() * 8),
            Repr::Table(t) => t.heap_bytes(samples, |m| alloc_cost(m.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn members(s: &Set) -> Vec<Vec<u8>> {
        s.iter().map(|m| m.to_vec()).collect()
    }

    #[test]
    fn intset_stays_sorted_until_it_must_convert() {
        let mut s = Set::new();
        for m in ["3", "-1", "2", "3", "9223372036854775807", "-9223372036854775808"] {
            s.insert(m.as_bytes());
        }
        assert_eq!(s.encoding_name(), "intset");
        assert_eq!(members(&s), [&b"-9223372036854775808"[..], b"-1", b"2", b"3", b"9223372036854775807"]);
        assert!(s.contains(b"2") && !s.contains(b"02") && !s.contains(b"x"));
        // Not canonical integers: a hash table from then on, even after removal.
        for m in ["07", "+1", "-0", " 1", "9223372036854775808"] {
            let mut t = s.clone();
            assert!(t.insert(m.as_bytes()), "{m}");
            assert_eq!(t.encoding_name(), "hashtable");
            assert!(t.contains(b"2") && t.contains(m.as_bytes()));
            assert!(t.remove(m.as_bytes()));
            assert_eq!(t.encoding_name(), "hashtable");
            assert_eq!(t, s);
        }
    }

    #[test]
    fn intset_converts_past_the_limit() {
        let mut s = Set::new();
        for i in 0..MAX_INTSET_ENTRIES as i64 {
            assert!(s.insert(i.to_string().as_bytes()));
        }
        assert_eq!(s.encoding_name(), "intset");
        assert!(!s.insert(b"0"));
        assert!(s.insert_member(Member::Int(-5)));
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(s.len(), MAX_INTSET_ENTRIES + 1);
        assert!(s.contains(b"-5") && s.contains(b"511") && !s.contains(b"512"));
    }

    #[test]
    fn table_insert_remove_and_random_access() {
        let mut s = Set::new();
        s.insert(b"a");
        let mut model = HashSet::new();
        model.insert(b"a".to_vec());
        let mut x: u64 = 7;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let m = format!("m{}", (x >> 33) % 3000).into_bytes();
            if (x >> 20) % 3 == 0 {
                assert_eq!(s.remove(&m), model.remove(&m));
            } else {
                assert_eq!(s.insert(&m), model.insert(m.clone()));
            }
            assert_eq!(s.len(), model.len());
        }
        let got: HashSet<Vec<u8>> = members(&s).into_iter().collect();
        assert_eq!(got, model);
        while !s.is_empty() {
            let i = (s.len() * 7 / 13).min(s.len() - 1);
            let m = s.member_at(i).to_vec();
            assert_eq!(s.take_at(i), m);
            assert!(model.remove(&m) && !s.contains(&m));
        }
        assert!(model.is_empty());
        assert_eq!(s.encoding_name(), "hashtable");
    }

    #[test]
    fn big_and_tiny_members() {
        let mut s = Set::new();
        let big = vec![b'x'; 1 << 20];
        assert!(s.insert(&big) && s.insert(b"") && s.insert(b"\0"));
        assert!(s.contains(&big) && s.contains(b"") && !s.contains(b"x"));
        assert!(s.remove(&big));
        assert_eq!(s.len(), 2);
    }

    /// Follows the cursor from 0 to the end, calling `between` after each step.
    fn scan_all(mut set: Set, count: usize, between: &mut dyn FnMut(&mut Set)) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = set.scan(cursor, count, |m| seen.push(m.to_vec()));
            if cursor == 0 {
                return seen;
            }
            between(&mut set);
        }
    }

    #[test]
    fn scan_covers_members_across_resizes() {
        let mut s = Set::new();
        for i in 0..1000 {
            s.insert(format!("k{i}").as_bytes());
        }
        // No change between steps: every member exactly once.
        let seen = scan_all(s.clone(), 10, &mut |_| {});
        assert_eq!(seen.len(), 1000);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 1000);
        // Growing and shrinking between steps: the first 1000 members are all seen.
        let mut n = 1000;
        let grow = scan_all(s.clone(), 5, &mut |t| {
            for _ in 0..50 {
                t.insert(format!("k{n}").as_bytes());
                n += 1;
            }
        });
        let grow: HashSet<_> = grow.into_iter().collect();
        assert!((0..1000).all(|i| grow.contains(format!("k{i}").as_bytes())));
        let mut gone = 999;
        let shrink = scan_all(s.clone(), 5, &mut |t| {
            for _ in 0..40 {
                if gone > 100 {
                    t.remove(format!("k{gone}").as_bytes());
                    gone -= 1;
                }
            }
        });
        let shrink: HashSet<_> = shrink.into_iter().collect();
        assert!((0..=100).all(|i| shrink.contains(format!("k{i}").as_bytes())));
    }

    #[test]
    fn intset_scan_is_whole() {
        let mut s = Set::new();
        s.insert(b"2");
        s.insert(b"1");
        let mut seen = Vec::new();
        assert_eq!(s.scan(12345, 1, |m| seen.push(m.to_vec())), 0);
        assert_eq!(seen, [b"1".to_vec(), b"2".to_vec()]);
    }
}
