//! Reads Redis's RDB format: kevy's own snapshots and files written by redis-server
//! (versions up to 11), including the compact encodings (listpack, ziplist, intset,
//! zipmap, quicklist) and LZF-compressed strings. Keys come out one at a time with
//! their deadline, for the caller to home on its shards.

use std::fmt;

use super::crc64::crc64;
use super::{lzf, packed};

mod stream; // streams (types 15, 19, 21), kept apart
use crate::store::Value;
use crate::types::{hash::Hash, list::List, set::Set, zset::ZSet};

/// The version kevy writes (redis-server 7.0's).
pub const RDB_VERSION: u32 = 10;
/// The newest version kevy reads (redis-server 7.2's).
const MAX_READ_VERSION: u32 = 11;

/// Opcodes between keys.
pub mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Value type bytes.
pub mod rdb_type {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const SET_LISTPACK: u8 = 20;
}

/// Why a file could not be read: what, and at which byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

impl std::error::Error for RdbError {}

/// What a file held besides its keys.
#[derive(Debug, Default)]
pub struct RdbSummary {
    pub version: u32,
    pub keys: u64,
    /// Keys of databases other than 0, which kevy (one database) skipped.
    pub skipped_other_db: u64,
    /// Empty lists, sets, sorted sets and hashes (a corrupt file), skipped as Redis
    /// skips them: kevy never stores an empty collection.
    pub skipped_empty: u64,
    /// Whether a function library was in the file (kevy skips it).
    pub skipped_functions: bool,
    /// Where the RDB data ended (an AOF continues with commands after its preamble).
    pub end: usize,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

type Res<T> = Result<T, RdbError>;

/// A length, or one of the special string encodings.
enum Len {
    Plain(u64),
    Int8,
    Int16,
    Int32,
    Lzf,
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, message: impl Into<String>) -> Res<T> {
        Err(RdbError { offset: self.pos, message: message.into() })
    }
    fn bytes(&mut self, n: usize) -> Res<&'a [u8]> {
        match self.pos.checked_add(n).and_then(|end| self.buf.get(self.pos..end)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => self.fail("unexpected end of file"),
        }
    }
    fn byte(&mut self) -> Res<u8> {
        Ok(self.bytes(1)?[0])
    }
    fn len_or_special(&mut self) -> Res<Len> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain((((b & 0x3f) as u64) << 8) | self.byte()? as u64),
            2 => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.bytes(4)?.try_into().unwrap_or_default()) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.bytes(8)?.try_into().unwrap_or_default())),
                _ => return self.fail(format!("bad length byte {b:#x}")),
            },
            _ => match b & 0x3f {
                0 => Len::Int8,
                1 => Len::Int16,
                2 => Len::Int32,
                3 => Len::Lzf,
                _ => return self.fail(format!("bad string encoding {b:#x}")),
            },
        })
    }
    fn len(&mut self) -> Res<u64> {
        match self.len_or_special()? {
            Len::Plain(n) => Ok(n),
            _ => self.fail("expected a length"),
        }
    }
    /// A count of elements, checked against what the rest of the file could hold.
    fn count(&mut self) -> Res<usize> {
        let n = self.len()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return self.fail(format!("element count {n} exceeds the file"));
        }
        Ok(n as usize)
    }
    fn string(&mut self) -> Res<Vec<u8>> {
        Ok(match self.len_or_special()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).or_else(|_| self.fail("string too long"))?;
                self.bytes(n)?.to_vec()
            }
            Len::Int8 => (self.byte()? as i8).to_string().into_bytes(),
            Len::Int16 => i16::from_le_bytes(self.bytes(2)?.try_into().unwrap_or_default()).to_string().into_bytes(),
            Len::Int32 => i32::from_le_bytes(self.bytes(4)?.try_into().unwrap_or_default()).to_string().into_bytes(),
            Len::Lzf => {
                let clen = self.len()? as usize;
                let len = self.len()? as usize;
                let at = self.pos;
                // LZF expands at most 88-fold (a 3-byte back reference copies 264 bytes):
                // a longer announced length is corrupt, and is refused before
                // decompress reserves it (it could be any 64-bit number).
                if len > clen.saturating_mul(88) {
                    return Err(RdbError { offset: at, message: "corrupt LZF string".into() });
                }
                let data = self.bytes(clen)?;
                match lzf::decompress(data, len) {
                    Some(v) => v,
                    None => return Err(RdbError { offset: at, message: "corrupt LZF string".into() }),
                }
            }
        })
    }
    fn float_text(&mut self) -> Res<f64> {
        let n = self.byte()?;
        Ok(match n {
            253 => f64::NAN,
            254 => f64::INFINITY,
            255 => f64::NEG_INFINITY,
            _ => {
                let text = self.bytes(n as usize)?;
                match std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()) {
                    Some(v) => v,
                    None => return self.fail("bad score"),
                }
            }
        })
    }
    fn float_bin(&mut self) -> Res<f64> {
        Ok(f64::from_le_bytes(self.bytes(8)?.try_into().unwrap_or_default()))
    }
    /// A string holding a packed blob, decoded by `decode`.
    fn packed(&mut self, what: &str, decode: fn(&[u8]) -> Option<Vec<Vec<u8>>>) -> Res<Vec<Vec<u8>>> {
        let at = self.pos;
        let blob = self.string()?;
        decode(&blob).ok_or(RdbError { offset: at, message: format!("corrupt {what}") })
    }
}

