//! Bit commands over strings: SETBIT GETBIT BITCOUNT BITPOS BITOP. BITFIELD and
//! BITFIELD_RO live in `field.rs`.
//!
//! A bitmap is a string: bit 0 is the most significant bit of the first byte. Writes
//! grow the string with zero bytes as SETRANGE does (`string::range::op_padded_string`);
//! offsets stop below `proto-max-bulk-len` bytes, as in Redis.

pub mod field;

use crate::commands::effects::{ev, class::{GENERIC, STRING}, On::Arg, When::Changed, traits::NOOP_UNLESS_CHANGED};
use crate::commands::set::Keyspaces;
use crate::commands::string::op_get;
use crate::commands::string::range::{max_bulk_len, op_padded_string};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("bitmap").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("setbit", 4, WRITE | DENYOOM, KeySpec::ONE, setbit, "Sets or clears the bit at offset in the string value stored at key").events(&[ev(STRING, "setbit", Arg(1), Changed)]).traits(NOOP_UNLESS_CHANGED),
    cmd("getbit", 3, READONLY | FAST, KeySpec::ONE, getbit, "Returns the bit value at offset in the string value stored at key"),
    cmd("bitcount", -2, READONLY, KeySpec::ONE, bitcount, "Count set bits in a string"),
    cmd("bitpos", -3, READONLY, KeySpec::ONE, bitpos, "Find first bit set or clear in a string"),
    // The destination (argument 2) is written, the sources read; they may sit on any
    // shards, which the dispatcher locks together. An empty result deletes the
    // destination: the handler signals that `del`.
    cmd("bitop", -4, WRITE | DENYOOM, KeySpec::new(2, -1, 1), bitop, "Perform bitwise operations between strings").events(&[ev(STRING, "set", Arg(2), Changed)]),
    cmd("bitfield", -2, WRITE | DENYOOM, KeySpec::ONE, field::bitfield, "Perform arbitrary bitfield integer operations on strings").events(&[ev(STRING, "setbit", Arg(1), Changed)]).traits(NOOP_UNLESS_CHANGED),
    cmd("bitfield_ro", -2, READONLY | FAST, KeySpec::ONE, field::bitfield_ro, "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD"),
];

// ---------------------------------------------------------------------------------
// Bits of a byte string

/// The mask of bit `offset` within its byte (bit 0 is the most significant).
fn bit_mask(offset: u64) -> u8 {
    0x80 >> (offset & 7)
}

/// The bits of a byte from `offset`'s bit to the last: 0xff for bit 0, 0x01 for bit 7.
fn from_bit(offset: u64) -> u8 {
    0xff >> (offset & 7)
}

/// The bits of a byte from the first up to `offset`'s bit: 0x80 for bit 0, 0xff for 7.
fn up_to_bit(offset: u64) -> u8 {
    !from_bit(offset) | bit_mask(offset)
}

/// Number of set bits in `bytes`, a word at a time.
fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail: u64 = words.remainder().iter().map(|b| b.count_ones() as u64).sum();
    words.map(|w| u64::from_ne_bytes(w.try_into().expect("8 bytes")).count_ones() as u64).sum::<u64>() + tail
}

/// Number of set bits among bits `lo..=hi` of `s` (both inside it).
pub fn count_ones(s: &[u8], lo: u64, hi: u64) -> u64 {
    let (first, last) = ((lo >> 3) as usize, (hi >> 3) as usize);
    let all = popcount(&s[first..=last]);
    let before = (s[first] & !from_bit(lo)).count_ones() as u64;
    let after = (s[last] & !up_to_bit(hi)).count_ones() as u64;
    all - before - after
}

/// The first of bits `lo..=hi` of `s` (both inside it) that is set (`want`) or clear.
pub fn find_bit(s: &[u8], want: bool, lo: u64, hi: u64) -> Option<u64> {
    let (first, last) = ((lo >> 3) as usize, (hi >> 3) as usize);
    let skip_word = if want { 0 } else { u64::MAX };
    let mut i = first;
    while i <= last {
        // Whole words strictly inside the range that hold nothing wanted are skipped.
        if i > first && i + 8 <= last {
            let word = u64::from_ne_bytes(s[i..i + 8].try_into().expect("8 bytes"));
            if word == skip_word {
                i += 8;
                continue;
            }
        }
        // The wanted bits of this byte, as ones.
        let mut hits = if want { s[i] } else { !s[i] };
        if i == first {
            hits &= from_bit(lo);
        }
        if i == last {
            hits &= up_to_bit(hi);
        }
        if hits != 0 {
            return Some(i as u64 * 8 + hits.leading_zeros() as u64);
        }
        i += 1;
    }
    None
}

