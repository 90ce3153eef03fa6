//! Reading sorted-set arguments the way Redis 7.0 reads them: scores through C's
//! `strtod` (blanks, signs, `inf`, hex floats, the range errors), score intervals with
//! `(` for an open end, and lexicographic intervals (`-`, `+`, `[x`, `(x`).

use crate::types::zset::ZSet;

/// What C's `strtod` makes of the start of a byte string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strtod {
    pub value: f64,
    /// Bytes read; 0 when no number was found.
    pub used: usize,
    /// `errno == ERANGE`: the number overflowed, or underflowed to zero.
    pub range_error: bool,
}

/// C's `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ci(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

/// Parses the longest prefix of `s` that glibc's `strtod` accepts: blanks, a sign,
/// then `inf`/`infinity`, `nan[(chars)]`, a hex float (`0x1.8p3`) or a decimal one.
pub fn strtod(s: &[u8]) -> Strtod {
    let mut i = s.iter().take_while(|&&c| is_space(c)).count();
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let rest = &s[i..];
    let signed = |v: f64| if negative { -v } else { v };
    if starts_with_ci(rest, b"inf") {
        let n = if starts_with_ci(rest, b"infinity") { 8 } else { 3 };
        return Strtod { value: signed(f64::INFINITY), used: i + n, range_error: false };
    }
    if starts_with_ci(rest, b"nan") {
        let mut n = 3;
        if rest.get(3) == Some(&b'(') {
            let body = rest[4..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
            if rest.get(4 + body) == Some(&b')') {
                n = 5 + body;
            }
        }
        return Strtod { value: f64::NAN, used: i + n, range_error: false };
    }
    let parsed = if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        hex_float(&rest[2..]).map(|(v, n, e)| (v, n + 2, e)).or_else(|| decimal(rest))
    } else {
        decimal(rest)
    };
    match parsed {
        Some((value, n, range_error)) => Strtod { value: signed(value), used: i + n, range_error },
        None => Strtod { value: 0.0, used: 0, range_error: false },
    }
}

/// A decimal float at the start of `s`: (value, bytes, range error).
fn decimal(s: &[u8]) -> Option<(f64, usize, bool)> {
    let digits = |from: usize| s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int = digits(0);
    let mut end = int;
    let mut frac = 0;
    if s.get(end) == Some(&b'.') {
        frac = digits(end + 1);
        end += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    let mantissa_end = end;
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
        let exp = digits(end + 1 + sign);
        if exp > 0 {
            end += 1 + sign + exp;
        }
    }
    let text = std::str::from_utf8(&s[..end]).ok()?;
    let value: f64 = text.parse().ok()?;
    let nonzero = s[..mantissa_end].iter().any(|c| (b'1'..=b'9').contains(c));
    let range_error = value.is_infinite() || (value == 0.0 && nonzero);
    Some((value, end, range_error))
}

/// A hex float after its `0x`: (value, bytes, range error). None without hex digits.
fn hex_float(s: &[u8]) -> Option<(f64, usize, bool)> {
    let (mut mantissa, mut sticky, mut exp2) = (0u64, false, 0i64);
    let (mut i, mut seen_digit, mut in_fraction) = (0, false, false);
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !in_fraction {
            in_fraction = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            seen_digit = true;
            if mantissa >> 60 == 0 {
                mantissa = mantissa * 16 + d as u64;
                if in_fraction {
                    exp2 -= 4;
                }
            } else {
                sticky |= d != 0;
                if !in_fraction {
                    exp2 += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let negative = s.get(i + 1) == Some(&b'-');
        let sign = usize::from(matches!(s.get(i + 1), Some(b'+' | b'-')));
        let digits = s[i + 1 + sign..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 {
            let text = &s[i + 1 + sign..i + 1 + sign + digits];
            let p = text.iter().fold(0i64, |acc, &c| (acc * 10 + (c - b'0') as i64).min(1 << 20));
            exp2 += if negative { -p } else { p };
            i += 1 + sign + digits;
        }
    }
    let value = scale_by_power_of_two((mantissa | sticky as u64) as f64, exp2);
    let range_error = value.is_infinite() || (value == 0.0 && mantissa != 0);
    Some((value, i, range_error))
}

/// `x * 2^exp` in steps that do not overflow or underflow early.
fn scale_by_power_of_two(mut x: f64, mut exp: i64) -> f64 {
    let step = |e: i64| f64::from_bits(((e + 1023) as u64) << 52);
    while exp > 1000 {
        x *= step(1000);
        exp -= 1000;
    }
    while exp < -1000 {
        x *= step(-1000);
        exp += 1000;
    }
    x * step(exp)
}

/// A score argument as Redis's `getDoubleFromObject` reads it: the whole string is a
/// number, no leading blank, no overflow, no underflow to zero, not NaN.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if s.first().is_none_or(|&c| is_space(c)) {
        return None;
    }
    let r = strtod(s);
    (r.used == s.len() && !r.range_error && !r.value.is_nan()).then_some(r.value)
}

/// A score interval: `min`/`max` with open (`(`) or closed ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub min_open: bool,
    pub max: f64,
    pub max_open: bool,
}

