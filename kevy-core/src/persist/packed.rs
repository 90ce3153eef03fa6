//! The compact encodings redis-server writes inside RDB strings: ziplist, listpack,
//! intset and zipmap. Each decodes to the plain list of its elements (integers in
//! decimal, as Redis shows them). All bounds are checked: a corrupt blob is an error,
//! never a panic.

/// One element of a packed blob.
type Elements = Vec<Vec<u8>>;

fn le(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | b as u64)
}

/// Sign-extends the low `bits` bits of `v`.
fn signed(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Option<&'a [u8]> {
    let s = buf.get(*pos..pos.checked_add(n)?)?;
    *pos += n;
    Some(s)
}

fn int_text(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// A ziplist (Redis < 7 lists, hashes and sorted sets; quicklist nodes).
pub fn ziplist(blob: &[u8]) -> Option<Elements> {
    let mut pos = 10; // zlbytes u32, zltail u32, zllen u16
    let mut out = Vec::new();
    loop {
        let first = *blob.get(pos)?;
        if first == 0xff {
            return Some(out);
        }
        // prevlen: one byte, or 0xfe and four more.
        pos += if first == 0xfe { 5 } else { 1 };
        let enc = *blob.get(pos)?;
        pos += 1;
        let item = match enc >> 6 {
            0 => take(blob, &mut pos, (enc & 0x3f) as usize)?.to_vec(),
            1 => {
                let len = (((enc & 0x3f) as usize) << 8) | *blob.get(pos)? as usize;
                pos += 1;
                take(blob, &mut pos, len)?.to_vec()
            }
            2 => {
                let b = take(blob, &mut pos, 4)?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                take(blob, &mut pos, len)?.to_vec()
            }
            _ => int_text(match enc {
                0xc0 => signed(le(take(blob, &mut pos, 2)?), 16),
                0xd0 => signed(le(take(blob, &mut pos, 4)?), 32),
                0xe0 => signed(le(take(blob, &mut pos, 8)?), 64),
                0xf0 => signed(le(take(blob, &mut pos, 3)?), 24),
                0xfe => signed(le(take(blob, &mut pos, 1)?), 8),
                0xf1..=0xfd => (enc & 0x0f) as i64 - 1,
                _ => return None,
            }),
        };
        out.push(item);
    }
}

/// A listpack (Redis 7 lists, hashes, sorted sets, small sets).
pub fn listpack(blob: &[u8]) -> Option<Elements> {
    let mut pos = 6; // total bytes u32, count u16
    let mut out = Vec::new();
    loop {
        let start = pos;
        let enc = *blob.get(pos)?;
        if enc == 0xff {
            return Some(out);
        }
        pos += 1;
        let item = if enc & 0x80 == 0 {
            int_text((enc & 0x7f) as i64)
        } else if enc & 0xc0 == 0x80 {
            take(blob, &mut pos, (enc & 0x3f) as usize)?.to_vec()
        } else if enc & 0xe0 == 0xc0 {
            let v = (((enc & 0x1f) as u64) << 8) | *blob.get(pos)? as u64;
            pos += 1;
            int_text(signed(v, 13))
        } else if enc & 0xf0 == 0xe0 {
            let len = (((enc & 0x0f) as usize) << 8) | *blob.get(pos)? as usize;
            pos += 1;
            take(blob, &mut pos, len)?.to_vec()
        } else {
            match enc {
                0xf0 => {
                    let len = le(take(blob, &mut pos, 4)?) as usize;
                    take(blob, &mut pos, len)?.to_vec()
                }
                0xf1 => int_text(signed(le(take(blob, &mut pos, 2)?), 16)),
                0xf2 => int_text(signed(le(take(blob, &mut pos, 3)?), 24)),
                0xf3 => int_text(signed(le(take(blob, &mut pos, 4)?), 32)),
                0xf4 => int_text(signed(le(take(blob, &mut pos, 8)?), 64)),
                _ => return None,
            }
        };
        // The back-length that follows encodes this entry's size in 1..=5 bytes.
        let entry = pos - start;
        pos += match entry {
            0..=127 => 1,
            128..=16_383 => 2,
            16_384..=2_097_151 => 3,
            2_097_152..=268_435_455 => 4,
            _ => 5,
        };
        out.push(item);
    }
}

/// An intset: encoding width (2, 4 or 8), count, then little-endian integers.
pub fn intset(blob: &[u8]) -> Option<Elements> {
    let width = le(blob.get(0..4)?) as usize;
    let count = le(blob.get(4..8)?) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return None;
    }
    let body = blob.get(8..8 + count.checked_mul(width)?)?;
    Some(body.chunks(width).map(|c| int_text(signed(le(c), width as u32 * 8))).collect())
}

/// A zipmap (Redis < 2.6 small hashes): field, value, field, value...
pub fn zipmap(blob: &[u8]) -> Option<Elements> {
    let mut pos = 1; // zmlen
    let mut out = Vec::new();
    let len_at = |pos: &mut usize| -> Option<Option<usize>> {
        let b = *blob.get(*pos)?;
        *pos += 1;
        Some(match b {
            0xff => None,
            0xfe => Some(le(take(blob, pos, 4)?) as usize),
            n => Some(n as usize),
        })
    };
    loop {
        let Some(klen) = len_at(&mut pos)? else { return Some(out) };
        out.push(take(blob, &mut pos, klen)?.to_vec());
        let vlen = len_at(&mut pos)??;
        let free = *blob.get(pos)? as usize;
        pos += 1;
        out.push(take(blob, &mut pos, vlen)?.to_vec());
        pos += free;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Elements {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn listpack_strings_and_ints() {
        // count 4: "ab" (6-bit str), 5 (7-bit uint), -3 (13-bit int), 300 (16-bit int)
        let mut lp = vec![0, 0, 0, 0, 4, 0];
        lp.extend_from_slice(&[0x82, b'a', b'b', 3]);
        lp.extend_from_slice(&[5, 1]);
        let v = (-3i64 as u64) & 0x1fff;
        lp.extend_from_slice(&[0xc0 | (v >> 8) as u8, v as u8, 2]);
        lp.extend_from_slice(&[0xf1, 0x2c, 0x01, 3]);
        lp.push(0xff);
        assert_eq!(listpack(&lp).unwrap(), strs(&["ab", "5", "-3", "300"]));
        assert_eq!(listpack(&lp[..lp.len() - 3]), None);
    }

    #[test]
    fn ziplist_strings_and_ints() {
        let mut zl = vec![0; 10];
        zl.extend_from_slice(&[0, 0x03, b'x', b'y', b'z']); // prevlen, 6-bit str
        zl.extend_from_slice(&[5, 0xf3]); // immediate 2
        zl.extend_from_slice(&[2, 0xfe, 0xf6]); // int8 -10
        zl.extend_from_slice(&[3, 0xc0, 0xe8, 0x03]); // int16 1000
        zl.push(0xff);
        assert_eq!(ziplist(&zl).unwrap(), strs(&["xyz", "2", "-10", "1000"]));
    }

    #[test]
    fn intset_and_zipmap() {
        let mut is = vec![2, 0, 0, 0, 2, 0, 0, 0];
        is.extend_from_slice(&(-1i16).to_le_bytes());
        is.extend_from_slice(&7i16.to_le_bytes());
        assert_eq!(intset(&is).unwrap(), strs(&["-1", "7"]));
        assert_eq!(intset(&is[..9]), None);
        let zm = [1, 1, b'f', 2, 0, b'v', b'1', 0xff];
        assert_eq!(zipmap(&zm).unwrap(), strs(&["f", "v1"]));
    }
}
