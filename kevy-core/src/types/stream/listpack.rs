//! Redis's listpack encoding, as far as streams need it: the encoded size of an
//! element (Redis decides where a stream node ends by its listpack's byte size) and a
//! writer for whole listpacks (RDB snapshots hold stream nodes as listpacks).

/// Header (total bytes u32 + element count u16) plus the end byte.
pub const EMPTY_SIZE: usize = 7;

/// An element: an integer, or bytes (stored as an integer when they read as one).
#[derive(Clone, Copy)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    fn as_int(&self) -> Option<i64> {
        match *self {
            Elem::Int(v) => Some(v),
            Elem::Str(s) => crate::num::parse_i64(s),
        }
    }
}

fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn int_encoding_size(v: i64) -> usize {
    if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-8_388_608..=8_388_607).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    }
}

fn str_encoding_size(len: usize) -> usize {
    match len {
        0..=63 => 1 + len,
        64..=4095 => 2 + len,
        _ => 5 + len,
    }
}

/// Bytes the element takes in a listpack, its back-length included.
pub fn elem_size(e: Elem<'_>) -> usize {
    let enc = match (e.as_int(), e) {
        (Some(v), _) => int_encoding_size(v),
        (None, Elem::Str(s)) => str_encoding_size(s.len()),
        (None, Elem::Int(_)) => unreachable!(),
    };
    enc + backlen_size(enc)
}

/// Writes one element's encoding and back-length.
fn encode(out: &mut Vec<u8>, e: Elem<'_>) {
    let start = out.len();
    match (e.as_int(), e) {
        (Some(v), _) => match int_encoding_size(v) {
            1 => out.push(v as u8),
            2 => {
                let u = (v as u64) & 0x1fff;
                out.push(0xc0 | (u >> 8) as u8);
                out.push(u as u8);
            }
            3 => {
                out.push(0xf1);
                out.extend_from_slice(&(v as i16).to_le_bytes());
            }
            4 => {
                out.push(0xf2);
                out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            5 => {
                out.push(0xf3);
                out.extend_from_slice(&(v as i32).to_le_bytes());
            }
            _ => {
                out.push(0xf4);
                out.extend_from_slice(&v.to_le_bytes());
            }
        },
        (None, Elem::Str(s)) => {
            match s.len() {
                0..=63 => out.push(0x80 | s.len() as u8),
                64..=4095 => {
                    out.push(0xe0 | (s.len() >> 8) as u8);
                    out.push(s.len() as u8);
                }
                _ => {
                    out.push(0xf0);
                    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                }
            }
            out.extend_from_slice(s);
        }
        (None, Elem::Int(_)) => unreachable!(),
    }
    let len = out.len() - start;
    // The back-length (lpEncodeBacklen): 7-bit groups, most significant first, every
    // byte after the first with the high bit set.
    let n = backlen_size(len);
    for i in (0..n).rev() {
        let g = ((len >> (7 * i)) & 127) as u8;
        out.push(if i + 1 == n { g } else { g | 128 });
    }
}

/// A whole listpack holding `elems`.
pub fn build<'a>(elems: impl IntoIterator<Item = Elem<'a>>) -> Vec<u8> {
    let mut out = vec![0u8; 6];
    let mut n: usize = 0;
    for e in elems {
        encode(&mut out, e);
        n += 1;
    }
    out.push(0xff);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    let count = if n < u16::MAX as usize { n as u16 } else { u16::MAX };
    out[4..6].copy_from_slice(&count.to_le_bytes());
    out
}

/// Decodes a listpack into its elements as bytes (integers as decimal text).
pub fn decode(lp: &[u8]) -> Option<Vec<Vec<u8>>> {
    if lp.len() < EMPTY_SIZE || u32::from_le_bytes(lp[..4].try_into().ok()?) as usize != lp.len() {
        return None;
    }
    let mut p = 6;
    let mut items = Vec::new();
    loop {
        let b = *lp.get(p)?;
        if b == 0xff {
            return (p + 1 == lp.len()).then_some(items);
        }
        let int = |bytes: &[u8]| -> i64 {
            let mut buf = [0u8; 8];
            buf[..bytes.len()].copy_from_slice(bytes);
            let v = i64::from_le_bytes(buf);
            let shift = 64 - 8 * bytes.len() as u32;
            (v << shift) >> shift
        };
        let (item, enc_len): (Vec<u8>, usize) = if b & 0x80 == 0 {
            ((b as i64).to_string().into_bytes(), 1)
        } else if b & 0xc0 == 0x80 {
            let n = (b & 0x3f) as usize;
            (lp.get(p + 1..p + 1 + n)?.to_vec(), 1 + n)
        } else if b & 0xe0 == 0xc0 {
            let v = (((b & 0x1f) as i64) << 8) | *lp.get(p + 1)? as i64;
            let v = if v >= 1 << 12 { v - (1 << 13) } else { v };
            (v.to_string().into_bytes(), 2)
        } else if b & 0xf0 == 0xe0 {
            let n = (((b & 0x0f) as usize) << 8) | *lp.get(p + 1)? as usize;
            (lp.get(p + 2..p + 2 + n)?.to_vec(), 2 + n)
        } else {
            match b {
                0xf0 => {
                    let n = u32::from_le_bytes(lp.get(p + 1..p + 5)?.try_into().ok()?) as usize;
                    (lp.get(p + 5..p.checked_add(5 + n)?)?.to_vec(), 5 + n)
                }
                0xf1 => (int(lp.get(p + 1..p + 3)?).to_string().into_bytes(), 3),
                0xf2 => (int(lp.get(p + 1..p + 4)?).to_string().into_bytes(), 4),
                0xf3 => (int(lp.get(p + 1..p + 5)?).to_string().into_bytes(), 5),
                0xf4 => (int(lp.get(p + 1..p + 9)?).to_string().into_bytes(), 9),
                _ => return None,
            }
        };
        items.push(item);
        p += enc_len + backlen_size(enc_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let big = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let elems = [
            Elem::Int(0),
            Elem::Int(127),
            Elem::Int(-1),
            Elem::Int(4095),
            Elem::Int(-30000),
            Elem::Int(8_000_000),
            Elem::Int(-2_000_000_000),
            Elem::Int(i64::MIN),
            Elem::Str(b"hello"),
            Elem::Str(b"123"),
            Elem::Str(b"0123"),
            Elem::Str(&mid),
            Elem::Str(&big),
        ];
        let lp = build(elems);
        let expected: usize = EMPTY_SIZE + elems.iter().map(|e| elem_size(*e)).sum::<usize>();
        assert_eq!(lp.len(), expected);
        let back = decode(&lp).unwrap();
        assert_eq!(back[0], b"0");
        assert_eq!(back[4], b"-30000");
        assert_eq!(back[7], i64::MIN.to_string().as_bytes());
        assert_eq!(back[9], b"123");
        assert_eq!(back[10], b"0123");
        assert_eq!(back[11], mid);
        assert_eq!(back[12], big);
    }
}