/// One end of a score interval, as `zslParseRange` reads it: a plain `strtod` that may
/// stop at a NUL byte, overflow to infinity and start with blanks; NaN is refused.
fn score_end(s: &[u8]) -> Option<(f64, bool)> {
    let (text, open) = match s.first() {
        Some(b'(') => (&s[1..], true),
        _ => (s, false),
    };
    let r = strtod(text);
    let stop = text.get(r.used).copied().unwrap_or(0);
    (stop == 0 && !r.value.is_nan()).then_some((r.value, open))
}

impl ScoreRange {
    /// Parses `min max`; None means `ERR min or max is not a float`.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, min_open) = score_end(min)?;
        let (max, max_open) = score_end(max)?;
        Some(ScoreRange { min, min_open, max, max_open })
    }

    /// The ranks `lo..hi` of the elements inside (empty when `hi <= lo`).
    pub fn ranks(&self, set: &ZSet) -> (usize, usize) {
        let lo = set.count_while(|s, _| if self.min_open { s <= self.min } else { s < self.min });
        let hi = set.count_while(|s, _| if self.max_open { s < self.max } else { s <= self.max });
        (lo, hi.max(lo))
    }
}

/// One end of a lexicographic interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexEnd<'a> {
    /// `-`: before every member.
    Lowest,
    /// `+`: after every member.
    Highest,
    /// `[x`
    Closed(&'a [u8]),
    /// `(x`
    Open(&'a [u8]),
}

impl<'a> LexEnd<'a> {
    /// As `zslParseLexRangeItem`: `+` and `-` alone (C reads up to a NUL), else `[`
    /// or `(` and the bytes after it.
    fn parse(s: &'a [u8]) -> Option<LexEnd<'a>> {
        let alone = s.get(1).is_none_or(|&c| c == 0);
        match s.first() {
            Some(b'+') if alone => Some(LexEnd::Highest),
            Some(b'-') if alone => Some(LexEnd::Lowest),
            Some(b'[') => Some(LexEnd::Closed(&s[1..])),
            Some(b'(') => Some(LexEnd::Open(&s[1..])),
            _ => None,
        }
    }
}

/// A lexicographic interval (meaningful when all scores are equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexRange<'a> {
    pub min: LexEnd<'a>,
    pub max: LexEnd<'a>,
}

impl<'a> LexRange<'a> {
    /// Parses `min max`; None means `ERR min or max not valid string range item`.
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Option<LexRange<'a>> {
        Some(LexRange { min: LexEnd::parse(min)?, max: LexEnd::parse(max)? })
    }

    /// The ranks `lo..hi` of the members inside (empty when `hi <= lo`).
    pub fn ranks(&self, set: &ZSet) -> (usize, usize) {
        let lo = set.count_while(|_, m| match self.min {
            LexEnd::Lowest => false,
            LexEnd::Highest => true,
            LexEnd::Closed(x) => m < x,
            LexEnd::Open(x) => m <= x,
        });
        let hi = set.count_while(|_, m| match self.max {
            LexEnd::Lowest => false,
            LexEnd::Highest => true,
            LexEnd::Closed(x) => m <= x,
            LexEnd::Open(x) => m < x,
        });
        (lo, hi.max(lo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_get_double_from_object() {
        let ok: &[(&str, f64)] = &[
            ("1", 1.0),
            ("-2.5", -2.5),
            ("+5", 5.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e5", 1e5),
            ("1E+5", 1e5),
            ("inf", f64::INFINITY),
            ("-INF", f64::NEG_INFINITY),
            ("+Infinity", f64::INFINITY),
            ("0x10", 16.0),
            ("0x1p3", 8.0),
            ("0x1.8p1", 3.0),
            ("-0x.8", -0.5),
            ("2.5e-324", 5e-324),
            ("0e-500", 0.0),
            ("1.7976931348623157e308", f64::MAX),
        ];
        for (text, want) in ok {
            assert_eq!(parse_score(text.as_bytes()), Some(*want), "{text}");
        }
        let bad = [
            "", " 1", "1 ", "abc", "nan", "NaN(12)", "1e400", "-1e400", "2e-324", "0x", "1e", "-.e1", ".", "1\x002", "inff",
            "1.7976931348623159e308",
        ];
        for text in bad {
            assert_eq!(parse_score(text.as_bytes()), None, "{text:?}");
        }
        assert!(parse_score(b"-0").unwrap().is_sign_negative());
    }

    #[test]
    fn strtod_prefixes() {
        assert_eq!(strtod(b"  12abc").used, 4);
        assert_eq!(strtod(b"0x").used, 1);
        assert_eq!(strtod(b"1e+").used, 1);
        assert_eq!(strtod(b"nan(ab_1)x").used, 9);
        assert_eq!(strtod(b"nan(ab").used, 3);
        assert_eq!(strtod(b"-").used, 0);
        assert_eq!(strtod(b"infinit").used, 3);
    }

    #[test]
    fn score_ranges() {
        let r = ScoreRange::parse(b"(1", b"+inf").unwrap();
        assert_eq!((r.min, r.min_open, r.max, r.max_open), (1.0, true, f64::INFINITY, false));
        assert_eq!(ScoreRange::parse(b"", b"(").map(|r| (r.min, r.max_open)), Some((0.0, true)));
        assert!(ScoreRange::parse(b" 1", b"1e400").is_some());
        assert!(ScoreRange::parse(b"1\x002", b"2").is_some());
        for bad in [&b"a"[..], b"((1", b"nan", b" ", b"-", b"1 "] {
            assert!(ScoreRange::parse(bad, b"1").is_none(), "{bad:?}");
        }
        let set = ZSet::from_entries((1..=5).map(|i| (vec![b'a' + i as u8], i as f64)).collect());
        assert_eq!(ScoreRange::parse(b"2", b"4").unwrap().ranks(&set), (1, 4));
        assert_eq!(ScoreRange::parse(b"(2", b"(4").unwrap().ranks(&set), (2, 3));
        assert_eq!(ScoreRange::parse(b"5", b"1").unwrap().ranks(&set), (4, 4));
    }

    #[test]
    fn lex_ranges() {
        assert_eq!(LexEnd::parse(b"+"), Some(LexEnd::Highest));
        assert_eq!(LexEnd::parse(b"-\x00x"), Some(LexEnd::Lowest));
        assert_eq!(LexEnd::parse(b"(ab"), Some(LexEnd::Open(b"ab")));
        assert_eq!(LexEnd::parse(b"["), Some(LexEnd::Closed(b"")));
        for bad in [&b""[..], b"a", b"+a", b"-a"] {
            assert_eq!(LexEnd::parse(bad), None);
        }
        let set = ZSet::from_entries([b"a", b"b", b"c", b"d"].iter().map(|m| (m.to_vec(), 0.0)).collect());
        assert_eq!(LexRange::parse(b"-", b"+").unwrap().ranks(&set), (0, 4));
        assert_eq!(LexRange::parse(b"[b", b"(d").unwrap().ranks(&set), (1, 3));
        assert_eq!(LexRange::parse(b"(b", b"[b").unwrap().ranks(&set), (2, 2));
        assert_eq!(LexRange::parse(b"+", b"-").unwrap().ranks(&set), (4, 4));
    }
}
