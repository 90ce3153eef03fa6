//! A key's record: one heap allocation that holds the key, its deadline and, for a
//! small string, the value itself. This is what makes a small string key cost one
//! allocation of about its own size plus a 16-byte table slot.
//!
//! Layout (all integers little-endian):
//! ```text
//! [flags: u8][key length: LEB128][key]
//! [deadline: u64][volatile position: u32]     only with HAS_DEADLINE
//! [payload]: the string bytes (to the end)    or, with OBJECT, a u32 object index
//! ```

/// The record carries a deadline (and the key's position in the volatile list).
const HAS_DEADLINE: u8 = 1;
/// The payload is an index into the keyspace's object table, not string bytes.
const OBJECT: u8 = 2;

/// What a record's payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// A string stored in the record.
    Str(&'a [u8]),
    /// An index into the keyspace's object table.
    Object(u32),
}

/// A deadline (unix ms) with the key's position in the keyspace's volatile list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub at: u64,
    pub volatile_at: u32,
}

/// One key's packed record.
#[derive(Debug)]
pub struct Record(Box<[u8]>);

impl Record {
    /// Packs a record.
    pub fn new(key: &[u8], deadline: Option<Deadline>, payload: Payload<'_>) -> Record {
        let body = match payload {
            Payload::Str(s) => s.len(),
            Payload::Object(_) => 4,
        };
        let varint = (usize::BITS - key.len().leading_zeros()).max(1).div_ceil(7) as usize;
        let exact = 1 + varint + key.len() + if deadline.is_some() { 12 } else { 0 } + body;
        // Exactly sized, so the boxed slice needs no shrinking reallocation (which would
        // leave the allocator's chunk larger than the record).
        let mut v = Vec::with_capacity(exact);
        let mut flags = 0;
        if deadline.is_some() {
            flags |= HAS_DEADLINE;
        }
        if matches!(payload, Payload::Object(_)) {
            flags |= OBJECT;
        }
        v.push(flags);
        let mut n = key.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                v.push(byte);
                break;
            }
            v.push(byte | 0x80);
        }
        v.extend_from_slice(key);
        if let Some(d) = deadline {
            v.extend_from_slice(&d.at.to_le_bytes());
            v.extend_from_slice(&d.volatile_at.to_le_bytes());
        }
        match payload {
            Payload::Str(s) => v.extend_from_slice(s),
            Payload::Object(i) => v.extend_from_slice(&i.to_le_bytes()),
        }
        debug_assert_eq!(v.len(), exact);
        Record(v.into_boxed_slice())
    }

    /// Bytes of the record's allocation.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn flags(&self) -> u8 {
        self.0[0]
    }

    /// (start, length) of the key.
    #[inline]
    fn key_span(&self) -> (usize, usize) {
        let (mut len, mut shift, mut i) = (0usize, 0, 1);
        loop {
            let b = self.0[i];
            len |= ((b & 0x7f) as usize) << shift;
            i += 1;
            if b & 0x80 == 0 {
                return (i, len);
            }
            shift += 7;
        }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        let (start, len) = self.key_span();
        &self.0[start..start + len]
    }

    /// Where the deadline fields (if any) start.
    fn after_key(&self) -> usize {
        let (start, len) = self.key_span();
        start + len
    }

    fn payload_at(&self) -> usize {
        self.after_key() + if self.flags() & HAS_DEADLINE != 0 { 12 } else { 0 }
    }

    pub fn deadline(&self) -> Option<Deadline> {
        if self.flags() & HAS_DEADLINE == 0 {
            return None;
        }
        let at = self.after_key();
        let mut d = [0u8; 8];
        d.copy_from_slice(&self.0[at..at + 8]);
        let mut p = [0u8; 4];
        p.copy_from_slice(&self.0[at + 8..at + 12]);
        Some(Deadline { at: u64::from_le_bytes(d), volatile_at: u32::from_le_bytes(p) })
    }

    /// Rewrites the deadline of a record that has one. Returns false when it has none.
    pub fn set_deadline(&mut self, d: Deadline) -> bool {
        if self.flags() & HAS_DEADLINE == 0 {
            return false;
        }
        let at = self.after_key();
        self.0[at..at + 8].copy_from_slice(&d.at.to_le_bytes());
        self.0[at + 8..at + 12].copy_from_slice(&d.volatile_at.to_le_bytes());
        true
    }

    pub fn payload(&self) -> Payload<'_> {
        let at = self.payload_at();
        if self.flags() & OBJECT != 0 {
            let mut i = [0u8; 4];
            i.copy_from_slice(&self.0[at..at + 4]);
            Payload::Object(u32::from_le_bytes(i))
        } else {
            Payload::Str(&self.0[at..])
        }
    }

    /// Overwrites an inline string with one of the same length. False if not possible.
    pub fn overwrite_str(&mut self, bytes: &[u8]) -> bool {
        let at = self.payload_at();
        if self.flags() & OBJECT != 0 || self.0.len() - at != bytes.len() {
            return false;
        }
        self.0[at..].copy_from_slice(bytes);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_reads_back() {
        let long_key = vec![b'k'; 300];
        for key in [b"".as_slice(), b"key:1", &long_key] {
            for deadline in [None, Some(Deadline { at: 1_700_000_000_123, volatile_at: 7 })] {
                for payload in [Payload::Str(b""), Payload::Str(b"value"), Payload::Object(42)] {
                    let mut r = Record::new(key, deadline, payload);
                    assert_eq!(r.key(), key);
                    assert_eq!(r.deadline(), deadline);
                    assert_eq!(r.payload(), payload);
                    let moved = Deadline { at: 5, volatile_at: 9 };
                    assert_eq!(r.set_deadline(moved), deadline.is_some());
                    assert_eq!(r.payload(), payload);
                }
            }
        }
    }

    #[test]
    fn small_string_record_is_small() {
        let r = Record::new(b"key:123456", None, Payload::Str(b"val:123456"));
        assert_eq!(r.0.len(), 1 + 1 + 10 + 10);
        let mut r = r;
        assert!(r.overwrite_str(b"val:654321"));
        assert!(!r.overwrite_str(b"longer value"));
        assert_eq!(r.payload(), Payload::Str(b"val:654321"));
    }
}
