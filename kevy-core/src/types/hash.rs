//! The hash data structure, in Redis 7.0's two encodings.
//!
//! - `listpack`: every field and value back to back in one buffer, in insertion order
//!   (an update keeps the field's place, a removal keeps the order of the rest). Used
//!   while the hash has at most [`MAX_LISTPACK_ENTRIES`] fields and no field or value
//!   longer than [`MAX_LISTPACK_VALUE`] bytes (Redis's `hash-max-listpack-*`
//!   defaults). Lookups walk the buffer, as Redis's do; HGETALL and friends answer in
//!   insertion order, byte for byte as Redis.
//! - `hashtable`: a [`DenseTable`] of [`FieldValue`]s (a field and its value in one
//!   allocation). A hash never goes back to `listpack` (nor does Redis's).

use super::dense::{self, DenseTable, Keyed, Slot};

/// The `hashtable` form: field -> value.
type Table = DenseTable<FieldValue>;

/// Redis's built-in `hash-max-listpack-entries` default (what redis-server uses
/// without a config file; the sample redis.conf sets 128).
pub const MAX_LISTPACK_ENTRIES: usize = 512;
/// Redis's `hash-max-listpack-value` default: the longest field or value a listpack
/// holds, in bytes.
pub const MAX_LISTPACK_VALUE: usize = 64;

/// A hash value: fields mapped to values, both byte strings.
#[derive(Debug, Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Pack(Pack),
    Table(Table),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

