//! Sorted-set commands: adding, removing, scores and ranks, popping, random members
//! and ZSCAN. Ranges are in `range.rs`, the multi-set operations (ZUNION...) in
//! `ops.rs`, argument parsing in `parse.rs`; the structure in `types/zset.rs`.

pub mod blocking;
pub mod ops;
pub mod parse;
pub mod range;

use crate::commands::effects::{ev, class::ZSET, On::Arg, When::Changed, traits};
use crate::commands::keys::scan::{parse_cursor, ScanOptions, ScanOver};
use crate::commands::zset::parse::parse_score;
use crate::commands::{errors, flags::*, is, numkeys_positions, Command, Ctx, KeySpec, Route};
use crate::random::{pick_distinct, random_below};
use crate::resp::parser::parse_i64;
use crate::resp::{Args, ReplyWriter};
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};
use crate::types::zset::ZSet;

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::ONE, handler).group("sorted-set").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("zadd", -4, WRITE | DENYOOM | FAST, zadd, "Add one or more members to a sorted set, or update its score if it already exists"),
    cmd("zincrby", 4, WRITE | DENYOOM | FAST, zincrby, "Increment the score of a member in a sorted set"),
    cmd("zrem", -3, WRITE | FAST, zrem, "Remove one or more members from a sorted set").events(&[ev(ZSET, "zrem", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("zcard", 2, READONLY | FAST, zcard, "Get the number of members in a sorted set"),
    cmd("zscore", 3, READONLY | FAST, zscore, "Get the score associated with the given member in a sorted set"),
    cmd("zmscore", -3, READONLY | FAST, zmscore, "Get the score associated with the given members in a sorted set"),
    cmd("zrank", 3, READONLY | FAST, zrank, "Determine the index of a member in a sorted set"),
    cmd(
        "zrevrank",
        3,
        READONLY | FAST,
        zrevrank,
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
    ),
    cmd("zpopmin", -2, WRITE | FAST, zpopmin, "Remove and return members with the lowest scores in a sorted set").events(&[ev(ZSET, "zpopmin", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("zpopmax", -2, WRITE | FAST, zpopmax, "Remove and return members with the highest scores in a sorted set").events(&[ev(ZSET, "zpopmax", Arg(1), Changed)]).traits(traits::REMOVES),
    Command::new("zmpop", -4, WRITE, KeySpec::NONE, zmpop).traits(traits::REMOVES).route(Route::KeyPositions(zmpop_keys)).group("sorted-set").summary("Remove and return members with scores in a sorted set"),
    cmd("zrandmember", -2, READONLY, zrandmember, "Get one or multiple random elements from a sorted set"),
    cmd("zscan", -3, READONLY, zscan, "Incrementally iterate sorted sets elements and associated scores"),
];

// ---------------------------------------------------------------- lookups

/// The sorted set under `key`, for reading (counts a keyspace hit or miss).
pub fn read_zset<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k ZSet>, &'static str> {
    match ks.read(key, now_ms).map(|e| e.value) {
        None => Ok(None),
        Some(ValueRef::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// The sorted set under `key`, for changing in place.
pub fn write_zset<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k mut ZSet>, &'static str> {
    match ks.get(key, now_ms).map(|e| e.value) {
        None => return Ok(None),
        Some(ValueRef::ZSet(_)) => {}
        Some(_) => return Err(errors::WRONGTYPE),
    }
    match ks.get_mut(key, now_ms) {
        Some(Value::ZSet(z)) => Ok(Some(z)),
        _ => Ok(None),
    }
}

/// Stores a computed set under `key` (replacing any value and deadline), or deletes
/// `key` when the set is empty, as Redis's STORE commands do. Returns the size.
pub fn store_zset(ks: &mut Keyspace, key: &[u8], set: ZSet) -> usize {
    let n = set.len();
    if n == 0 {
        ks.remove(key);
    } else {
        ks.insert(key, Value::ZSet(set), NO_EXPIRE);
    }
    n
}

/// Deletes `key` if the set under it became empty.
fn drop_if_empty(ks: &mut Keyspace, key: &[u8], now_ms: u64) {
    if matches!(ks.get(key, now_ms).map(|e| e.value), Some(ValueRef::ZSet(z)) if z.is_empty()) {
        ks.remove(key);
    }
}

// ---------------------------------------------------------------- replies

/// Writes elements: members only, or with scores (flat in RESP2, [member, score]
/// pairs in RESP3), as Redis replies to ZRANGE and friends.
pub fn reply_entries<'a>(out: &mut ReplyWriter<'_>, entries: impl ExactSizeIterator<Item = (&'a [u8], f64)>, withscores: bool) {
    let n = entries.len();
    let pairs = withscores && out.is_resp3();
    out.array(if withscores && !pairs { 2 * n } else { n });
    for (member, score) in entries {
        if pairs {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            out.double(score);
        }
    }
}

/// Writes popped elements: [member, score] pairs when `nested`, else one flat array.
fn reply_popped(out: &mut ReplyWriter<'_>, popped: &[(Vec<u8>, f64)], nested: bool) {
    out.array(if nested { popped.len() } else { 2 * popped.len() });
    for (member, score) in popped {
        if nested {
            out.array(2);
        }
        out.bulk(member);
        out.double(*score);
    }
}

// ---------------------------------------------------------------- ZADD / ZINCRBY

/// ZADD's options.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

/// What a ZADD did.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct AddOutcome {
    pub added: usize,
    pub updated: usize,
    /// Elements not skipped by NX/XX/GT/LT.
    pub processed: usize,
    /// The score of the last element processed (what INCR replies).
    pub score: f64,
}

/// (score, member) pairs to add.
type Pairs<'a> = Vec<(f64, &'a [u8])>;

/// Parses `[NX|XX] [GT|LT] [CH] [INCR] score member ...` from argument 2 on.
fn parse_add(args: Args<'_>) -> Result<(AddFlags, Pairs<'_>), &'static str> {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        let flag = if is(a, "nx") {
            &mut f.nx
        } else if is(a, "xx") {
            &mut f.xx
        } else if is(a, "gt") {
            &mut f.gt
        } else if is(a, "lt") {
            &mut f.lt
        } else if is(a, "ch") {
            &mut f.ch
        } else if is(a, "incr") {
            &mut f.incr
        } else {
            break;
        };
        *flag = true;
        i += 1;
    }
    let n = args.len() - i;
    if n == 0 || n % 2 != 0 {
        return Err(errors::SYNTAX);
    }
    if f.nx && f.xx {
        return Err(errors::ZADD_XX_AND_NX);
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(errors::ZADD_GT_LT_NX);
    }
    if f.incr && n > 2 {
        return Err(errors::ZADD_INCR_PAIRS);
    }
    let pairs = (i..args.len()).step_by(2).map(|j| Ok((parse_score(args.get(j)).ok_or(errors::NOT_FLOAT)?, args.get(j + 1))));
    Ok((f, pairs.collect::<Result<_, &'static str>>()?))
}

/// One element of a ZADD. Err when INCR makes the score NaN.
fn add_one(set: &mut ZSet, score: f64, member: &[u8], f: AddFlags, out: &mut AddOutcome) -> Result<(), &'static str> {
    match set.score(member) {
        Some(_) if f.nx => {}
        Some(current) => {
            let score = if f.incr { score + current } else { score };
            if score.is_nan() {
                return Err(errors::ZSCORE_NAN);
            }
            if (f.lt && score >= current) || (f.gt && score <= current) {
                return Ok(());
            }
            if score != current {
                set.insert(member, score);
                out.updated += 1;
            }
            out.processed += 1;
            out.score = score;
        }
        None if f.xx => {}
        None => {
            set.insert(member, score);
            out.added += 1;
            out.processed += 1;
            out.score = score;
        }
    }
    Ok(())
}

/// Adds or updates `pairs` (score, member) in the set under `key`, creating it
/// unless XX is given.
pub fn op_zadd(ks: &mut Keyspace, key: &[u8], f: AddFlags, pairs: &[(f64, &[u8])], now_ms: u64) -> Result<AddOutcome, &'static str> {
    let mut out = AddOutcome::default();
    match ks.get(key, now_ms).map(|e| e.value) {
        Some(ValueRef::ZSet(_)) => {}
        Some(_) => return Err(errors::WRONGTYPE),
        None if f.xx => return Ok(out),
        None => ks.insert(key, Value::ZSet(ZSet::new()), NO_EXPIRE),
    }
    let Some(Value::ZSet(set)) = ks.get_mut(key, now_ms) else { return Ok(out) };
    for &(score, member) in pairs {
        add_one(set, score, member, f, &mut out)?;
    }
    Ok(out)
}

fn reply_add(ctx: &mut Ctx<'_>, key: &[u8], f: AddFlags, pairs: &[(f64, &[u8])]) {
    match op_zadd(ctx.db.ks(key), key, f, pairs, ctx.now_ms) {
        Err(e) => ctx.out.error(e),
        Ok(o) if f.incr && o.processed > 0 => {
            ctx.signal(ZSET, "zincr", key);
            ctx.out.double(o.score)
        }
        Ok(_) if f.incr => ctx.out.null(),
        Ok(o) => {
            let n = if f.ch { o.added + o.updated } else { o.added };
            if n > 0 {
                ctx.signal(ZSET, "zadd", key);
            }
            ctx.out.int(n as i64)
        }
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
fn zadd(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match parse_add(args) {
        Ok((f, pairs)) => reply_add(ctx, args.get(1), f, &pairs),
        Err(e) => ctx.out.error(e),
    }
}

/// ZINCRBY key increment member
fn zincrby(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(incr) = parse_score(args.get(2)) else {
        return ctx.out.error(errors::NOT_FLOAT);
    };
    let f = AddFlags { incr: true, ..AddFlags::default() };
    reply_add(ctx, args.get(1), f, &[(incr, args.get(3))]);
}

// ---------------------------------------------------------------- ZREM, reads

/// Removes `members`; deletes the key once empty. Returns how many were removed.
pub fn op_zrem<'a>(ks: &mut Keyspace, key: &[u8], members: impl Iterator<Item = &'a [u8]>, now_ms: u64) -> Result<usize, &'static str> {
    let Some(set) = write_zset(ks, key, now_ms)? else { return Ok(0) };
    let mut removed = 0;
    for m in members {
        removed += usize::from(set.remove(m).is_some());
        if set.is_empty() {
            break;
        }
    }
    drop_if_empty(ks, key, now_ms);
    Ok(removed)
}

/// ZREM key member [member ...]
fn zrem(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match op_zrem(ctx.db.ks(key), key, args.from(2), ctx.now_ms) {
        Ok(n) => ctx.reply_changes(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// ZCARD key
fn zcard(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match read_zset(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(z) => ctx.out.int(z.map_or(0, ZSet::len) as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// ZSCORE key member
fn zscore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match read_zset(ctx.db.ks(key), key, ctx.now_ms).map(|z| z.and_then(|z| z.score(args.get(2)))) {
        Ok(Some(score)) => ctx.out.double(score),
        Ok(None) => ctx.out.null(),
        Err(e) => ctx.out.error(e),
    }
}

/// ZMSCORE key member [member ...]
fn zmscore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let set = match read_zset(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(z) => z,
        Err(e) => return ctx.out.error(e),
    };
    let out = &mut ctx.out;
    out.array(args.len() - 2);
    for m in args.from(2) {
        match set.and_then(|z| z.score(m)) {
            Some(score) => out.double(score),
            None => out.null(),
        }
    }
}

/// The 0-based rank of `member`, from the lowest score or (`reverse`) the highest.
pub fn op_zrank(ks: &mut Keyspace, key: &[u8], member: &[u8], reverse: bool, now_ms: u64) -> Result<Option<usize>, &'static str> {
    let Some(set) = read_zset(ks, key, now_ms)? else { return Ok(None) };
    Ok(set.rank(member).map(|r| if reverse { set.len() - 1 - r } else { r }))
}

fn rank(ctx: &mut Ctx<'_>, args: Args<'_>, reverse: bool) {
    let key = args.get(1);
    match op_zrank(ctx.db.ks(key), key, args.get(2), reverse, ctx.now_ms) {
        Ok(Some(r)) => ctx.out.int(r as i64),
        Ok(None) => ctx.out.null(),
        Err(e) => ctx.out.error(e),
    }
}

/// ZRANK key member
fn zrank(ctx: &mut Ctx<'_>, args: Args<'_>) {
    rank(ctx, args, false);
}

/// ZREVRANK key member
fn zrevrank(ctx: &mut Ctx<'_>, args: Args<'_>) {
    rank(ctx, args, true);
}

// ---------------------------------------------------------------- popping

/// Removes and returns up to `count` elements with the lowest (or with `max`, the
/// highest) scores, best first; deletes the key once empty. A missing key gives an
/// empty list. The blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) reuse this.
pub fn op_zpop(ks: &mut Keyspace, key: &[u8], max: bool, count: usize, now_ms: u64) -> Result<Vec<(Vec<u8>, f64)>, &'static str> {
    let Some(set) = write_zset(ks, key, now_ms)? else { return Ok(Vec::new()) };
    let popped: Vec<_> = (0..count.min(set.len())).filter_map(|_| set.pop(max)).collect();
    drop_if_empty(ks, key, now_ms);
    Ok(popped)
}

fn zpop(ctx: &mut Ctx<'_>, args: Args<'_>, max: bool) {
    if args.len() > 3 {
        return ctx.out.error(errors::SYNTAX);
    }
    let count = match args.opt(2).map(parse_i64) {
        None => None,
        Some(Some(n)) if n >= 0 => Some(n as usize),
        Some(_) => return ctx.out.error(errors::MUST_BE_POSITIVE),
    };
    let key = args.get(1);
    match op_zpop(ctx.db.ks(key), key, max, count.unwrap_or(1), ctx.now_ms) {
        Ok(popped) => {
            ctx.changed(popped.len() as u64);
            let nested = count.is_some() && ctx.out.is_resp3();
            reply_popped(&mut ctx.out, &popped, nested);
        }
        Err(e) => ctx.out.error(e),
    }
}

/// ZPOPMIN key [count]
fn zpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) {
    zpop(ctx, args, false);
}

/// ZPOPMAX key [count]
fn zpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) {
    zpop(ctx, args, true);
}

/// ZMPOP's keys: `numkeys key [key ...]` at 1.
fn zmpop_keys(args: Args<'_>) -> Option<Vec<usize>> {
    numkeys_positions(args, 1)
}

/// Parses ZMPOP's (and BZMPOP's) `numkeys key... MIN|MAX [COUNT count]` with the
/// count at `at`: (number of keys, max, count).
pub fn parse_mpop(args: Args<'_>, at: usize) -> Result<(usize, bool, usize), &'static str> {
    let numkeys = match parse_i64(args.get(at)) {
        Some(n) if n > 0 => n as usize,
        _ => return Err(errors::ZNUMKEYS_NOT_POSITIVE),
    };
    let side = at.checked_add(numkeys + 1).and_then(|i| args.opt(i)).ok_or(errors::SYNTAX)?;
    let max = match side {
        s if is(s, "min") => false,
        s if is(s, "max") => true,
        _ => return Err(errors::SYNTAX),
    };
    let mut count = None;
    let mut j = at + numkeys + 2;
    while j < args.len() {
        if count.is_none() && is(args.get(j), "count") && j + 1 < args.len() {
            match parse_i64(args.get(j + 1)) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err(errors::ZCOUNT_NOT_POSITIVE),
            }
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok((numkeys, max, count.unwrap_or(1)))
}

/// Reports `popped` members taken from `key` by a multi-key pop (ZMPOP, BZPOPMIN...).
pub fn report_zpop(ctx: &mut Ctx<'_>, key: &[u8], max: bool, popped: usize) {
    ctx.changed(popped as u64);
    ctx.acted_on(key);
    ctx.signal(ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (numkeys, max, count) = match parse_mpop(args, 1) {
        Ok(p) => p,
        Err(e) => return ctx.out.error(e),
    };
    for key in args.from(2).take(numkeys) {
        match op_zpop(ctx.db.ks(key), key, max, count, ctx.now_ms) {
            Err(e) => return ctx.out.error(e),
            Ok(popped) if popped.is_empty() => continue,
            Ok(popped) => {
                report_zpop(ctx, key, max, popped.len());
                ctx.out.array(2);
                ctx.out.bulk(key);
                return reply_popped(&mut ctx.out, &popped, true);
            }
        }
    }
    ctx.out.null_array();
}

// ---------------------------------------------------------------- ZRANDMEMBER

/// Repeated picks past this many are refused (`ERR value is out of range`) rather
/// than building a reply that could exhaust memory; Redis would try to send them.
const RANDOM_REPEATS_MAX: u64 = 1 << 26;

/// `count` distinct ranks of a set of `len` picked at random; all of them, highest
/// first, when `count >= len` (Redis then walks the whole set from its end).
pub fn random_ranks(len: usize, count: usize) -> Vec<usize> {
    if count >= len {
        return (0..len).rev().collect();
    }
    pick_distinct(len, count, random_below)
}

/// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() == 2 {
        let key = args.get(1);
        return match read_zset(ctx.db.ks(key), key, ctx.now_ms) {
            Ok(Some(set)) => ctx.out.bulk(set.get(random_below(set.len())).map_or(&b""[..], |e| e.0)),
            Ok(None) => ctx.out.null(),
            Err(e) => ctx.out.error(e),
        };
    }
    let count = match parse_i64(args.get(2)) {
        Some(i64::MIN) => return ctx.out.error(errors::LONG_RANGE),
        Some(n) => n,
        None => return ctx.out.error(errors::NOT_INTEGER),
    };
    if args.len() > 4 || (args.len() == 4 && !is(args.get(3), "withscores")) {
        return ctx.out.error(errors::SYNTAX);
    }
    let withscores = args.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return ctx.out.error(errors::OUT_OF_RANGE);
    }
    let key = args.get(1);
    let set = match read_zset(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(set)) => set,
        Ok(None) => return ctx.out.array(0),
        Err(e) => return ctx.out.error(e),
    };
    if count < 0 {
        let n = count.unsigned_abs();
        if n > RANDOM_REPEATS_MAX {
            return ctx.out.error(errors::OUT_OF_RANGE);
        }
        let entries = (0..n as usize).map(|_| set.get(random_below(set.len())).expect("rank below len"));
        return reply_entries(&mut ctx.out, entries, withscores);
    }
    let ranks = random_ranks(set.len(), count as usize);
    let entries = ranks.iter().map(|&r| set.get(r).expect("rank below len"));
    reply_entries(&mut ctx.out, entries, withscores);
}

