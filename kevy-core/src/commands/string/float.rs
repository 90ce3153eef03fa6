//! INCRBYFLOAT, and the C `long double` arithmetic it takes to answer as Redis does.
//!
//! Redis reads both operands with `strtold`, adds them as x86-64 `long double`s (x87
//! extended precision: a 64-bit significand) and prints the sum with `%.17Lf`, trailing
//! zeros trimmed. Binary noise shows through that format (`INCRBYFLOAT k 1234567890.1`
//! answers 1234567890.09999999997671694), so matching Redis byte for byte means doing
//! the same arithmetic: [`LongDouble`] parses with correct rounding (as glibc does),
//! adds with one rounding to nearest-even, and prints its exact binary value rounded to
//! 17 decimals. HINCRBYFLOAT can share [`incr_by_float`].

use crate::commands::effects::{ev, class::STRING, On::Arg, When::Always};
use std::cmp::Ordering;

use crate::commands::{errors, flags::*, Command, Ctx, KeySpec};
use crate::resp::Args;
use crate::store::{Keyspace, Value, NO_EXPIRE};

pub const COMMANDS: &[Command] = &[Command::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, incrbyfloat).events(&[ev(STRING, "incrbyfloat", Arg(1), Always)]).group("string").summary("Increment the float value of a key by the given amount")];

/// Adds `incr` to the float under `key` (0 when missing), keeping its deadline.
/// Returns the stored text, which is also the reply.
pub fn op_incr_by_float(ks: &mut Keyspace, key: &[u8], incr: &[u8], now_ms: u64) -> Result<Vec<u8>, &'static str> {
    match ks.get_mut(key, now_ms) {
        None => {
            let text = incr_by_float(None, incr)?;
            ks.insert(key, Value::Str(text.clone()), NO_EXPIRE);
            Ok(text)
        }
        Some(Value::Str(s)) => {
            let text = incr_by_float(Some(s), incr)?;
            s.clone_from(&text);
            Ok(text)
        }
        #[allow(unreachable_patterns)]
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// `current + incr` (a missing `current` being 0), computed and printed as Redis does.
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, &'static str> {
    let value = match current {
        None => LongDouble::ZERO,
        Some(s) => LongDouble::parse(s).ok_or(errors::NOT_FLOAT)?,
    };
    let incr = LongDouble::parse(incr).ok_or(errors::NOT_FLOAT)?;
    let sum = value.checked_add(incr).ok_or(errors::NAN_OR_INF)?;
    Ok(sum.to_fixed17())
}

/// INCRBYFLOAT key increment
fn incrbyfloat(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match op_incr_by_float(ctx.db.ks(key), key, args.get(2), ctx.now_ms) {
        Ok(text) => ctx.out.bulk(&text),
        Err(e) => ctx.out.error(e),
    }
}

// ---------------------------------------------------------------------------------
// The x87 extended format

/// Exponent of the last significand bit of the subnormals (2^-16445 is the smallest).
const MIN_EXP: i64 = -16445;
/// Exponent of the leading bit of the largest finite value.
const MAX_LEAD: i64 = 16383;
/// Redis refuses longer float strings (`MAX_LONG_DOUBLE_CHARS`).
const MAX_CHARS: usize = 5 * 1024;

/// A C `long double` of x86-64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    /// `±mant × 2^exp`; zero has `mant == 0`.
    Finite { neg: bool, mant: u64, exp: i32 },
    Infinite { neg: bool },
}

/// A result outside the finite range: too large, or nonzero but rounding to zero.
#[derive(Debug, PartialEq, Eq)]
enum OutOfRange {
    Overflow,
    Underflow,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble::Finite { neg: false, mant: 0, exp: 0 };

