//! One list element in Redis's listpack entry format: an encoding byte (with the
//! length or a small integer folded in), the data, and a back-length that lets a
//! reader step backwards. A node's bytes are these entries back to back, which is a
//! listpack without its 6-byte header and end byte (see `node.rs`).
//!
//! Bytes that read as a canonical decimal i64 (as Redis's `string2ll` decides) are
//! stored as integers: 1 to 9 bytes instead of the digits.

use crate::num::parse_i64;

/// An element as stored: an integer, or bytes that do not read as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl<'a> Elem<'a> {
    /// How `bytes` is stored: as an integer when it reads as one.
    pub fn of(bytes: &'a [u8]) -> Elem<'a> {
        match parse_i64(bytes) {
            Some(v) => Elem::Int(v),
            None => Elem::Bytes(bytes),
        }
    }

    /// Calls `f` with the element's bytes, formatting an integer on the stack.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Elem::Bytes(b) => f(b),
            Elem::Int(v) => {
                let mut buf = [0u8; 20];
                f(crate::num::format_i64(v, &mut buf))
            }
        }
    }

    /// The element's bytes (an integer in decimal).
    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Does this element hold the same bytes as `other`? Both come from `Elem::of`, so
    /// an integer never equals bytes.
    pub fn same(&self, other: &Elem<'_>) -> bool {
        match (self, other) {
            (Elem::Int(a), Elem::Int(b)) => a == b,
            (Elem::Bytes(a), Elem::Bytes(b)) => a == b,
            _ => false,
        }
    }
}

/// Encoding bytes of the wider integers (16, 24, 32, 64 bits) and of long strings.
const INT16: u8 = 0xf1;
const INT24: u8 = 0xf2;
const INT32: u8 = 0xf3;
const INT64: u8 = 0xf4;
const STR32: u8 = 0xf0;

/// Bytes of the encoding byte(s) and data, without the back-length.
fn body_size(e: Elem<'_>) -> usize {
    match e {
        Elem::Int(v) if (0..=127).contains(&v) => 1,
        Elem::Int(v) if (-4096..=4095).contains(&v) => 2,
        Elem::Int(v) if i16::try_from(v).is_ok() => 3,
        Elem::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => 4,
        Elem::Int(v) if i32::try_from(v).is_ok() => 5,
        Elem::Int(_) => 9,
        Elem::Bytes(s) if s.len() <= 63 => 1 + s.len(),
        Elem::Bytes(s) if s.len() <= 4095 => 2 + s.len(),
        Elem::Bytes(s) => 5 + s.len(),
    }
}