// ---------------------------------------------------------------- ZSCAN

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
fn zscan(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(cursor) = parse_cursor(args.get(2)) else {
        return ctx.out.error(errors::INVALID_CURSOR);
    };
    let key = args.get(1);
    let now = ctx.now_ms;
    let ks = ctx.db.ks(key);
    let set = match read_zset(ks, key, now) {
        Ok(Some(_)) => write_zset(ks, key, now).ok().flatten(),
        Ok(None) => None,
        Err(e) => return ctx.out.error(e),
    };
    let Some(set) = set else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        return ctx.out.array(0);
    };
    let ScanOptions { pattern, count, .. } = match ScanOptions::parse(args, 3, ScanOver::Value) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let listpack = set.is_listpack();
    let (mut items, next) = set.scan(cursor, count);
    if let Some(p) = pattern {
        items.retain(|(m, _)| crate::glob::matches(p, m, false));
    }
    let out = &mut ctx.out;
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(items.len() * 2);
    for (member, score) in items {
        out.bulk(member);
        out.bulk(scan_score_text(score, listpack).as_bytes());
    }
}

/// A score as ZSCAN shows it: the text Redis keeps in a listpack (an integral score
/// within +-2^62 is stored as an integer), else `%.17g`.
fn scan_score_text(score: f64, listpack: bool) -> String {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if listpack && score.fract() == 0.0 && (-LIMIT..=LIMIT).contains(&score) {
        (score as i64).to_string()
    } else {
        crate::resp::float::fmt_g17(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(ks: &mut Keyspace, key: &[u8], f: AddFlags, pairs: &[(f64, &str)]) -> Result<AddOutcome, &'static str> {
        let pairs: Vec<(f64, &[u8])> = pairs.iter().map(|(s, m)| (*s, m.as_bytes())).collect();
        op_zadd(ks, key, f, &pairs, 0)
    }

    #[test]
    fn zadd_flags() {
        let mut ks = Keyspace::new();
        let plain = AddFlags::default();
        assert_eq!(add(&mut ks, b"z", plain, &[(1.0, "a"), (2.0, "b")]).unwrap().added, 2);
        let xx = AddFlags { xx: true, ..plain };
        assert_eq!(add(&mut ks, b"none", xx, &[(1.0, "a")]).unwrap().processed, 0);
        assert!(ks.get(b"none", 0).is_none());
        let gt = AddFlags { gt: true, ch: true, ..plain };
        let o = add(&mut ks, b"z", gt, &[(0.0, "a"), (5.0, "b"), (1.0, "c")]).unwrap();
        assert_eq!((o.added, o.updated), (1, 1));
        let incr = AddFlags { incr: true, ..plain };
        assert_eq!(add(&mut ks, b"z", incr, &[(2.5, "a")]).unwrap().score, 3.5);
        add(&mut ks, b"z", plain, &[(f64::INFINITY, "i")]).unwrap();
        assert_eq!(add(&mut ks, b"z", incr, &[(f64::NEG_INFINITY, "i")]), Err(errors::ZSCORE_NAN));
        ks.insert(b"s", Value::Str(b"x".to_vec()), NO_EXPIRE);
        assert_eq!(add(&mut ks, b"s", plain, &[(1.0, "a")]), Err(errors::WRONGTYPE));
    }

    #[test]
    fn rem_pop_and_rank_delete_empty_keys() {
        let mut ks = Keyspace::new();
        add(&mut ks, b"z", AddFlags::default(), &[(1.0, "a"), (2.0, "b"), (3.0, "c")]).unwrap();
        assert_eq!(op_zrank(&mut ks, b"z", b"c", true, 0), Ok(Some(0)));
        assert_eq!(op_zpop(&mut ks, b"z", true, 1, 0).unwrap(), vec![(b"c".to_vec(), 3.0)]);
        assert_eq!(op_zrem(&mut ks, b"z", [&b"a"[..], b"x"].into_iter(), 0), Ok(1));
        assert_eq!(op_zpop(&mut ks, b"z", false, 10, 0).unwrap().len(), 1);
        assert!(ks.get(b"z", 0).is_none());
        assert_eq!(op_zpop(&mut ks, b"z", false, 10, 0), Ok(Vec::new()));
    }

    #[test]
    fn random_ranks_are_distinct_when_asked() {
        for (len, count) in [(10, 3), (10, 8), (10, 10), (10, 20), (1000, 5)] {
            let mut r = random_ranks(len, count);
            assert_eq!(r.len(), count.min(len));
            r.sort();
            r.dedup();
            assert_eq!(r.len(), count.min(len));
        }
        assert_eq!(random_ranks(3, 5), vec![2, 1, 0]);
        assert!(random_ranks(0, 5).is_empty());
    }
}