    /// Parses like Redis's `string2ld`: all of `s` must be what `strtold` reads (decimal,
    /// `0x` hexadecimal, `inf`, `infinity`), without leading space; NaN, overflow and
    /// underflow to zero are refused.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Infinite { neg });
        }
        let hex = body.len() > 2 && body[0] == b'0' && body[1] | 0x20 == b'x';
        let rounded = if hex {
            let (digits, _, frac, exp) = scan_number(&body[2..], 16, b'p')?;
            round(neg, &digits, exp.saturating_sub(4 * frac), false)
        } else {
            let (digits, count, frac, exp) = scan_number(body, 10, b'e')?;
            decimal_to_binary(neg, digits, count, exp.saturating_sub(frac))
        };
        rounded.ok()
    }

    /// The sum, rounded once to nearest-even. None when it is infinite (or NaN).
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        let (LongDouble::Finite { neg: na, mant: ma, exp: ea }, LongDouble::Finite { neg: nb, mant: mb, exp: eb }) = (self, other) else {
            return None;
        };
        if mb == 0 {
            return Some(if ma == 0 { LongDouble::Finite { neg: na && nb, mant: 0, exp: 0 } } else { self });
        }
        if ma == 0 {
            return Some(other);
        }
        let e = ea.min(eb);
        let a = Big::from_u64(ma).shl((ea - e) as u64);
        let b = Big::from_u64(mb).shl((eb - e) as u64);
        let (neg, n) = if na == nb {
            (na, a.add(&b))
        } else {
            match a.cmp_big(&b) {
                Ordering::Equal => return Some(LongDouble::ZERO),
                Ordering::Greater => (na, a.sub(&b)),
                Ordering::Less => (nb, b.sub(&a)),
            }
        };
        round(neg, &n, e as i64, false).ok()
    }

    /// C's `%.17Lf` with trailing zeros (and a bare point) trimmed, `-0` printed `0`: the
    /// text Redis stores for INCRBYFLOAT.
    pub fn to_fixed17(self) -> Vec<u8> {
        let (neg, mant, exp) = match self {
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
            LongDouble::Infinite { neg } => return if neg { b"-inf".to_vec() } else { b"inf".to_vec() },
        };
        let mut n = Big::from_u64(mant);
        n.mul_add_small(1_000_000_000, 0);
        n.mul_add_small(100_000_000, 0);
        let scaled = if exp >= 0 { n.shl(exp as u64) } else { n.shr_round_even((-(exp as i64)) as u64) };
        let mut digits = scaled.to_decimal();
        if digits.len() < 18 {
            let mut padded = vec![b'0'; 18 - digits.len()];
            padded.append(&mut digits);
            digits = padded;
        }
        let point = digits.len() - 17;
        let mut text = Vec::with_capacity(digits.len() + 2);
        if neg {
            text.push(b'-');
        }
        text.extend_from_slice(&digits[..point]);
        text.push(b'.');
        text.extend_from_slice(&digits[point..]);
        while text.last() == Some(&b'0') {
            text.pop();
        }
        if text.last() == Some(&b'.') {
            text.pop();
        }
        if text == b"-0" {
            text.remove(0);
        }
        text
    }
}

