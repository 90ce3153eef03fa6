//! String commands over parts of a value: APPEND GETRANGE SUBSTR SETRANGE LCS.

use crate::commands::effects::{ev, class::STRING, On::Arg, When::Always};
use std::sync::atomic::Ordering;

use crate::commands::string::op_get;
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::{Keyspace, Value, NO_EXPIRE};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("string").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("append", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, append, "Append a value to a key").events(&[ev(STRING, "append", Arg(1), Always)]),
    cmd("getrange", 4, READONLY, KeySpec::ONE, getrange, "Get a substring of the string stored at a key"),
    cmd("substr", 4, READONLY, KeySpec::ONE, getrange, "Get a substring of the string stored at a key"),
    cmd("setrange", 4, WRITE | DENYOOM, KeySpec::ONE, setrange, "Overwrite part of a string at key starting at the specified offset").events(&[ev(STRING, "setrange", Arg(1), Always)]),
    cmd("lcs", -3, READONLY, KeySpec::new(1, 2, 1), lcs, "Find longest common substring"),
];

// ---------------------------------------------------------------------------------
// Operations on the keyspace

/// Appends `tail` to the string under `key` (created when missing), keeping its
/// deadline. Returns the new length; a result longer than `max_len` is refused.
pub fn op_append(ks: &mut Keyspace, key: &[u8], tail: &[u8], max_len: u64, now_ms: u64) -> Result<usize, &'static str> {
    match ks.get_mut(key, now_ms) {
        None => {
            ks.insert(key, Value::Str(tail.to_vec()), NO_EXPIRE);
            Ok(tail.len())
        }
        Some(Value::Str(s)) => {
            if (s.len() + tail.len()) as u64 > max_len {
                return Err(errors::STRING_TOO_LONG);
            }
            s.extend_from_slice(tail);
            Ok(s.len())
        }
        #[allow(unreachable_patterns)]
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// The bytes `start..=end` of the string under `key` (negative indexes count from the
/// end, out-of-range ones are clamped); empty when the key is missing.
pub fn op_getrange<'k>(ks: &'k mut Keyspace, key: &[u8], start: i64, end: i64, now_ms: u64) -> Result<&'k [u8], &'static str> {
    let s = op_get(ks, key, now_ms)?.unwrap_or_default();
    Ok(&s[clamp_range(s.len(), start, end)])
}

/// Redis's GETRANGE index rules over a string of `len` bytes.
fn clamp_range(len: usize, start: i64, end: i64) -> std::ops::Range<usize> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return 0..0;
    }
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { (len + end).max(0) } else { end }.min(len - 1);
    if len == 0 || start > end {
        return 0..0;
    }
    start as usize..end as usize + 1
}

/// Writes `value` at `offset` into the string under `key`, zero-padding as needed and
/// keeping its deadline. Returns the new length. An empty `value` changes nothing (and
/// creates no key); a result longer than `max_len` is refused.
pub fn op_setrange(ks: &mut Keyspace, key: &[u8], offset: u64, value: &[u8], max_len: u64, now_ms: u64) -> Result<usize, &'static str> {
    match ks.get_mut(key, now_ms) {
        None if value.is_empty() => return Ok(0),
        Some(Value::Str(s)) if value.is_empty() => return Ok(s.len()),
        None | Some(Value::Str(_)) => {}
        #[allow(unreachable_patterns)]
        Some(_) => return Err(errors::WRONGTYPE),
    }
    if offset + value.len() as u64 > max_len {
        return Err(errors::STRING_TOO_LONG);
    }
    let (from, to) = (offset as usize, offset as usize + value.len());
    let (s, _) = op_padded_string(ks, key, to, now_ms)?;
    s[from..to].copy_from_slice(value);
    Ok(s.len())
}