/// The bits `lo..=hi` a BITCOUNT or BITPOS range covers; None when it is empty.
pub type BitSpan = Option<(u64, u64)>;

/// Redis's rules for the `start end` of BITCOUNT and BITPOS over a string of `len`
/// bytes, indexes counting bytes (or bits, with `in_bits`): negative ones count from
/// the end, then both are clamped into the string. The bits covered, `lo..=hi`, or
/// None when that is empty.
pub fn bit_span(len: usize, start: i64, end: i64, in_bits: bool) -> BitSpan {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let start = if start < 0 { total + start } else { start }.max(0);
    let end = if end < 0 { total + end } else { end }.max(0).min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits { (start, end) } else { (start * 8, end * 8 + 7) })
}

// ---------------------------------------------------------------------------------
// Operations on the keyspace

/// A bit offset as Redis parses it: a non-negative integer whose byte lies below
/// `max_len`. With a `width` (BITFIELD), `#N` means the N-th field of that width.
pub fn parse_bit_offset(arg: &[u8], width: Option<u32>, max_len: u64) -> Result<u64, &'static str> {
    let (digits, scale) = match (arg.first(), width) {
        (Some(b'#'), Some(width)) => (&arg[1..], width as i64),
        _ => (arg, 1),
    };
    // Redis multiplies in C's wrapping arithmetic; a wrap to a negative is refused.
    let offset = parse_i64(digits).ok_or(errors::BIT_OFFSET)?.wrapping_mul(scale);
    if offset < 0 || (offset as u64 >> 3) >= max_len {
        return Err(errors::BIT_OFFSET);
    }
    Ok(offset as u64)
}

/// SETBIT: sets or clears bit `offset` of the string under `key` (grown with zero bytes,
/// created when missing). Returns the bit's old value and whether the string changed.
pub fn op_setbit(ks: &mut Keyspace, key: &[u8], offset: u64, on: bool, now_ms: u64) -> Result<(bool, bool), &'static str> {
    let byte = (offset >> 3) as usize;
    let (s, grew) = op_padded_string(ks, key, byte + 1, now_ms)?;
    let mask = bit_mask(offset);
    let old = s[byte] & mask != 0;
    if on {
        s[byte] |= mask;
    } else {
        s[byte] &= !mask;
    }
    Ok((old, grew || old != on))
}

/// GETBIT: bit `offset` of the string under `key`; clear past its end or when missing.
pub fn op_getbit(ks: &mut Keyspace, key: &[u8], offset: u64, now_ms: u64) -> Result<bool, &'static str> {
    let s = op_get(ks, key, now_ms)?.unwrap_or_default();
    Ok(s.get((offset >> 3) as usize).is_some_and(|b| b & bit_mask(offset) != 0))
}

/// The four operations of BITOP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

impl BitOp {
    fn parse(arg: &[u8]) -> Option<BitOp> {
        [("and", BitOp::And), ("or", BitOp::Or), ("xor", BitOp::Xor), ("not", BitOp::Not)]
            .into_iter()
            .find(|(name, _)| is(arg, name))
            .map(|(_, op)| op)
    }
}

/// The string under a key [`op_bitop`] has checked: empty when missing.
fn source<'k, K: Keyspaces>(db: &'k mut K, key: &[u8], now_ms: u64) -> &'k [u8] {
    match db.ks(key).get(key, now_ms).map(|e| e.value) {
        Some(ValueRef::Str(s)) => s,
        _ => &[],
    }
}