/// Reads a whole RDB file, handing each key of database 0 to `each` as (key, value,
/// deadline in unix ms or 0). Nothing is handed out past the first error.
pub fn read(buf: &[u8], mut each: impl FnMut(Vec<u8>, Value, u64)) -> Res<RdbSummary> {
    let mut r = Reader { buf, pos: 0 };
    let magic = r.bytes(9)?;
    let version = match magic.strip_prefix(b"REDIS").and_then(|v| std::str::from_utf8(v).ok()?.parse::<u32>().ok()) {
        Some(v) if (1..=MAX_READ_VERSION).contains(&v) => v,
        Some(v) => return Err(RdbError { offset: 5, message: format!("unsupported RDB version {v}") }),
        None => return Err(RdbError { offset: 0, message: "not an RDB file".into() }),
    };
    let mut summary = RdbSummary { version, ..RdbSummary::default() };
    let mut db = 0;
    let mut expire_at = 0u64;
    loop {
        let op = r.byte()?;
        match op {
            opcode::EOF => break,
            opcode::AUX => {
                r.string()?;
                r.string()?;
            }
            opcode::SELECTDB => db = r.len()?,
            opcode::RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            opcode::EXPIRETIME_MS => expire_at = u64::from_le_bytes(r.bytes(8)?.try_into().unwrap_or_default()),
            opcode::EXPIRETIME => {
                expire_at = u32::from_le_bytes(r.bytes(4)?.try_into().unwrap_or_default()) as u64 * 1000
            }
            opcode::IDLE => {
                r.len()?;
            }
            opcode::FREQ => {
                r.byte()?;
            }
            opcode::FUNCTION2 => {
                r.string()?;
                summary.skipped_functions = true;
            }
            opcode::FUNCTION | opcode::MODULE_AUX => {
                return r.fail(format!("opcode {op} (functions or modules) is not supported"));
            }
            ty => {
                let key = r.string()?;
                let value = read_value(&mut r, ty)?;
                if is_empty_collection(&value) {
                    summary.skipped_empty += 1;
                } else if db == 0 {
                    each(key, value, expire_at);
                    summary.keys += 1;
                } else {
                    summary.skipped_other_db += 1;
                }
                expire_at = 0;
            }
        }
    }
    if version >= 5 {
        let at = r.pos;
        let stored = u64::from_le_bytes(r.bytes(8)?.try_into().unwrap_or_default());
        if stored != 0 && stored != crc64(0, &buf[..at]) {
            return Err(RdbError { offset: at, message: "checksum mismatch".into() });
        }
    }
    summary.end = r.pos;
    Ok(summary)
}

/// An empty list, set, sorted set or hash: what commands never leave behind (they
/// delete the key instead) and assume absent. Streams may be empty.
fn is_empty_collection(value: &Value) -> bool {
    match value {
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
        Value::Str(_) | Value::Stream(_) => false,
    }
}

fn pairs(items: Vec<Vec<u8>>) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
    let mut it = items.into_iter();
    std::iter::from_fn(move || Some((it.next()?, it.next()?)))
}