fn backlen_size(body: usize) -> usize {
    match body {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes the element takes in a node, its back-length included.
pub fn size(e: Elem<'_>) -> usize {
    let body = body_size(e);
    body + backlen_size(body)
}

/// Writes `e` into `out`, which is exactly `size(e)` bytes long.
pub fn write(e: Elem<'_>, out: &mut [u8]) {
    let body = body_size(e);
    match e {
        Elem::Int(v) if body == 1 => out[0] = v as u8,
        Elem::Int(v) if body == 2 => {
            let u = (v as u64) & 0x1fff;
            out[0] = 0xc0 | (u >> 8) as u8;
            out[1] = u as u8;
        }
        Elem::Int(v) => {
            out[0] = match body {
                3 => INT16,
                4 => INT24,
                5 => INT32,
                _ => INT64,
            };
            out[1..body].copy_from_slice(&v.to_le_bytes()[..body - 1]);
        }
        Elem::Bytes(s) => {
            let n = s.len();
            let at = match n {
                0..=63 => {
                    out[0] = 0x80 | n as u8;
                    1
                }
                64..=4095 => {
                    out[0] = 0xe0 | (n >> 8) as u8;
                    out[1] = n as u8;
                    2
                }
                _ => {
                    out[0] = STR32;
                    out[1..5].copy_from_slice(&(n as u32).to_le_bytes());
                    5
                }
            };
            out[at..at + n].copy_from_slice(s);
        }
    }
    write_backlen(body, &mut out[body..]);
}

/// The back-length (Redis's lpEncodeBacklen): 7-bit groups, most significant first,
/// every byte after the first with its high bit set, so a reader coming from the end
/// stops at the byte without it.
fn write_backlen(body: usize, out: &mut [u8]) {
    let n = out.len();
    for (i, byte) in out.iter_mut().enumerate() {
        let group = ((body >> (7 * (n - 1 - i))) & 127) as u8;
        *byte = if i == 0 { group } else { group | 128 };
    }
}

/// Sign-extends the low `bits` of `v`.
fn signed(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn le(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(buf)
}

/// The element starting at `buf[at]` and the offset just past it (back-length
/// included). `buf` holds only well-formed entries: a node writes every byte itself.
pub fn read(buf: &[u8], at: usize) -> (Elem<'_>, usize) {
    let b = buf[at];
    let (elem, body) = if b & 0x80 == 0 {
        (Elem::Int(b as i64), 1)
    } else if b & 0xc0 == 0x80 {
        let n = (b & 0x3f) as usize;
        (Elem::Bytes(&buf[at + 1..at + 1 + n]), 1 + n)
    } else if b & 0xe0 == 0xc0 {
        (Elem::Int(signed(((b as u64 & 0x1f) << 8) | buf[at + 1] as u64, 13)), 2)
    } else if b & 0xf0 == 0xe0 {
        let n = ((b as usize & 0x0f) << 8) | buf[at + 1] as usize;
        (Elem::Bytes(&buf[at + 2..at + 2 + n]), 2 + n)
    } else {
        let width = match b {
            INT16 => 2,
            INT24 => 3,
            INT32 => 4,
            INT64 => 8,
            _ => 0, // STR32
        };
        if width == 0 {
            let n = le(&buf[at + 1..at + 5]) as usize;
            (Elem::Bytes(&buf[at + 5..at + 5 + n]), 5 + n)
        } else {
            (Elem::Int(signed(le(&buf[at + 1..at + 1 + width]), 8 * width as u32)), 1 + width)
        }
    };
    (elem, at + body + backlen_size(body))
}

/// The offset where the entry ending just before `end` starts (its back-length is
/// the last bytes before `end`).
pub fn start_before(buf: &[u8], end: usize) -> usize {
    let mut body = 0usize;
    let mut p = end - 1;
    let mut shift = 0;
    loop {
        body |= ((buf[p] & 127) as usize) << shift;
        if buf[p] & 128 == 0 {
            break;
        }
        shift += 7;
        p -= 1;
    }
    end - body - backlen_size(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(bytes: &[u8]) {
        let e = Elem::of(bytes);
        let mut buf = vec![0xaa; size(e) + 2];
        let n = size(e);
        write(e, &mut buf[1..1 + n]);
        let (back, next) = read(&buf, 1);
        assert_eq!(next, 1 + n, "{bytes:?}");
        assert!(back.same(&e));
        assert_eq!(back.to_vec(), bytes);
        assert_eq!(start_before(&buf, 1 + n), 1);
    }

    #[test]
    fn every_encoding_round_trips() {
        for s in ["0", "127", "128", "-1", "-4096", "4095", "4096", "-32768", "32767", "40000", "-8388608", "8388607"] {
            round_trip(s.as_bytes());
        }
        for s in ["2147483647", "-2147483648", "2147483648", "9223372036854775807", "-9223372036854775808"] {
            round_trip(s.as_bytes());
        }
        for n in [0, 1, 63, 64, 127, 128, 4095, 4096, 16382, 16383, 70000] {
            round_trip(&vec![b'x'; n]);
        }
        for s in ["-0", "01", "+1", "1 ", "9223372036854775808", ""] {
            assert!(matches!(Elem::of(s.as_bytes()), Elem::Bytes(_)), "{s}");
            round_trip(s.as_bytes());
        }
    }

    #[test]
    fn sizes_are_redis_ones() {
        assert_eq!(size(Elem::of(b"5")), 2);
        assert_eq!(size(Elem::of(b"-5")), 3);
        assert_eq!(size(Elem::of(b"e123")), 6);
        assert_eq!(size(Elem::of(&[b'a'; 200])), 202 + 2);
    }
}