/// BITOP: `op` over the strings under `keys` (missing ones are empty; shorter ones are
/// padded with zero bytes to the longest). NOT takes one key. The result is as long
/// as the longest source; WRONGTYPE if any key holds another type.
pub fn op_bitop<K: Keyspaces>(db: &mut K, op: BitOp, keys: &[&[u8]], now_ms: u64) -> Result<Vec<u8>, &'static str> {
    // Each key is read once as a lookup (hits and misses count as in Redis).
    let mut longest = 0;
    for &key in keys {
        longest = longest.max(op_get(db.ks(key), key, now_ms)?.map_or(0, <[u8]>::len));
    }
    if longest == 0 {
        return Ok(Vec::new());
    }
    let mut out = vec![0u8; longest];
    let first = source(db, keys[0], now_ms);
    out[..first.len()].copy_from_slice(first);
    if op == BitOp::Not {
        out.iter_mut().for_each(|b| *b = !*b);
        return Ok(out);
    }
    for &key in &keys[1..] {
        let src = source(db, key, now_ms);
        let (head, tail) = out.split_at_mut(src.len());
        let pairs = head.iter_mut().zip(src);
        match op {
            BitOp::And => {
                pairs.for_each(|(o, s)| *o &= s);
                tail.fill(0);
            }
            BitOp::Or => pairs.for_each(|(o, s)| *o |= s),
            BitOp::Xor => pairs.for_each(|(o, s)| *o ^= s),
            BitOp::Not => unreachable!("NOT has one source"),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------
// Handlers

/// SETBIT key offset value
fn setbit(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let offset = match parse_bit_offset(args.get(2), None, max_bulk_len(ctx)) {
        Ok(offset) => offset,
        Err(e) => return ctx.out.error(e),
    };
    let on = match parse_i64(args.get(3)) {
        Some(0) => false,
        Some(1) => true,
        _ => return ctx.out.error(errors::BIT_VALUE),
    };
    let key = args.get(1);
    match op_setbit(ctx.db.ks(key), key, offset, on, ctx.now_ms) {
        Ok((old, changed)) => {
            ctx.changed(changed as u64);
            ctx.out.int(old as i64)
        }
        Err(e) => ctx.out.error(e),
    }
}

/// GETBIT key offset
fn getbit(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let offset = match parse_bit_offset(args.get(2), None, max_bulk_len(ctx)) {
        Ok(offset) => offset,
        Err(e) => return ctx.out.error(e),
    };
    let key = args.get(1);
    match op_getbit(ctx.db.ks(key), key, offset, ctx.now_ms) {
        Ok(bit) => ctx.out.int(bit as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// An optional `BYTE | BIT`: true for BIT.
fn parse_unit(arg: &[u8]) -> Result<bool, &'static str> {
    if is(arg, "bit") {
        Ok(true)
    } else if is(arg, "byte") {
        Ok(false)
    } else {
        Err(errors::SYNTAX)
    }
}

/// BITCOUNT's range over a string of `len` bytes, in Redis 7.0's order of checks (the
/// key was looked up first). Ok(None): count nothing.
fn bitcount_span(args: Args<'_>, len: usize) -> Result<BitSpan, &'static str> {
    if args.len() == 2 {
        return Ok(bit_span(len, 0, -1, false));
    }
    if args.len() > 5 || args.len() == 3 {
        return Err(errors::SYNTAX);
    }
    let start = parse_i64(args.get(2)).ok_or(errors::NOT_INTEGER)?;
    let end = parse_i64(args.get(3)).ok_or(errors::NOT_INTEGER)?;
    // Both counted from the end, the start after the end: nothing, whatever follows.
    if start < 0 && end < 0 && start > end {
        return Ok(None);
    }
    let in_bits = match args.opt(4) {
        Some(unit) => parse_unit(unit)?,
        None => false,
    };
    Ok(bit_span(len, start, end, in_bits))
}

/// BITCOUNT key [start end [BYTE | BIT]]
fn bitcount(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let s = match op_get(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(s)) => s,
        Ok(None) => return ctx.out.int(0),
        Err(e) => return ctx.out.error(e),
    };
    match bitcount_span(args, s.len()) {
        Ok(Some((lo, hi))) => {
            let n = count_ones(s, lo, hi);
            ctx.out.int(n as i64)
        }
        Ok(None) => ctx.out.int(0),
        Err(e) => ctx.out.error(e),
    }
}

/// BITPOS's range over a string of `len` bytes, in Redis 7.0's order of checks, and
/// whether an end was given.
fn bitpos_span(args: Args<'_>, len: usize) -> Result<(BitSpan, bool), &'static str> {
    if args.len() == 3 {
        return Ok((bit_span(len, 0, -1, false), false));
    }
    if args.len() > 6 {
        return Err(errors::SYNTAX);
    }
    let start = parse_i64(args.get(3)).ok_or(errors::NOT_INTEGER)?;
    let in_bits = match args.opt(5) {
        Some(unit) => parse_unit(unit)?,
        None => false,
    };
    let end = match args.opt(4) {
        Some(end) => Some(parse_i64(end).ok_or(errors::NOT_INTEGER)?),
        None => None,
    };
    Ok((bit_span(len, start, end.unwrap_or(-1), in_bits), end.is_some()))
}

/// BITPOS key bit [start [end [BYTE | BIT]]]
fn bitpos(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let want = match parse_i64(args.get(2)) {
        Some(0) => false,
        Some(1) => true,
        Some(_) => return ctx.out.error(errors::BITPOS_BIT),
        None => return ctx.out.error(errors::NOT_INTEGER),
    };
    let key = args.get(1);
    let s = match op_get(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(s)) => s,
        // A missing key is an endless run of clear bits.
        Ok(None) => return ctx.out.int(if want { -1 } else { 0 }),
        Err(e) => return ctx.out.error(e),
    };
    let pos = match bitpos_span(args, s.len()) {
        Ok((Some((lo, hi)), end_given)) => match find_bit(s, want, lo, hi) {
            Some(at) => at as i64,
            // Without an end, the string counts as followed by clear bits.
            None if !want && !end_given => hi as i64 + 1,
            None => -1,
        },
        Ok((None, _)) => -1,
        Err(e) => return ctx.out.error(e),
    };
    ctx.out.int(pos);
}

/// BITOP <AND | OR | XOR | NOT> destkey key [key ...]
fn bitop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(op) = BitOp::parse(args.get(1)) else {
        return ctx.out.error(errors::SYNTAX);
    };
    if op == BitOp::Not && args.len() != 4 {
        return ctx.out.error(errors::BITOP_NOT_ONE_KEY);
    }
    let keys: Vec<&[u8]> = args.from(3).collect();
    let result = match op_bitop(&mut ctx.db, op, &keys, ctx.now_ms) {
        Ok(result) => result,
        Err(e) => return ctx.out.error(e),
    };
    let (dst, len) = (args.get(2), result.len());
    if len > 0 {
        ctx.db.ks(dst).insert(dst, Value::Str(result), NO_EXPIRE);
        ctx.changed(1);
    } else if ctx.db.ks(dst).remove(dst).is_some() {
        ctx.signal(GENERIC, "del", dst);
    }
    ctx.out.int(len as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks_with(pairs: &[(&str, &[u8])]) -> Keyspace {
        let mut ks = Keyspace::new();
        for (k, v) in pairs {
            ks.insert(k.as_bytes(), Value::Str(v.to_vec()), NO_EXPIRE);
        }
        ks
    }

    #[test]
    fn offsets_parse_like_redis() {
        let max = 512 << 20;
        assert_eq!(parse_bit_offset(b"0", None, max), Ok(0));
        assert_eq!(parse_bit_offset(b"4294967295", None, max), Ok(4_294_967_295));
        assert_eq!(parse_bit_offset(b"4294967296", None, max), Err(errors::BIT_OFFSET));
        assert_eq!(parse_bit_offset(b"-1", None, max), Err(errors::BIT_OFFSET));
        assert_eq!(parse_bit_offset(b"#3", None, max), Err(errors::BIT_OFFSET));
        assert_eq!(parse_bit_offset(b"#3", Some(8), max), Ok(24));
        assert_eq!(parse_bit_offset(b"#-1", Some(8), max), Err(errors::BIT_OFFSET));
        // 2^61 × 8 wraps to 0 in Redis's arithmetic.
        assert_eq!(parse_bit_offset(b"#2305843009213693952", Some(8), max), Ok(0));
        assert_eq!(parse_bit_offset(b"15", None, 2), Ok(15));
        assert_eq!(parse_bit_offset(b"16", None, 2), Err(errors::BIT_OFFSET));
    }

    #[test]
    fn setbit_grows_and_reports_changes() {
        let mut ks = Keyspace::new();
        assert_eq!(op_setbit(&mut ks, b"k", 9, true, 0), Ok((false, true)));
        assert_eq!(op_get(&mut ks, b"k", 0).unwrap(), Some(&[0x00, 0x40][..]));
        assert_eq!(op_setbit(&mut ks, b"k", 9, true, 0), Ok((true, false)));
        assert_eq!(op_setbit(&mut ks, b"k", 9, false, 0), Ok((true, true)));
        assert_eq!(op_setbit(&mut ks, b"k", 31, false, 0), Ok((false, true)));
        assert_eq!(op_get(&mut ks, b"k", 0).unwrap(), Some(&[0u8; 4][..]));
        assert_eq!(op_getbit(&mut ks, b"k", 1000, 0), Ok(false));
        ks.insert(b"h", Value::Hash(Default::default()), NO_EXPIRE);
        assert_eq!(op_setbit(&mut ks, b"h", 0, true, 0), Err(errors::WRONGTYPE));
        assert_eq!(op_getbit(&mut ks, b"h", 0, 0), Err(errors::WRONGTYPE));
    }

    #[test]
    fn spans_follow_redis_index_rules() {
        assert_eq!(bit_span(6, 0, -1, false), Some((0, 47)));
        assert_eq!(bit_span(6, 1, 1, false), Some((8, 15)));
        assert_eq!(bit_span(6, -100, 100, true), Some((0, 47)));
        assert_eq!(bit_span(6, 5, 1, true), None);
        assert_eq!(bit_span(0, 0, -1, false), None);
        assert_eq!(bit_span(1, i64::MIN, i64::MAX, false), Some((0, 7)));
    }

    #[test]
    fn counting_and_finding_bits_in_ranges() {
        let s = b"foobar";
        assert_eq!(count_ones(s, 0, 47), 26);
        assert_eq!(count_ones(s, 8, 15), 6);
        assert_eq!(count_ones(s, 5, 30), 17);
        assert_eq!(count_ones(&[0xff], 3, 3), 1);
        let s = [0x00, 0x00, 0x01, 0xff, 0xf0];
        assert_eq!(find_bit(&s, true, 0, 39), Some(23));
        assert_eq!(find_bit(&s, false, 24, 39), Some(36));
        assert_eq!(find_bit(&s, true, 24, 27), Some(24));
        assert_eq!(find_bit(&s, false, 24, 35), None);
        let long: Vec<u8> = std::iter::repeat_n(0u8, 40).chain([0x08]).collect();
        assert_eq!(find_bit(&long, true, 3, 40 * 8 + 7), Some(40 * 8 + 4));
        assert_eq!(find_bit(&long, true, 3, 40 * 8 + 3), None);
    }

    #[test]
    fn bitop_pads_and_checks_types() {
        let mut ks = ks_with(&[("a", b"\xff\x0f"), ("b", b"\x0f"), ("s", b"x")]);
        let keys = |k: &[&'static str]| k.iter().map(|k| k.as_bytes()).collect::<Vec<_>>();
        assert_eq!(op_bitop(&mut ks, BitOp::And, &keys(&["a", "b"]), 0), Ok(vec![0x0f, 0x00]));
        assert_eq!(op_bitop(&mut ks, BitOp::Or, &keys(&["b", "a"]), 0), Ok(vec![0xff, 0x0f]));
        assert_eq!(op_bitop(&mut ks, BitOp::Xor, &keys(&["a", "b", "none"]), 0), Ok(vec![0xf0, 0x0f]));
        assert_eq!(op_bitop(&mut ks, BitOp::Not, &keys(&["b"]), 0), Ok(vec![0xf0]));
        assert_eq!(op_bitop(&mut ks, BitOp::Or, &keys(&["none", "nada"]), 0), Ok(vec![]));
        ks.insert(b"h", Value::Hash(Default::default()), NO_EXPIRE);
        assert_eq!(op_bitop(&mut ks, BitOp::Or, &keys(&["none", "h"]), 0), Err(errors::WRONGTYPE));
    }
}
