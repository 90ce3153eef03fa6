//! LZF decompression, for the compressed strings redis-server writes into RDB files
//! (`rdbcompression yes`, strings over 20 bytes). kevy writes strings uncompressed.

/// Expands `input` into exactly `out_len` bytes. None if the data is corrupt.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let run = input.get(i..i + ctrl + 1)?;
            out.extend_from_slice(run);
            i += ctrl + 1;
        } else {
            // A back reference: length in the top 3 bits (7 = one more length byte).
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            len += 2;
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let start = out.len().checked_sub(back)?;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
        if out.len() > out_len {
            return None;
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::decompress;

    #[test]
    fn literals_and_back_references() {
        // "abcabcabcabc": literal "abc" then a back reference of 9 bytes, distance 3.
        let data = [2, b'a', b'b', b'c', (7 << 5), 0, 2];
        assert_eq!(decompress(&data, 12).unwrap(), b"abcabcabcabc");
        let short = [2, b'a', b'b', b'c', (1 << 5), 2];
        assert_eq!(decompress(&short, 6).unwrap(), b"abcabc");
        assert_eq!(decompress(&[5, b'a'], 6), None);
        assert_eq!(decompress(&[(1 << 5), 9], 3), None);
    }
}