/// The string under `key` for a write into part of it (SETRANGE, SETBIT, BITFIELD):
/// zero-padded to at least `len` bytes, created when missing, its deadline kept. Also
/// says whether it grew (a new key grew from nothing). The caller bounds `len`.
pub fn op_padded_string<'k>(ks: &'k mut Keyspace, key: &[u8], len: usize, now_ms: u64) -> Result<(&'k mut Vec<u8>, bool), &'static str> {
    if ks.get_mut(key, now_ms).is_none() {
        ks.insert(key, Value::Str(Vec::new()), NO_EXPIRE);
    }
    match ks.get_mut(key, now_ms) {
        Some(Value::Str(s)) => {
            let grew = s.len() < len;
            if s.len() < len {
                s.resize(len, 0);
            }
            Ok((s, grew))
        }
        _ => Err(errors::WRONGTYPE),
    }
}

/// The string under `key` for LCS: empty when missing, Err when another type.
pub fn op_lcs_input(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> Result<Vec<u8>, &'static str> {
    match op_get(ks, key, now_ms) {
        Ok(v) => Ok(v.unwrap_or_default().to_vec()),
        Err(_) => Err(errors::LCS_NOT_STRINGS),
    }
}

/// One run of consecutive common bytes: `a[a_start..=a_end] == b[b_start..=b_end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LcsMatch {
    pub a_start: usize,
    pub a_end: usize,
    pub b_start: usize,
    pub b_end: usize,
}

impl LcsMatch {
    /// Number of bytes in the run.
    pub fn match_len(&self) -> usize {
        self.a_end - self.a_start + 1
    }
}

/// The longest common subsequence of `a` and `b` and, last first, the runs it is made
/// of, chosen as Redis chooses them (walking back from the ends, preferring to drop a
/// byte of `b` on ties).
pub fn lcs_of(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<LcsMatch>) {
    let w = b.len() + 1;
    // table[i * w + j]: LCS length of a[..i] and b[..j].
    let mut table = vec![0u32; (a.len() + 1) * w];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let mut text = Vec::with_capacity(table[a.len() * w + b.len()] as usize);
    let mut runs = Vec::new();
    let mut run: Option<LcsMatch> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            text.push(a[i - 1]);
            let r = run.get_or_insert(LcsMatch { a_start: i - 1, a_end: i - 1, b_start: j - 1, b_end: j - 1 });
            (r.a_start, r.b_start) = (i - 1, j - 1);
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            runs.extend(run.take());
        }
    }
    runs.extend(run.take());
    text.reverse();
    (text, runs)
}

// ---------------------------------------------------------------------------------
// Handlers

/// The longest string a client may build (`proto-max-bulk-len`).
pub fn max_bulk_len(ctx: &Ctx<'_>) -> u64 {
    ctx.shared.config().proto_max_bulk_len.load(Ordering::Relaxed)
}

