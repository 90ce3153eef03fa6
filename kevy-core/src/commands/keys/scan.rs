//! SCAN: a cursor that walks every shard in turn. The cursor is
//! `(shard << 48) | position`, position being the 48-bit hash position that
//! [`Keyspace::scan`] resumes from; the dispatcher runs each call on the shard the
//! cursor names (`Route::Pick`).

use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::routing::ShardId;
use crate::store::Keyspace;

pub const COMMANDS: &[Command] = &[Command::new("scan", -2, READONLY, KeySpec::NONE, scan).route(Route::Pick(scan_shard)).group("generic").summary("Incrementally iterate the keys space")];

const POSITION_BITS: u32 = 48;
const POSITION_MASK: u64 = (1 << POSITION_BITS) - 1;

/// Parses a cursor as Redis does (C `strtoul`, base 10): an optional sign ('-' wraps
/// around), digits, nothing after; no leading blank; the empty string is 0.
pub fn parse_cursor(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if negative { n.wrapping_neg() } else { n })
}

/// The shard a cursor names (not checked against the shard count).
fn cursor_shard(cursor: u64) -> u64 {
    cursor >> POSITION_BITS
}

/// `Route::Pick` for SCAN: the shard the cursor names; shard 0 for a bad cursor or
/// one past the last shard, where the handler answers without touching keys.
fn scan_shard(args: Args<'_>, shards: usize) -> ShardId {
    match parse_cursor(args.get(1)).map(cursor_shard) {
        Some(s) if s < shards as u64 => s as ShardId,
        _ => 0,
    }
}

/// What a SCAN-family command walks, which decides whether TYPE is an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOver {
    /// SCAN: the keyspace; TYPE filters keys by value type.
    Keys,
    /// HSCAN, SSCAN, ZSCAN: one key's value; TYPE is a syntax error there.
    Value,
}

/// The options of SCAN, HSCAN, SSCAN and ZSCAN after the cursor.
#[derive(Debug, PartialEq, Eq)]
pub struct ScanOptions<'a> {
    /// None for no pattern (also when the pattern is `*`).
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_name: Option<&'a [u8]>,
}