/// Reads `digits[.digits][<exp_char>[+-]digits]`, all of `s`, with at least one mantissa
/// digit. Returns the mantissa digits as an integer, how many significant digits it has,
/// how many digits followed the point, and the exponent (saturated far out of range).
fn scan_number(s: &[u8], radix: u32, exp_char: u8) -> Option<(Big, i64, i64, i64)> {
    let (mut digits, mut count, mut frac) = (Big::default(), 0i64, 0i64);
    let (mut seen, mut point, mut i) = (false, false, 0);
    while i < s.len() {
        if s[i] == b'.' && !point {
            point = true;
        } else if let Some(d) = (s[i] as char).to_digit(radix) {
            seen = true;
            frac += point as i64;
            if !(digits.is_zero() && d == 0) {
                digits.mul_add_small(radix, d);
                count += 1;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    let mut exp = 0i64;
    if i < s.len() {
        if s[i] | 0x20 != exp_char {
            return None;
        }
        let rest = &s[i + 1..];
        let (exp_neg, rest) = match rest.first() {
            Some(b'-') => (true, &rest[1..]),
            Some(b'+') => (false, &rest[1..]),
            _ => (false, rest),
        };
        if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for &c in rest {
            exp = (exp * 10 + (c - b'0') as i64).min(1 << 40);
        }
        if exp_neg {
            exp = -exp;
        }
    }
    Some((digits, count, frac, exp))
}

/// `±digits × 10^exp10` (`digits` having `count` significant digits), correctly rounded.
fn decimal_to_binary(neg: bool, mut digits: Big, count: i64, exp10: i64) -> Result<LongDouble, OutOfRange> {
    if digits.is_zero() {
        return Ok(LongDouble::Finite { neg, mant: 0, exp: 0 });
    }
    // The value lies in [10^(mag-1), 10^mag); the finite range is about 3.6e-4951 (the
    // smallest subnormal) to 1.19e4932.
    let mag = count + exp10;
    if mag > 4933 {
        return Err(OutOfRange::Overflow);
    }
    if mag <= -4951 {
        return Err(OutOfRange::Underflow);
    }
    if exp10 >= 0 {
        for _ in 0..exp10 {
            digits.mul_add_small(10, 0);
        }
        return round(neg, &digits, 0, false);
    }
    let mut pow = Big::from_u64(1);
    for _ in 0..-exp10 {
        pow.mul_add_small(10, 0);
    }
    // Scale so the quotient keeps at least 66 bits: the significand, a rounding bit and
    // one more; the remainder tells whether anything lies below.
    let shift = (pow.bit_len() + 66).saturating_sub(digits.bit_len());
    let (q, r) = digits.shl(shift).div_rem(&pow);
    round(neg, &q, -(shift as i64), !r.is_zero())
}

/// Rounds `±n × 2^exp` to nearest-even (`sticky`: a nonzero tail lies below `n`'s last
/// bit, which must then have at least a rounding bit below the significand).
fn round(neg: bool, n: &Big, exp: i64, sticky: bool) -> Result<LongDouble, OutOfRange> {
    if n.is_zero() {
        return Ok(LongDouble::Finite { neg, mant: 0, exp: 0 });
    }
    let lead = n.bit_len() as i64 - 1 + exp;
    if lead > MAX_LEAD {
        return Err(OutOfRange::Overflow);
    }
    let mut q = (lead - 63).max(MIN_EXP);
    let shift = q - exp;
    let mant = if shift <= 0 {
        n.low_u64() << -shift
    } else {
        let s = shift as u64;
        let m = n.shr(s).low_u64();
        let half = n.bit(s - 1);
        let tail = sticky || n.any_below(s - 1);
        if half && (tail || m & 1 == 1) {
            m.checked_add(1).unwrap_or_else(|| {
                q += 1;
                1 << 63
            })
        } else {
            m
        }
    };
    if q + 63 > MAX_LEAD {
        return Err(OutOfRange::Overflow);
    }
    if mant == 0 {
        return Err(OutOfRange::Underflow);
    }
    Ok(LongDouble::Finite { neg, mant, exp: q as i32 })
}

// ---------------------------------------------------------------------------------
// Just enough unsigned big integer for the above

/// An unsigned integer: 32-bit limbs, least significant first, no zero limb on top.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }
    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
    fn bit_len(&self) -> u64 {
        self.0.last().map_or(0, |top| self.0.len() as u64 * 32 - top.leading_zeros() as u64)
    }
    fn bit(&self, i: u64) -> bool {
        let w = (i / 32) as usize;
        w < self.0.len() && (self.0[w] >> (i % 32)) & 1 == 1
    }
    /// Is any bit below position `i` set?
    fn any_below(&self, i: u64) -> bool {
        let w = (i / 32) as usize;
        let whole = &self.0[..w.min(self.0.len())];
        whole.iter().any(|&x| x != 0) || (w < self.0.len() && self.0[w] & ((1u32 << (i % 32)) - 1) != 0)
    }
    fn low_u64(&self) -> u64 {
        let limb = |i: usize| self.0.get(i).copied().unwrap_or(0) as u64;
        limb(0) | limb(1) << 32
    }
    /// `self = self * m + a`.
    fn mul_add_small(&mut self, m: u32, a: u32) {
        let mut carry = a as u64;
        for x in &mut self.0 {
            let t = *x as u64 * m as u64 + carry;
            *x = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }
    /// `self /= d`, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for x in self.0.iter_mut().rev() {
            let cur = rem << 32 | *x as u64;
            *x = (cur / d as u64) as u32;
            rem = cur % d as u64;
        }
        self.trim();
        rem as u32
    }
    fn shl(&self, bits: u64) -> Big {
        if self.is_zero() {
            return Big::default();
        }
        let (words, b) = ((bits / 32) as usize, (bits % 32) as u32);
        let mut out = vec![0u32; words];
        let mut carry = 0u32;
        for &x in &self.0 {
            out.push(if b == 0 { x } else { x << b | carry });
            carry = if b == 0 { 0 } else { x >> (32 - b) };
        }
        out.push(carry);
        let mut r = Big(out);
        r.trim();
        r
    }
    fn shr(&self, bits: u64) -> Big {
        let words = (bits / 32) as usize;
        if words >= self.0.len() {
            return Big::default();
        }
        let b = (bits % 32) as u32;
        let src = &self.0[words..];
        let mut out: Vec<u32> = (0..src.len())
            .map(|i| {
                let high = if b == 0 { 0 } else { src.get(i + 1).map_or(0, |&x| x << (32 - b)) };
                src[i] >> b | high
            })
            .collect();
        while out.last() == Some(&0) {
            out.pop();
        }
        Big(out)
    }
    /// `self / 2^bits`, rounded to nearest-even.
    fn shr_round_even(&self, bits: u64) -> Big {
        let mut q = self.shr(bits);
        let odd = q.0.first().is_some_and(|&x| x & 1 == 1);
        if bits > 0 && self.bit(bits - 1) && (odd || self.any_below(bits - 1)) {
            q.mul_add_small(1, 1);
        }
        q
    }
    fn cmp_big(&self, o: &Big) -> Ordering {
        self.0.len().cmp(&o.0.len()).then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }
    fn add(&self, o: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len().max(o.0.len()) + 1);
        let mut carry = 0u64;
        for i in 0..self.0.len().max(o.0.len()) {
            let t = self.0.get(i).copied().unwrap_or(0) as u64 + o.0.get(i).copied().unwrap_or(0) as u64 + carry;
            out.push(t as u32);
            carry = t >> 32;
        }
        out.push(carry as u32);
        let mut r = Big(out);
        r.trim();
        r
    }
    /// `self - o`; `o` must not be larger.
    fn sub(&self, o: &Big) -> Big {
        let mut r = self.clone();
        r.sub_assign(o);
        r
    }
    fn sub_assign(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let t = self.0[i] as i64 - o.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            self.0[i] = t.rem_euclid(1 << 32) as u32;
            borrow = (t < 0) as i64;
        }
        self.trim();
    }
    /// Quotient and remainder, one quotient bit at a time.
    fn div_rem(&self, d: &Big) -> (Big, Big) {
        let (n_bits, d_bits) = (self.bit_len(), d.bit_len());
        if n_bits < d_bits {
            return (Big::default(), self.clone());
        }
        let q_bits = n_bits - d_bits + 1;
        let mut r = self.shr(q_bits);
        let mut q = vec![0u32; q_bits.div_ceil(32) as usize];
        for i in (0..q_bits).rev() {
            r.mul_add_small(2, self.bit(i) as u32);
            if r.cmp_big(d) != Ordering::Less {
                r.sub_assign(d);
                q[(i / 32) as usize] |= 1 << (i % 32);
            }
        }
        let mut q = Big(q);
        q.trim();
        (q, r)
    }
    fn to_decimal(&self) -> Vec<u8> {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut text = chunks.last().map_or("0".to_string(), |top| top.to_string());
        for c in chunks.iter().rev().skip(1) {
            text.push_str(&format!("{c:09}"));
        }
        text.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(cur: Option<&str>, by: &str) -> Result<String, &'static str> {
        incr_by_float(cur.map(str::as_bytes), by.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn sums_print_like_redis() {
        assert_eq!(incr(Some("0.1"), "0.2"), Ok("0.3".into()));
        assert_eq!(incr(Some("10.5"), "0.1"), Ok("10.6".into()));
        assert_eq!(incr(None, "3.0e3"), Ok("3000".into()));
        assert_eq!(incr(Some("5.0e3"), "2.0e2"), Ok("5200".into()));
        assert_eq!(incr(None, "1234567890.1"), Ok("1234567890.09999999997671694".into()));
        assert_eq!(incr(None, "123456789012.123"), Ok("123456789012.12300000339746475".into()));
        assert_eq!(incr(None, "3.3333333333333333333"), Ok("3.33333333333333333".into()));
        assert_eq!(incr(None, "9.999999999999999999e10"), Ok("99999999999.9999999925494194".into()));
        assert_eq!(incr(Some("100000000000000000"), "0.1"), Ok("100000000000000000.1015625".into()));
        assert_eq!(incr(None, "0x10"), Ok("16".into()));
        assert_eq!(incr(None, "1e-18"), Ok("0".into()));
        assert_eq!(incr(None, "-1e-18"), Ok("0".into()));
        assert_eq!(incr(Some("-0.25"), "0.25"), Ok("0".into()));
        assert_eq!(incr(Some("1"), "-3.5"), Ok("-2.5".into()));
        assert_eq!(incr(None, ".5"), Ok("0.5".into()));
        assert_eq!(incr(None, "+5."), Ok("5".into()));
        let big = concat!(
            "10000000000000000000281880683947586514586453433629052038625910693539685534008629",
            "86203936399484832416052209405392731761620029582277725925573402382897659334066101",
            "77974474345461739178624481166749717237789438243915933380474706750262466844013592",
            "37513603830343735485505244955964979021825038280091068414947402456898653040951017",
            "51265809261582758892018347251164331659136266413817630973480634373249743022194688",
            "0",
        );
        assert_eq!(incr(None, "1e400"), Ok(big.into()));
    }

    #[test]
    fn errors_like_redis() {
        for bad in ["", " 1", "1 ", "abc", "1x", "nan", "-nan", "1e", "1e+", ".", "0x", "0x.p1", "1\u{0}", "1e5000", "1e-5000", "--1"] {
            assert_eq!(incr(None, bad), Err(errors::NOT_FLOAT), "{bad:?}");
        }
        assert_eq!(incr(None, "inf"), Err(errors::NAN_OR_INF));
        assert_eq!(incr(Some("-Infinity"), "1"), Err(errors::NAN_OR_INF));
        assert_eq!(incr(Some("1e4932"), "1e4932"), Err(errors::NAN_OR_INF));
        assert_eq!(incr(Some("x"), "1"), Err(errors::NOT_FLOAT));
    }

    #[test]
    fn extreme_values_parse() {
        let tiny = LongDouble::parse(b"4e-4951").unwrap();
        assert_eq!(tiny, LongDouble::Finite { neg: false, mant: 1, exp: MIN_EXP as i32 });
        assert!(LongDouble::parse(b"1e-4952").is_none());
        assert!(LongDouble::parse(b"0e-99999").is_some());
        assert!(LongDouble::parse(b"1.18e4932").is_some());
        assert!(LongDouble::parse(b"1.19e4932").is_none());
        assert_eq!(LongDouble::parse(b"0x1p-2"), LongDouble::parse(b"0.25"));
    }

    #[test]
    fn keeps_ttl_and_type_checks() {
        let mut ks = Keyspace::new();
        assert_eq!(op_incr_by_float(&mut ks, b"k", b"1.5", 0), Ok(b"1.5".to_vec()));
        ks.set_expire(b"k", 50, 0);
        assert_eq!(op_incr_by_float(&mut ks, b"k", b"1", 0), Ok(b"2.5".to_vec()));
        assert_eq!(ks.expire_of(b"k", 0), Some(50));
        assert_eq!(op_incr_by_float(&mut ks, b"k", b"x", 0), Err(errors::NOT_FLOAT));
    }
}