/// Two hashes are equal when they map the same fields to the same values, whatever
/// their encoding or order.
impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Hash {
    /// An empty hash (a listpack).
    pub fn new() -> Self {
        Hash { repr: Repr::Pack(Pack::default()) }
    }

    /// The name OBJECT ENCODING reports for this value.
    pub fn encoding_name(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.len,
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Pack(p) => p.find(field).map(|at| p.value_at(at)),
            Repr::Table(t) => t.get(field).map(FieldValue::value),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`. Returns true when the field is new. A field or value
    /// too long for a listpack, or one field too many, turns it into a hashtable.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if field.len() > MAX_LISTPACK_VALUE || value.len() > MAX_LISTPACK_VALUE {
            self.convert_to_table();
        }
        match &mut self.repr {
            Repr::Pack(p) => {
                let added = p.insert(field, value);
                if p.len > MAX_LISTPACK_ENTRIES {
                    self.convert_to_table();
                }
                added
            }
            Repr::Table(t) => table_insert(t, field, value),
        }
    }

    /// Removes `field`. Returns true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(p) => p.remove(field),
            Repr::Table(t) => t.remove(field),
        }
    }

    /// Every (field, value): insertion order for a listpack, table order otherwise.
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Pack(p) => Iter::Pack(PackIter { buf: &p.buf, pos: 0 }),
            Repr::Table(t) => Iter::Table(t.iter()),
        }
    }

    /// Random access by position, for picking entries at random: O(1) per access
    /// (a listpack is indexed once, at most 512 entries).
    pub fn positions(&self) -> Positions<'_> {
        match &self.repr {
            Repr::Pack(_) => Positions::Listed(self.iter().collect()),
            Repr::Table(t) => Positions::Table(t),
        }
    }

    /// One HSCAN step from `cursor`, visiting about `count` entries; returns the next
    /// cursor, 0 when the walk is over. A listpack is visited whole in one step (the
    /// cursor is ignored), as Redis does. A hashtable is walked bucket by bucket in
    /// reverse-binary order, stopping once `count` entries were visited or `10 * count`
    /// buckets looked at: every field present for the whole walk is visited at least
    /// once, even if the table grows or shrinks between steps (see
    /// [`DenseTable::scan_bucket`]).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        let t = match &self.repr {
            Repr::Pack(_) => {
                self.iter().for_each(|(f, v)| visit(f, v));
                return 0;
            }
            Repr::Table(t) => t,
        };
        t.scan(cursor, count, |fv| visit(fv.field(), fv.value()))
    }

    fn convert_to_table(&mut self) {
        if let Repr::Pack(p) = &self.repr {
            let mut t = Table::with_capacity(p.len);
            for (f, v) in (PackIter { buf: &p.buf, pos: 0 }) {
                t.insert_new(FieldValue::new(f, v));
            }
            self.repr = Repr::Table(t);
        }
    }
}

/// Sets `field` to `value` in a table; true when the field is new.
fn table_insert(t: &mut Table, field: &[u8], value: &[u8]) -> bool {
    match t.slot(field) {
        Slot::Found(old) => {
            old.set_value(value);
            false
        }
        Slot::Vacant(slot) => {
            slot.insert(FieldValue::new(field, value));
            true
        }
    }
}

/// A field and its value in one allocation (one malloc per entry, not two):
/// `[field length, LEB128][field][value]`.
#[derive(Debug, Clone)]
pub struct FieldValue(Box<[u8]>);

impl FieldValue {
    fn new(field: &[u8], value: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(leb128_len(field.len()) + field.len() + value.len());
        let mut n = field.len();
        while n >= 0x80 {
            bytes.push(n as u8 | 0x80);
            n >>= 7;
        }
        bytes.push(n as u8);
        bytes.extend_from_slice(field);
        bytes.extend_from_slice(value);
        FieldValue(bytes.into_boxed_slice())
    }

    /// Where the field starts and ends (the value runs from its end).
    #[inline]
    fn field_range(&self) -> (usize, usize) {
        let b = &self.0;
        if b[0] < 0x80 {
            return (1, 1 + b[0] as usize);
        }
        let (mut len, mut shift, mut i) = (0usize, 0, 0);
        loop {
            len |= ((b[i] & 0x7f) as usize) << shift;
            i += 1;
            if b[i - 1] < 0x80 {
                return (i, i + len);
            }
            shift += 7;
        }
    }

    pub fn field(&self) -> &[u8] {
        let (start, end) = self.field_range();
        &self.0[start..end]
    }

    pub fn value(&self) -> &[u8] {
        &self.0[self.field_range().1..]
    }

    /// Replaces the value: in place when the length is the same (no allocation).
    fn set_value(&mut self, value: &[u8]) {
        let end = self.field_range().1;
        if self.0.len() - end == value.len() {
            self.0[end..].copy_from_slice(value);
        } else {
            let mut bytes = Vec::with_capacity(end + value.len());
            bytes.extend_from_slice(&self.0[..end]);
            bytes.extend_from_slice(value);
            self.0 = bytes.into_boxed_slice();
        }
    }
}

impl Keyed for FieldValue {
    #[inline]
    fn key(&self) -> &[u8] {
        self.field()
    }
}

/// How many bytes the LEB128 form of `n` takes.
fn leb128_len(n: usize) -> usize {
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
}

/// The entries of a hash, by position.
pub enum Positions<'a> {
    Listed(Vec<(&'a [u8], &'a [u8])>),
    Table(&'a Table),
}

impl<'a> Positions<'a> {
    pub fn len(&self) -> usize {
        match self {
            Positions::Listed(v) => v.len(),
            Positions::Table(t) => t.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The entry at `i` (< len).
    pub fn at(&self, i: usize) -> (&'a [u8], &'a [u8]) {
        match self {
            Positions::Listed(v) => v[i],
            Positions::Table(t) => {
                let fv = t.at(i);
                (fv.field(), fv.value())
            }
        }
    }
}

/// Iterator over a hash's (field, value) pairs.
pub enum Iter<'a> {
    Pack(PackIter<'a>),
    Table(dense::Iter<'a, FieldValue>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack(p) => p.next(),
            Iter::Table(t) => t.next().map(|fv| (fv.field(), fv.value())),
        }
    }
}

// ---------------------------------------------------------------------------------
// The listpack form

/// Entries back to back: `[field len][field][value len][value]`, each length one byte
/// (a listpack holds nothing longer than [`MAX_LISTPACK_VALUE`] bytes).
#[derive(Debug, Clone, Default)]
struct Pack {
    buf: Vec<u8>,
    len: usize,
}

/// Where an entry lies in the buffer: its start, and its value's start and length.
#[derive(Clone, Copy)]
struct At {
    start: usize,
    value: usize,
    value_len: usize,
}

impl Pack {
    /// Where `field`'s entry is.
    fn find(&self, field: &[u8]) -> Option<At> {
        let buf = &self.buf;
        let mut pos = 0;
        while pos < buf.len() {
            let flen = buf[pos] as usize;
            let value = pos + 1 + flen + 1;
            let value_len = buf[value - 1] as usize;
            if &buf[pos + 1..pos + 1 + flen] == field {
                return Some(At { start: pos, value, value_len });
            }
            pos = value + value_len;
        }
        None
    }

    fn value_at(&self, at: At) -> &[u8] {
        &self.buf[at.value..at.value + at.value_len]
    }

    /// Sets `field` (both at most 64 bytes); true when new, appended at the end.
    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(at) if at.value_len == value.len() => {
                self.buf[at.value..at.value + at.value_len].copy_from_slice(value);
                false
            }
            Some(at) => {
                let new = std::iter::once(value.len() as u8).chain(value.iter().copied());
                self.buf.splice(at.value - 1..at.value + at.value_len, new);
                false
            }
            None => {
                self.buf.push(field.len() as u8);
                self.buf.extend_from_slice(field);
                self.buf.push(value.len() as u8);
                self.buf.extend_from_slice(value);
                self.len += 1;
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(at) = self.find(field) else { return false };
        self.buf.drain(at.start..at.value + at.value_len);
        self.len -= 1;
        true
    }
}

/// Iterator over a listpack's entries, in order.
pub struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let buf = self.buf;
        if self.pos >= buf.len() {
            return None;
        }
        let f = self.pos + 1;
        let flen = buf[self.pos] as usize;
        let v = f + flen + 1;
        let vlen = buf[v - 1] as usize;
        self.pos = v + vlen;
        Some((&buf[f..f + flen], &buf[v..v + vlen]))
    }
}

impl Hash {
    /// The heap this hash holds (MEMORY USAGE): one buffer as a listpack; the table
    /// and each field-value allocation (sampled) as a hashtable.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::heap_cost::alloc_cost;
        match &self.repr {
            Repr::Pack(p) => alloc_cost(p.buf.capacity()),
            Repr::Table(t) => t.heap_bytes(samples, |fv| alloc_cost(fv.0.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(h: &Hash) -> Vec<(String, String)> {
        h.iter().map(|(f, v)| (String::from_utf8_lossy(f).into(), String::from_utf8_lossy(v).into())).collect()
    }

    fn p(f: &str, v: &str) -> (String, String) {
        (f.into(), v.into())
    }

    #[test]
    fn listpack_keeps_insertion_order() {
        let mut h = Hash::new();
        assert!(h.insert(b"a", b"1"));
        assert!(h.insert(b"b", b"2"));
        assert!(h.insert(b"c", b"3"));
        assert!(!h.insert(b"a", b"one")); // longer: spliced in place
        assert!(!h.insert(b"b", b"9")); // same length: overwritten
        assert!(!h.insert(b"c", b"")); // shorter
        assert_eq!(pairs(&h), [p("a", "one"), p("b", "9"), p("c", "")]);
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(pairs(&h), [p("a", "one"), p("c", "")]);
        assert!(h.insert(b"b", b"2"));
        assert_eq!(pairs(&h), [p("a", "one"), p("c", ""), p("b", "2")]);
        assert_eq!((h.get(b"c"), h.get(b"x"), h.len()), (Some(&b""[..]), None, 3));
        assert_eq!(h.encoding_name(), "listpack");
    }

    #[test]
    fn converts_on_size_limits_and_never_back() {
        let mut h = Hash::new();
        for i in 0..MAX_LISTPACK_ENTRIES {
            h.insert(format!("f{i}").as_bytes(), b"v");
        }
        assert_eq!(h.encoding_name(), "listpack");
        h.insert(b"one more", b"v");
        assert_eq!((h.encoding_name(), h.len()), ("hashtable", MAX_LISTPACK_ENTRIES + 1));
        for i in 0..MAX_LISTPACK_ENTRIES {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!((h.encoding_name(), h.len()), ("hashtable", 1));

        let mut h = Hash::new();
        h.insert(b"f", &[b'x'; MAX_LISTPACK_VALUE]);
        h.insert(&[b'y'; MAX_LISTPACK_VALUE], b"v");
        assert_eq!(h.encoding_name(), "listpack");
        h.insert(b"g", &[b'x'; MAX_LISTPACK_VALUE + 1]);
        assert_eq!(h.encoding_name(), "hashtable");
        let mut h2 = Hash::new();
        h2.insert(&[b'z'; MAX_LISTPACK_VALUE + 1], b"");
        assert_eq!(h2.encoding_name(), "hashtable");
    }

    #[test]
    fn equality_ignores_encoding_and_order() {
        let (mut a, mut b) = (Hash::new(), Hash::new());
        a.insert(b"x", b"1");
        a.insert(b"y", b"2");
        b.insert(b"y", b"2");
        b.insert(b"x", b"1");
        assert_eq!(a, b);
        b.convert_to_table();
        assert_eq!(a, b);
        b.insert(b"x", b"3");
        assert_ne!(a, b);
    }

    #[test]
    fn field_value_keeps_both_for_any_length() {
        for flen in [0, 1, 127, 128, 300, 16_384, 70_000] {
            let field = vec![b'f'; flen];
            let mut fv = FieldValue::new(&field, b"abc");
            assert_eq!((fv.field(), fv.value(), fv.key()), (&field[..], &b"abc"[..], &field[..]));
            assert_eq!(fv.0.len(), leb128_len(flen) + flen + 3);
            fv.set_value(b"xyz");
            assert_eq!((fv.field(), fv.value()), (&field[..], &b"xyz"[..]));
            fv.set_value(b"");
            assert_eq!((fv.field(), fv.value()), (&field[..], &b""[..]));
            fv.set_value(&[7; 200]);
            assert_eq!((fv.field(), fv.value()), (&field[..], &[7u8; 200][..]));
        }
        assert_eq!([0, 127, 128, 16_383, 16_384].map(leb128_len), [1, 1, 2, 2, 3]);
    }

    #[test]
    fn big_values() {
        let mut h = Hash::new();
        let big = vec![7u8; 1 << 20];
        h.insert(b"f", &big);
        h.insert(&big, b"v");
        assert_eq!(h.get(b"f").map(<[u8]>::len), Some(1 << 20));
        assert_eq!(h.get(&big), Some(&b"v"[..]));
    }

    #[test]
    fn positions_reach_every_entry() {
        for n in [3, 300] {
            let mut h = Hash::new();
            for i in 0..n {
                h.insert(format!("f{i}").as_bytes(), b"v");
            }
            let pos = h.positions();
            let mut all: Vec<_> = (0..pos.len()).map(|i| pos.at(i).0.to_vec()).collect();
            all.sort();
            all.dedup();
            assert_eq!(all.len(), n);
        }
    }

    /// Walks a whole HSCAN, calling `between` after each step.
    fn scan_all(h: &mut Hash, count: usize, between: &mut dyn FnMut(&mut Hash)) -> Vec<Vec<u8>> {
        let (mut seen, mut cursor) = (Vec::new(), 0);
        loop {
            cursor = h.scan(cursor, count, |f, _| seen.push(f.to_vec()));
            if cursor == 0 {
                return seen;
            }
            between(h);
        }
    }

    #[test]
    fn scan_returns_present_fields_across_resizes() {
        let mut base = Hash::new();
        for i in 0..1000 {
            base.insert(format!("keep:{i}").as_bytes(), b"v");
        }
        let keep = |seen: &[Vec<u8>]| {
            let mut k: Vec<_> = seen.iter().filter(|f| f.starts_with(b"keep:")).cloned().collect();
            k.sort();
            k.dedup();
            k.len()
        };
        let plain = scan_all(&mut base.clone(), 10, &mut |_| {});
        assert_eq!((plain.len(), keep(&plain)), (1000, 1000));
        let mut n = 0;
        let grown = scan_all(&mut base.clone(), 7, &mut |h| {
            for _ in 0..50 {
                h.insert(format!("new:{n}").as_bytes(), b"v");
                n += 1;
            }
        });
        assert_eq!(keep(&grown), 1000);
        let mut shrinking = base.clone();
        for i in 0..3000 {
            shrinking.insert(format!("gone:{i}").as_bytes(), b"v");
        }
        let mut m = 0;
        let shrunk = scan_all(&mut shrinking, 5, &mut |h| {
            for _ in 0..100 {
                h.remove(format!("gone:{m}").as_bytes());
                m += 1;
            }
        });
        assert_eq!(keep(&shrunk), 1000);
    }

    #[test]
    fn listpack_scan_is_whole() {
        let mut h = Hash::new();
        h.insert(b"a", b"1");
        h.insert(b"b", b"2");
        let mut seen = Vec::new();
        assert_eq!(h.scan(12345, 1, |f, v| seen.push((f.to_vec(), v.to_vec()))), 0);
        assert_eq!(seen.len(), 2);
    }
}