fn hash_of(items: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Value {
    let mut h = Hash::new();
    for (f, v) in items {
        h.insert(&f, &v);
    }
    Value::Hash(h)
}

fn set_of(items: impl Iterator<Item = Vec<u8>>) -> Value {
    let mut s = Set::default();
    for m in items {
        s.insert(&m);
    }
    Value::Set(s)
}

fn zset_of(r: &Reader<'_>, items: Vec<Vec<u8>>) -> Res<Value> {
    let mut entries = Vec::with_capacity(items.len() / 2);
    for (m, score) in pairs(items) {
        let parsed = std::str::from_utf8(&score).ok().and_then(|t| t.parse::<f64>().ok());
        let Some(s) = parsed.filter(|s| !s.is_nan()) else {
            return r.fail("bad score in packed sorted set");
        };
        entries.push((m, s));
    }
    Ok(Value::ZSet(ZSet::from_entries(entries)))
}

fn read_value(r: &mut Reader<'_>, ty: u8) -> Res<Value> {
    use rdb_type::*;
    Ok(match ty {
        STRING => Value::Str(r.string()?),
        LIST => {
            let n = r.count()?;
            Value::List((0..n).map(|_| r.string()).collect::<Res<Vec<_>>>()?.into())
        }
        SET => {
            let n = r.count()?;
            set_of((0..n).map(|_| r.string()).collect::<Res<Vec<_>>>()?.into_iter())
        }
        ZSET | ZSET_2 => {
            let n = r.count()?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?;
                let s = if ty == ZSET_2 { r.float_bin()? } else { r.float_text()? };
                if s.is_nan() {
                    return r.fail("sorted set with a NaN score"); // as Redis refuses it
                }
                entries.push((m, s));
            }
            Value::ZSet(ZSet::from_entries(entries))
        }
        HASH => {
            let n = r.count()?;
            let mut kv = Vec::with_capacity(n);
            for _ in 0..n {
                kv.push((r.string()?, r.string()?));
            }
            hash_of(kv.into_iter())
        }
        HASH_ZIPMAP => hash_of(pairs(r.packed("zipmap", packed::zipmap)?)),
        LIST_ZIPLIST => Value::List(r.packed("ziplist", packed::ziplist)?.into()),
        SET_INTSET => set_of(r.packed("intset", packed::intset)?.into_iter()),
        SET_LISTPACK => set_of(r.packed("listpack", packed::listpack)?.into_iter()),
        ZSET_ZIPLIST => {
            let items = r.packed("ziplist", packed::ziplist)?;
            zset_of(r, items)?
        }
        ZSET_LISTPACK => {
            let items = r.packed("listpack", packed::listpack)?;
            zset_of(r, items)?
        }
        HASH_ZIPLIST => hash_of(pairs(r.packed("ziplist", packed::ziplist)?)),
        HASH_LISTPACK => hash_of(pairs(r.packed("listpack", packed::listpack)?)),
        LIST_QUICKLIST => {
            let nodes = r.count()?;
            let mut list = List::new();
            for _ in 0..nodes {
                list.extend(r.packed("ziplist", packed::ziplist)?);
            }
            Value::List(list)
        }
        LIST_QUICKLIST_2 => {
            let nodes = r.count()?;
            let mut list = List::new();
            for _ in 0..nodes {
                match r.len()? {
                    1 => list.push_back(&r.string()?), // a plain node: one large element
                    2 => list.extend(r.packed("listpack", packed::listpack)?),
                    c => return r.fail(format!("bad quicklist container {c}")),
                }
            }
            Value::List(list)
        }
        15 | 19 | 21 => stream::read_stream(r, ty)?,
        _ => return r.fail(format!("unknown value type {ty}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::rdb_write::RdbWriter;

    fn sample() -> Vec<(Vec<u8>, Value, u64)> {
        let mut z = ZSet::new();
        z.insert(b"a", 1.5);
        z.insert(b"b", f64::NEG_INFINITY);
        let mut h = Hash::new();
        h.insert(b"f", b"v");
        let mut s = Set::default();
        s.insert(b"1");
        s.insert(b"x");
        vec![
            (b"s".to_vec(), Value::Str(b"hello".to_vec()), 0),
            (b"big".to_vec(), Value::Str(vec![b'x'; 70_000]), 1_900_000_000_000),
            (b"l".to_vec(), Value::List(List::from(vec![b"1".to_vec(), b"two".to_vec()])), 0),
            // Many nodes (quicklist 2), integers of every width, one element past a node.
            (b"nodes".to_vec(), Value::List(long_list()), 0),
            (b"h".to_vec(), Value::Hash(h), 0),
            (b"set".to_vec(), Value::Set(s), 0),
            (b"z".to_vec(), Value::ZSet(z), 0),
        ]
    }

    fn long_list() -> List {
        let mut l: List = (0..5000i64).map(|i| if i % 3 == 0 { (i * i * i * 1000).to_string() } else { format!("e{i}") }).collect();
        l.push_front(&[b'x'; 20_000]);
        l
    }

    #[test]
    fn round_trips_every_type() {
        let mut w = RdbWriter::new(Vec::new(), 0).unwrap();
        w.begin_db(7, 1).unwrap();
        for (k, v, e) in sample() {
            w.entry(&k, v.as_ref(), e).unwrap();
        }
        let file = w.finish().unwrap();
        let mut got = Vec::new();
        let summary = read(&file, |k, v, e| got.push((k, v, e))).unwrap();
        assert_eq!(summary.keys, 7);
        assert_eq!(got.len(), 7);
        for ((k1, v1, e1), (k2, v2, e2)) in got.iter().zip(sample()) {
            assert_eq!((k1, e1), (&k2, &e2));
            match (v1, &v2) {
                (Value::ZSet(a), Value::ZSet(b)) => assert_eq!(a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>()),
                (Value::Set(a), Value::Set(b)) => {
                    let mut x: Vec<_> = a.iter().map(|m| m.to_vec()).collect();
                    let mut y: Vec<_> = b.iter().map(|m| m.to_vec()).collect();
                    x.sort();
                    y.sort();
                    assert_eq!(x, y)
                }
                (Value::Hash(a), Value::Hash(b)) => assert_eq!(a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>()),
                (a, b) => assert_eq!(a, b),
            }
        }
        // A flipped byte is caught by the checksum (or the structure) with an offset.
        let mut bad = file.clone();
        bad[40] ^= 0x55;
        assert!(read(&bad, |_, _, _| {}).is_err());
        // A truncated file is an error, not a panic.
        for cut in [5, 20, file.len() / 2, file.len() - 3] {
            assert!(read(&file[..cut], |_, _, _| {}).is_err());
        }
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        assert!(read(b"", |_, _, _| {}).is_err());
        assert!(read(b"REDIS0099\xff", |_, _, _| {}).is_err());
        assert!(read(b"REDIS0010\x00\xc3\x10\x10abc", |_, _, _| {}).is_err());
        // An absurd element count is refused before allocating.
        assert!(read(b"REDIS0010\x01\x01k\x81\xff\xff\xff\xff\xff\xff\xff\xff", |_, _, _| {}).is_err());
    }

    #[test]
    fn empty_collections_are_skipped() {
        // Found by the fuzz harness: an intset of 0 members loaded as an empty set, and
        // SRANDMEMBER on it divided by zero. Redis skips such keys when loading.
        let mut file = b"REDIS0010".to_vec();
        file.extend_from_slice(b"\x0b\x01s\x08\x02\0\0\0\0\0\0\0"); // intset, 0 members
        file.extend_from_slice(b"\x01\x01l\x00"); // list of 0 elements
        file.extend_from_slice(b"\x00\x01k\x01v\xff\0\0\0\0\0\0\0\0");
        let mut keys = Vec::new();
        let summary = read(&file, |k, _, _| keys.push(k)).unwrap();
        assert_eq!((keys, summary.keys, summary.skipped_empty), (vec![b"k".to_vec()], 1, 2));
    }

    #[test]
    fn nan_scores_are_refused() {
        // Found by the fuzz harness: a NaN score (text form 253, binary NaN, or "nan" in
        // a listpack) reached ZSet, whose order it breaks (a debug assertion fired).
        let text = b"REDIS0010\x03\x01z\x02\x01a\xfd\x01b\x011\xff\0\0\0\0\0\0\0\0";
        assert_eq!(read(text, |_, _, _| {}).unwrap_err().message, "sorted set with a NaN score");
        let mut bin = b"REDIS0010\x05\x01z\x01\x01a".to_vec();
        bin.extend_from_slice(&f64::NAN.to_le_bytes());
        bin.extend_from_slice(b"\xff\0\0\0\0\0\0\0\0");
        assert_eq!(read(&bin, |_, _, _| {}).unwrap_err().message, "sorted set with a NaN score");
        // A listpack of "a" and "nan": 6-byte header, entries with their back-lengths.
        let lp = b"\0\0\0\0\x02\0\x81a\x02\x83nan\x04\xff";
        let mut packed = vec![b'R', b'E', b'D', b'I', b'S', b'0', b'0', b'1', b'0', 17, 1, b'z', lp.len() as u8];
        packed.extend_from_slice(lp);
        packed.extend_from_slice(b"\xff\0\0\0\0\0\0\0\0");
        assert_eq!(read(&packed, |_, _, _| {}).unwrap_err().message, "bad score in packed sorted set");
    }

    #[test]
    fn lzf_length_beyond_its_data_is_refused_before_allocating() {
        // Found by the fuzz harness: a 1-byte LZF string announcing 2^40 bytes made the
        // reader reserve them (an abort). Now refused with the string's offset.
        let mut file = b"REDIS0010\x00\x01k\xc3\x01\x81".to_vec();
        file.extend_from_slice(&(1u64 << 40).to_be_bytes());
        file.extend_from_slice(b"\x00a\xff\0\0\0\0\0\0\0\0");
        let err = read(&file, |_, _, _| {}).unwrap_err();
        assert_eq!((err.message.as_str(), err.offset), ("corrupt LZF string", 23));
        // A string LZF really expands (88 bytes of 'a' from 5) still reads.
        let mut ok = b"REDIS0010\x00\x01k\xc3\x05\x40\x58\x00a\xe0\x4e\x00".to_vec();
        ok.extend_from_slice(b"\xff\0\0\0\0\0\0\0\0");
        let mut got = Vec::new();
        read(&ok, |_, v, _| got.push(v)).unwrap();
        assert_eq!(got, vec![Value::Str(vec![b'a'; 88])]);
    }
}