/// APPEND key value
fn append(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, tail, max) = (args.get(1), args.get(2), max_bulk_len(ctx));
    match op_append(ctx.db.ks(key), key, tail, max, ctx.now_ms) {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// GETRANGE key start end (and SUBSTR key start end)
fn getrange(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (Some(start), Some(end)) = (parse_i64(args.get(2)), parse_i64(args.get(3))) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let key = args.get(1);
    match op_getrange(ctx.db.ks(key), key, start, end, ctx.now_ms) {
        Ok(v) => ctx.out.bulk(v),
        Err(e) => ctx.out.error(e),
    }
}

/// SETRANGE key offset value
fn setrange(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let offset = match parse_i64(args.get(2)) {
        Some(n) if n < 0 => return ctx.out.error(errors::OFFSET_RANGE),
        Some(n) => n as u64,
        None => return ctx.out.error(errors::NOT_INTEGER),
    };
    let (key, value, max) = (args.get(1), args.get(3), max_bulk_len(ctx));
    match op_setrange(ctx.db.ks(key), key, offset, value, max, ctx.now_ms) {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// What LCS was asked to reply.
#[derive(Default)]
struct LcsArgs {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: usize,
}

fn parse_lcs_args(args: Args<'_>) -> Result<LcsArgs, &'static str> {
    let mut o = LcsArgs::default();
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        if is(opt, "idx") {
            o.idx = true;
        } else if is(opt, "len") {
            o.len = true;
        } else if is(opt, "withmatchlen") {
            o.with_match_len = true;
        } else if is(opt, "minmatchlen") && i + 1 < args.len() {
            let n = parse_i64(args.get(i + 1)).ok_or(errors::NOT_INTEGER)?;
            o.min_match_len = n.max(0) as usize;
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    if o.idx && o.len {
        return Err(errors::LCS_LEN_AND_IDX);
    }
    Ok(o)
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
fn lcs(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (k1, k2, now) = (args.get(1), args.get(2), ctx.now_ms);
    let a = op_lcs_input(ctx.db.ks(k1), k1, now);
    let b = op_lcs_input(ctx.db.ks(k2), k2, now);
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return ctx.out.error(e),
    };
    let o = match parse_lcs_args(args) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let table_bytes = (a.len() as u128 + 1) * (b.len() as u128 + 1) * 4;
    if table_bytes > max_bulk_len(ctx) as u128 {
        return ctx.out.error(errors::LCS_TOO_BIG);
    }
    let (text, runs) = lcs_of(&a, &b);
    if o.len {
        return ctx.out.int(text.len() as i64);
    }
    if !o.idx {
        return ctx.out.bulk(&text);
    }
    let runs: Vec<_> = runs.into_iter().filter(|r| r.match_len() >= o.min_match_len).collect();
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(runs.len());
    for r in runs {
        ctx.out.array(if o.with_match_len { 3 } else { 2 });
        for (start, end) in [(r.a_start, r.a_end), (r.b_start, r.b_end)] {
            ctx.out.array(2);
            ctx.out.int(start as i64);
            ctx.out.int(end as i64);
        }
        if o.with_match_len {
            ctx.out.int(r.match_len() as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(text.len() as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks_with(key: &str, v: &str) -> Keyspace {
        let mut ks = Keyspace::new();
        ks.insert(key.as_bytes(), Value::Str(v.as_bytes().to_vec()), NO_EXPIRE);
        ks
    }

    #[test]
    fn append_creates_grows_and_limits() {
        let mut ks = Keyspace::new();
        assert_eq!(op_append(&mut ks, b"k", b"", 10, 0), Ok(0));
        assert!(ks.contains(b"k", 0));
        assert_eq!(op_append(&mut ks, b"k", b"hello", 10, 0), Ok(5));
        assert_eq!(op_append(&mut ks, b"k", b"world", 10, 0), Ok(10));
        assert_eq!(op_append(&mut ks, b"k", b"!", 10, 0), Err(errors::STRING_TOO_LONG));
        ks.set_expire(b"k", 99, 0);
        op_append(&mut ks, b"k", b"", 10, 0).unwrap();
        assert_eq!(ks.expire_of(b"k", 0), Some(99));
    }

    #[test]
    fn getrange_clamps_like_redis() {
        let mut ks = ks_with("s", "Hello World");
        let mut r = |a, b| String::from_utf8(op_getrange(&mut ks, b"s", a, b, 0).unwrap().to_vec()).unwrap();
        assert_eq!(r(0, 4), "Hello");
        assert_eq!(r(-5, -1), "World");
        assert_eq!(r(-100, 100), "Hello World");
        assert_eq!(r(5, 3), "");
        assert_eq!(r(-1, -5), "");
        assert_eq!(r(0, -100), "H");
        assert_eq!(r(11, 20), "");
        assert_eq!(r(i64::MIN, -1), "Hello World");
        assert_eq!(op_getrange(&mut ks, b"none", 0, -1, 0), Ok(&b""[..]));
        let mut e = ks_with("e", "");
        assert_eq!(op_getrange(&mut e, b"e", 0, -1, 0), Ok(&b""[..]));
    }

    #[test]
    fn setrange_pads_and_limits() {
        let mut ks = Keyspace::new();
        assert_eq!(op_setrange(&mut ks, b"k", 5, b"", 100, 0), Ok(0));
        assert!(!ks.contains(b"k", 0));
        assert_eq!(op_setrange(&mut ks, b"k", 2, b"ab", 100, 0), Ok(4));
        assert_eq!(op_get(&mut ks, b"k", 0).unwrap(), Some(&b"\0\0ab"[..]));
        assert_eq!(op_setrange(&mut ks, b"k", 0, b"xyz", 100, 0), Ok(4));
        assert_eq!(op_get(&mut ks, b"k", 0).unwrap(), Some(&b"xyzb"[..]));
        assert_eq!(op_setrange(&mut ks, b"k", 99, b"ab", 100, 0), Err(errors::STRING_TOO_LONG));
        assert_eq!(op_setrange(&mut ks, b"k", 1000, b"", 100, 0), Ok(4));
    }

    #[test]
    fn lcs_text_and_runs() {
        let (text, runs) = lcs_of(b"ohmytext", b"mynewtext");
        assert_eq!(text, b"mytext");
        let m = |a_start, a_end, b_start, b_end| LcsMatch { a_start, a_end, b_start, b_end };
        assert_eq!(runs, vec![m(4, 7, 5, 8), m(2, 3, 0, 1)]);
        let (text, _) = lcs_of(b"ABCBDAB", b"BDCABA");
        assert_eq!(text.len(), 4);
        assert_eq!(lcs_of(b"", b"abc"), (Vec::new(), Vec::new()));
    }
}
