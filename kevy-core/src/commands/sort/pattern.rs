//! SORT's BY and GET patterns (Redis's `lookupKeyByPattern`) and the number a sort
//! weight reads as (C's `strtod`, as Redis uses it).
//!
//! Redis scans patterns as C strings: `*` and `->` are looked for only before the
//! first NUL byte, while the parts copied keep every byte. kevy does the same, so a
//! pattern with a NUL in it names the same key on both.

use crate::commands::Ctx;
use crate::store::ValueRef;

/// The part of `bytes` before its first NUL (what C's string functions see).
pub fn c_str(bytes: &[u8]) -> &[u8] {
    bytes.iter().position(|&b| b == 0).map_or(bytes, |end| &bytes[..end])
}

/// Does the pattern substitute the element (holds a `*`, as C's `strchr` finds it)?
pub fn has_star(pattern: &[u8]) -> bool {
    c_str(pattern).contains(&b'*')
}

/// Is the pattern `#`, the element itself?
pub fn is_hash_sign(pattern: &[u8]) -> bool {
    c_str(pattern) == b"#"
}

/// Where a pattern points for one element: a key, and maybe a hash field in it.
struct Target {
    key: Vec<u8>,
    field: Option<Vec<u8>>,
}

/// The key (and field) `pattern` names for `element`; None when it names none (no `*`).
fn target(pattern: &[u8], element: &[u8]) -> Option<Target> {
    let star = c_str(pattern).iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    // `->` followed by at least one byte makes the rest a hash field.
    let arrow = c_str(after).windows(2).position(|w| w == b"->").filter(|&at| after.get(at + 2).is_some_and(|&b| b != 0));
    let (postfix, field) = match arrow {
        Some(at) => (&after[..at], Some(after[at + 2..].to_vec())),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);
    Some(Target { key, field })
}

/// What a pattern gives for an element: the element itself for `#`, the string at the
/// substituted key, or the field of the hash there; None when that is missing or of
/// another type. The key is read as a read command reads it (hits and misses counted).
/// A key on a shard the command does not hold reads as missing: the dispatcher holds
/// every shard for a SORT that reads patterns, so that does not happen.
pub fn lookup(ctx: &mut Ctx<'_>, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if is_hash_sign(pattern) {
        return Some(element.to_vec());
    }
    let t = target(pattern, element)?;
    let shard = crate::store::routing::shard_of(&t.key, ctx.db.shards());
    let entry = ctx.db.shard(shard)?.read(&t.key, ctx.now_ms)?;
    match (entry.value, &t.field) {
        (ValueRef::Str(s), None) => Some(s.to_vec()),
        (ValueRef::Hash(h), Some(field)) => h.get(field).map(<[u8]>::to_vec),
        _ => None,
    }
}

/// The weight C's `strtod` reads in `text`, as SORT accepts it: leading white space,
/// then the whole rest a number (decimal or hex, `inf`, `infinity`). None where Redis
/// says the score "can't be converted": trailing bytes, NaN, overflow or underflow
/// (strtod's ERANGE). An empty text reads as 0, as strtod leaves it. strtod reads a C
/// string: a NUL byte ends the text.
pub fn weight(text: &[u8]) -> Option<f64> {
    let text = c_str(text);
    let start = text.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')).unwrap_or(text.len());
    let body = &text[start..];
    if body.is_empty() {
        return Some(0.0);
    }
    let text = std::str::from_utf8(body).ok()?;
    let (negative, unsigned) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if unsigned.len() > 2 && unsigned[..2].eq_ignore_ascii_case("0x") {
        hex_float(&unsigned[2..])?
    } else {
        decimal(unsigned)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A decimal number, `inf` or `infinity` (any case), without a sign.
fn decimal(text: &str) -> Option<f64> {
    let digits_or_dot = |b: u8| b.is_ascii_digit() || b == b'.';
    if text.eq_ignore_ascii_case("inf") || text.eq_ignore_ascii_case("infinity") {
        return Some(f64::INFINITY);
    }
    // Rust's parser also takes "nan" and "inf" spellings: only digits start a number.
    if !text.bytes().next().is_some_and(digits_or_dot) {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let nonzero = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    out_of_range(value, nonzero)
}

/// strtod's ERANGE: an overflow to infinity, or a nonzero number read as zero or as a
/// subnormal.
fn out_of_range(value: f64, nonzero: bool) -> Option<f64> {
    let underflow = nonzero && (value == 0.0 || value.is_subnormal());
    (value.is_finite() && !underflow).then_some(value)
}

/// A hex float after `0x`: hex digits, an optional `.` and fraction, an optional
/// binary exponent `p[+-]N`.
fn hex_float(text: &str) -> Option<f64> {
    let (mantissa, exponent) = match text.find(['p', 'P']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        value = value * 16.0 + c.to_digit(16)? as f64;
    }
    let scale = exponent.saturating_sub(4 * frac_part.len() as i32);
    let result = value * 2f64.powi(scale);
    out_of_range(result, value != 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_read_as_strtod() {
        assert_eq!(weight(b""), Some(0.0));
        assert_eq!(weight(b" 1"), Some(1.0));
        assert_eq!(weight(b"0x10"), Some(16.0));
        assert_eq!(weight(b"-0x1p3"), Some(-8.0));
        assert_eq!(weight(b"+5"), Some(5.0));
        assert_eq!(weight(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(weight(b"1.5e3"), Some(1500.0));
        assert_eq!(weight(b".5"), Some(0.5));
        assert_eq!(weight(b"3\0x"), Some(3.0));
        for bad in [&b"  2  "[..], b"nan", b"1e-400", b"1e400", b"abc", b"1x", b"0x", b"--1"] {
            assert_eq!(weight(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn patterns_substitute_and_dereference() {
        let t = target(b"w_*", b"3").unwrap();
        assert_eq!((t.key, t.field), (b"w_3".to_vec(), None));
        let t = target(b"o_*->f", b"3").unwrap();
        assert_eq!((t.key, t.field), (b"o_3".to_vec(), Some(b"f".to_vec())));
        // A trailing `->` names no field: it stays part of the key.
        let t = target(b"o_*->", b"3").unwrap();
        assert_eq!((t.key, t.field), (b"o_3->".to_vec(), None));
        assert!(target(b"const", b"3").is_none());
        assert!(is_hash_sign(b"#") && !is_hash_sign(b"##"));
    }
}