impl<'a> ScanOptions<'a> {
    /// Parses `[MATCH pattern] [COUNT count]` (and `[TYPE type]` for the keyspace) as
    /// Redis 7.0's `scanGenericCommand`: in any order, the last of a repeated option
    /// winning; a COUNT that is no integer is NOT_INTEGER, one below 1 a syntax error,
    /// and so is an unknown option or one without its value.
    pub fn parse(args: Args<'a>, from: usize, over: ScanOver) -> Result<Self, &'static str> {
        let mut opts = ScanOptions { pattern: None, count: 10, type_name: None };
        let mut i = from;
        while i < args.len() {
            let (arg, value) = (args.get(i), args.opt(i + 1).ok_or(errors::SYNTAX)?);
            if is(arg, "COUNT") {
                let n = parse_i64(value).ok_or(errors::NOT_INTEGER)?;
                if n < 1 {
                    return Err(errors::SYNTAX);
                }
                opts.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if is(arg, "MATCH") {
                opts.pattern = (value != b"*").then_some(value);
            } else if is(arg, "TYPE") && over == ScanOver::Keys {
                opts.type_name = Some(value);
            } else {
                return Err(errors::SYNTAX);
            }
            i += 2;
        }
        Ok(opts)
    }
}

/// What one SCAN step over one shard found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScanStep {
    /// The keys picked that passed the filters.
    pub keys: Vec<Vec<u8>>,
    /// Where to resume in this shard; None when it is done.
    pub next: Option<u64>,
    /// How many keys were picked before filtering (what COUNT bounds).
    pub examined: usize,
}

/// One SCAN step over one shard from hash position `from`, picking about `count`
/// keys, then filtering them by pattern and type as Redis does (after selection).
pub fn op_scan(ks: &mut Keyspace, from: u64, count: usize, opts: &ScanOptions<'_>, now_ms: u64) -> ScanStep {
    let (mut keys, next) = ks.scan(from, count, now_ms);
    let examined = keys.len();
    if let Some(pattern) = opts.pattern {
        keys.retain(|k| crate::glob::matches(pattern, k, false));
    }
    if let Some(wanted) = opts.type_name {
        keys.retain(|k| ks.get(k, now_ms).is_some_and(|e| e.value.type_name().as_bytes().eq_ignore_ascii_case(wanted)));
    }
    ScanStep { keys, next, examined }
}

/// The cursor after a step on `shard` of `shards`: the same shard further on, else
/// the next shard from its start, else 0 when the walk is over.
pub fn next_cursor(shard: ShardId, shards: usize, next: Option<u64>) -> u64 {
    match next {
        Some(pos) => (shard as u64) << POSITION_BITS | (pos & POSITION_MASK),
        None if shard + 1 < shards => ((shard + 1) as u64) << POSITION_BITS,
        None => 0,
    }
}

/// Walks from `cursor` (whose shard is valid) and returns the keys and the next cursor.
/// The named shard is the one the dispatcher locked. When it is done and COUNT is not
/// used up, the walk goes on into the following shards whose lock is free right now
/// (`try_lock`, in ascending shard order, the order every thread locks in), so a small
/// keyspace is scanned in one call as in Redis; a busy shard ends the call instead.
fn walk(ctx: &mut Ctx<'_>, cursor: u64, opts: &ScanOptions<'_>) -> (Vec<Vec<u8>>, u64) {
    let (shards, now) = (ctx.db.shards(), ctx.now_ms);
    let mut shard = cursor_shard(cursor) as ShardId;
    let mut from = cursor & POSITION_MASK;
    let mut keys = Vec::new();
    let mut examined = 0;
    loop {
        let budget = opts.count.saturating_sub(examined).max(1);
        let step = match ctx.db.shard(shard) {
            Some(ks) => op_scan(ks, from, budget, opts, now),
            None => match ctx.shared.try_lock(shard) {
                Some(mut ks) => op_scan(&mut ks, from, budget, opts, now),
                None => return (keys, next_cursor(shard, shards, Some(from))),
            },
        };
        keys.extend(step.keys);
        examined += step.examined;
        let next = next_cursor(shard, shards, step.next);
        if step.next.is_some() || next == 0 || examined >= opts.count {
            return (keys, next);
        }
        shard += 1;
        from = 0;
    }
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
fn scan(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(cursor) = parse_cursor(args.get(1)) else {
        return ctx.out.error(errors::INVALID_CURSOR);
    };
    let opts = match ScanOptions::parse(args, 2, ScanOver::Keys) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let (keys, next) = if cursor_shard(cursor) < ctx.db.shards() as u64 { walk(ctx, cursor, &opts) } else { (Vec::new(), 0) };
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(keys.len());
    for key in &keys {
        ctx.out.bulk(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::OwnedArgs;
    use crate::store::{Value, NO_EXPIRE};

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        for bad in [&b"abc"[..], b"1.5", b" 5", b"5 ", b"-", b"+", b"+-1"] {
            assert_eq!(parse_cursor(bad), None);
        }
    }

    type Parsed = (Option<Vec<u8>>, usize, Option<Vec<u8>>);

    fn opts(words: &[&str]) -> Result<Parsed, &'static str> {
        parse_for(ScanOver::Keys, words)
    }

    /// Parses `words` after `SCAN 0` (keys) or `HSCAN key 0` (a value).
    fn parse_for(over: ScanOver, words: &[&str]) -> Result<Parsed, &'static str> {
        let mut all = if over == ScanOver::Keys { vec!["scan", "0"] } else { vec!["hscan", "k", "0"] };
        let from = all.len();
        all.extend_from_slice(words);
        let owned = OwnedArgs::from_slices(all);
        let o = ScanOptions::parse(owned.args(), from, over)?;
        Ok((o.pattern.map(<[u8]>::to_vec), o.count, o.type_name.map(<[u8]>::to_vec)))
    }

    #[test]
    fn options() {
        assert_eq!(opts(&[]), Ok((None, 10, None)));
        assert_eq!(opts(&["match", "a*", "COUNT", "3", "type", "list"]), Ok((Some(b"a*".to_vec()), 3, Some(b"list".to_vec()))));
        assert_eq!(opts(&["MATCH", "*"]), Ok((None, 10, None)));
        assert_eq!(opts(&["COUNT", "0"]), Err(errors::SYNTAX));
        assert_eq!(opts(&["COUNT", "-1"]), Err(errors::SYNTAX));
        assert_eq!(opts(&["COUNT", "x"]), Err(errors::NOT_INTEGER));
        assert_eq!(opts(&["COUNT"]), Err(errors::SYNTAX));
        assert_eq!(opts(&["FOO", "bar"]), Err(errors::SYNTAX));
        assert_eq!(opts(&["COUNT", "5", "COUNT", "2", "MATCH", "a", "MATCH", "b"]), Ok((Some(b"b".to_vec()), 2, None)));
        assert_eq!(opts(&["COUNT", "9223372036854775808"]), Err(errors::NOT_INTEGER));
        assert_eq!(opts(&["TYPE"]), Err(errors::SYNTAX));
    }

    #[test]
    fn value_scans_take_no_type() {
        let value = |words: &[&str]| parse_for(ScanOver::Value, words);
        assert_eq!(value(&["MATCH", "f*", "count", "2"]), Ok((Some(b"f*".to_vec()), 2, None)));
        assert_eq!(value(&["TYPE", "string"]), Err(errors::SYNTAX));
        assert_eq!(value(&["COUNT", "0"]), Err(errors::SYNTAX));
        assert_eq!(value(&["COUNT", "1.5"]), Err(errors::NOT_INTEGER));
        assert_eq!(value(&["MATCH"]), Err(errors::SYNTAX));
        assert_eq!(value(&["NOVALUES"]), Err(errors::SYNTAX));
    }

    #[test]
    fn walks_all_shards_once() {
        let mut spaces: Vec<Keyspace> = (0..3).map(|_| Keyspace::new()).collect();
        for i in 0..300 {
            let key = format!("key:{i}");
            let shard = crate::store::routing::shard_of(key.as_bytes(), 3);
            spaces[shard].insert(key.as_bytes(), Value::Str(b"v".to_vec()), NO_EXPIRE);
        }
        let o = ScanOptions { pattern: Some(b"key:1*"), count: 7, type_name: Some(b"STRING") };
        let (mut seen, mut cursor, mut steps) = (Vec::new(), 0u64, 0);
        loop {
            let shard = cursor_shard(cursor) as usize;
            let step = op_scan(&mut spaces[shard], cursor & POSITION_MASK, o.count, &o, 0);
            assert!(step.examined <= 7 && step.keys.len() <= step.examined);
            seen.extend(step.keys);
            cursor = next_cursor(shard, 3, step.next);
            steps += 1;
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        let before = seen.len();
        seen.dedup();
        assert_eq!((before, seen.len()), (111, 111));
        assert!(steps >= 300 / 7);
        let none = ScanOptions { pattern: None, count: 1000, type_name: Some(b"list") };
        let step = op_scan(&mut spaces[0], 0, none.count, &none, 0);
        assert_eq!((step.keys.len(), step.next), (0, None));
        assert_eq!(step.examined, spaces[0].len());
    }
}
