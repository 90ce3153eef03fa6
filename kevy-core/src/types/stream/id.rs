//! Stream entry IDs (`<ms>-<seq>`) and their parsing, with Redis's rules.

use std::fmt;

/// An entry ID: milliseconds and a sequence number, ordered as a pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }
    /// The ID right after this one (None past the last possible ID).
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }
    /// The ID right before this one (None before 0-0).
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }
    pub fn is_zero(self) -> bool {
        self == StreamId::ZERO
    }
    /// The 16-byte big-endian form Redis uses as radix-tree key.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }
    pub fn from_be_bytes(b: &[u8]) -> Option<StreamId> {
        if b.len() != 16 {
            return None;
        }
        Some(StreamId::new(u64::from_be_bytes(b[..8].try_into().ok()?), u64::from_be_bytes(b[8..].try_into().ok()?)))
    }
    pub fn to_bytes(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An ID as written in a command: the sequence may be missing (`5`) or `*` (`5-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedId {
    pub ms: u64,
    /// None: no sequence written. Some(None): `*`.
    pub seq: Option<Option<u64>>,
}

/// C's `strtoull` applied to a whole string (leading blanks, a sign; `-n` wraps),
/// after `string2ll`'s refusal of negative numbers, as Redis's `string2ull`.
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::num::parse_i64(s) {
        return (v >= 0).then_some(v as u64);
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses `ms[-seq]` (and `ms-*` when `allow_star`). `-` and `+` are not IDs here.
/// The text is cut at a NUL byte and must be under 128 bytes, as in Redis.
pub fn parse_id(arg: &[u8], allow_star: bool) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    let (ms, seq) = match arg.iter().position(|&b| b == b'-') {
        Some(dash) => (&arg[..dash], Some(&arg[dash + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms)?;
    let seq = match seq {
        None => None,
        Some(b"*") if allow_star => Some(None),
        Some(s) => Some(Some(string2ull(s)?)),
    };
    Some(ParsedId { ms, seq })
}

/// A full ID where a missing sequence means `missing_seq`; `-` and `+` allowed
/// unless `strict`.
pub fn parse_id_or(arg: &[u8], missing_seq: u64, strict: bool) -> Option<StreamId> {
    match arg {
        b"-" if !strict => return Some(StreamId::ZERO),
        b"+" if !strict => return Some(StreamId::MAX),
        b"-" | b"+" => return None,
        _ => {}
    }
    let p = parse_id(arg, false)?;
    Some(StreamId::new(p.ms, p.seq.flatten().unwrap_or(missing_seq)))
}

/// Parses a range bound: `-`, `+`, an ID, or `(ID` (exclusive, stepped to the next ID
/// for a start, the previous one for an end). A missing sequence means 0 for a start,
/// the largest for an end.
pub fn parse_bound(arg: &[u8], is_start: bool) -> Result<StreamId, &'static str> {
    let missing = if is_start { 0 } else { u64::MAX };
    if arg.len() > 1 && arg[0] == b'(' {
        let id = parse_id_or(&arg[1..], missing, true).ok_or(INVALID_ID)?;
        return if is_start {
            id.next().ok_or("ERR invalid start ID for the interval")
        } else {
            id.prev().ok_or("ERR invalid end ID for the interval")
        };
    }
    parse_id_or(arg, missing, false).ok_or(INVALID_ID)
}

/// Redis's reply to a malformed ID.
pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_redis() {
        assert_eq!(parse_id_or(b"5", 0, true), Some(StreamId::new(5, 0)));
        assert_eq!(parse_id_or(b"5-3", 0, true), Some(StreamId::new(5, 3)));
        assert_eq!(parse_id_or(b"+5-3", 0, true), Some(StreamId::new(5, 3)));
        assert_eq!(parse_id_or(b"-5", 0, true), None);
        assert_eq!(parse_id_or(b"5-", 0, true), None);
        assert_eq!(parse_id_or(b"18446744073709551615-18446744073709551615", 0, true), Some(StreamId::MAX));
        assert_eq!(parse_id_or(b"18446744073709551616", 0, true), None);
        assert_eq!(parse_id_or(b"-", 0, true), None);
        assert_eq!(parse_id_or(b"+", 0, false), Some(StreamId::MAX));
        assert_eq!(parse_id(b"5-*", true), Some(ParsedId { ms: 5, seq: Some(None) }));
        assert_eq!(parse_id(b"5-*", false), None);
        assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::ZERO.prev(), None);
    }
}
