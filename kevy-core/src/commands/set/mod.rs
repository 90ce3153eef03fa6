//! Set commands: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD SPOP SRANDMEMBER SMOVE
//! SSCAN. The multi-key algebra (SINTER SUNION SDIFF, their STORE forms, SINTERCARD)
//! lives in `ops.rs`.

pub mod ops;

use crate::commands::effects::{ev, class::SET, On::Arg, When::Changed, traits, Propagate};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::commands::keys::scan::{parse_cursor, ScanOptions, ScanOver};
use crate::commands::{errors, flags::*, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::{Args, ReplyWriter};
use crate::store::db::Db;
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};
use crate::types::set::{Member, Set};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("set").summary(summary)
}

const ONE: KeySpec = KeySpec::ONE;

pub const COMMANDS: &[Command] = &[
    cmd("sadd", -3, WRITE | DENYOOM | FAST, ONE, sadd, "Add one or more members to a set").events(&[ev(SET, "sadd", Arg(1), Changed)]),
    cmd("srem", -3, WRITE | FAST, ONE, srem, "Remove one or more members from a set").events(&[ev(SET, "srem", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("sismember", 3, READONLY | FAST, ONE, sismember, "Determine if a given value is a member of a set"),
    cmd("smismember", -3, READONLY | FAST, ONE, smismember, "Returns the membership associated with the given elements for a set"),
    cmd("smembers", 2, READONLY, ONE, smembers, "Get all the members in a set"),
    cmd("scard", 2, READONLY | FAST, ONE, scard, "Get the number of members in a set"),
    cmd("spop", -2, WRITE | FAST, ONE, spop, "Remove and return one or multiple random members from a set").events(&[ev(SET, "spop", Arg(1), Changed)]).traits(traits::REMOVES).propagate(Propagate::Reported),
    cmd("srandmember", -2, READONLY, ONE, srandmember, "Get one or multiple random members from a set"),
    cmd("smove", 4, WRITE | FAST, KeySpec::new(1, 2, 1), smove, "Move a member from one set to another").events(&[ev(SET, "srem", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("sscan", -3, READONLY, ONE, sscan, "Incrementally iterate Set elements"),
];

/// The most members one SRANDMEMBER with a negative count returns (kevy's bound; Redis
/// has none and runs out of memory on huge counts).
pub const MAX_RANDOM_REPEATS: u64 = i32::MAX as u64;

// ---------------------------------------------------------------------------------
// Operations on the keyspace

/// Where a set command finds the keyspace of each key: a [`Db`] (keys spread over the
/// locked shards) or one [`Keyspace`] (everything local, unit tests).
pub trait Keyspaces {
    fn ks(&mut self, key: &[u8]) -> &mut Keyspace;
}

impl Keyspaces for Keyspace {
    fn ks(&mut self, _: &[u8]) -> &mut Keyspace {
        self
    }
}

impl Keyspaces for Db<'_> {
    fn ks(&mut self, key: &[u8]) -> &mut Keyspace {
        Db::ks(self, key)
    }
}

fn as_set(value: Option<ValueRef<'_>>) -> Result<Option<&Set>, &'static str> {
    match value {
        None => Ok(None),
        Some(ValueRef::Set(s)) => Ok(Some(s)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// The set under `key`: Ok(None) when missing, Err when another type. Counts a
/// keyspace hit or miss (read commands).
pub fn read_set<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k Set>, &'static str> {
    as_set(ks.read(key, now_ms).map(|e| e.value))
}

/// Like [`read_set`], without counting (write commands look their keys up this way).
pub fn peek_set<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k Set>, &'static str> {
    as_set(ks.get(key, now_ms).map(|e| e.value))
}

/// The set under `key` for a change, created empty when missing.
fn set_for_write<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<&'k mut Set, &'static str> {
    match ks.get(key, now_ms).map(|e| matches!(e.value, ValueRef::Set(_))) {
        None => ks.insert(key, Value::Set(Set::new()), NO_EXPIRE),
        Some(true) => {}
        Some(false) => return Err(errors::WRONGTYPE),
    }
    match ks.get_mut(key, now_ms) {
        Some(Value::Set(s)) => Ok(s),
        _ => unreachable!("a set is under the key"),
    }
}

/// An existing set for a change: Ok(None) when missing.
fn existing_for_write<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k mut Set>, &'static str> {
    if peek_set(ks, key, now_ms)?.is_none() {
        return Ok(None);
    }
    match ks.get_mut(key, now_ms) {
        Some(Value::Set(s)) => Ok(Some(s)),
        _ => unreachable!("a set is under the key"),
    }
}

/// Adds `members` to the set under `key`, creating it. Returns how many were new.
pub fn op_add<'a>(ks: &mut Keyspace, key: &[u8], members: impl Iterator<Item = &'a [u8]>, now_ms: u64) -> Result<usize, &'static str> {
    let set = set_for_write(ks, key, now_ms)?;
    Ok(members.filter(|m| set.insert(m)).count())
}

/// Removes `members`; deletes the key when the set becomes empty. Returns how many
/// were there.
pub fn op_remove<'a>(ks: &mut Keyspace, key: &[u8], members: impl Iterator<Item = &'a [u8]>, now_ms: u64) -> Result<usize, &'static str> {
    let Some(set) = existing_for_write(ks, key, now_ms)? else { return Ok(0) };
    let removed = members.filter(|m| set.remove(m)).count();
    if set.is_empty() {
        ks.remove(key);
    }
    Ok(removed)
}

/// Removes up to `count` random members and returns them; deletes the key when it
/// becomes empty. When `count` covers the set, the members come in its iteration
/// order (ascending for an intset, as Redis).
pub fn op_pop(ks: &mut Keyspace, key: &[u8], count: usize, rng: &mut Rng, now_ms: u64) -> Result<Vec<Vec<u8>>, &'static str> {
    let Some(set) = existing_for_write(ks, key, now_ms)? else { return Ok(Vec::new()) };
    if count < set.len() {
        return Ok((0..count).map(|_| set.take_at(rng.below(set.len()))).collect());
    }
    match ks.remove(key) {
        Some((Value::Set(set), _)) => Ok(set.iter().map(|m| m.to_vec()).collect()),
        _ => unreachable!("a set is under the key"),
    }
}

/// SMOVE: moves `member` from `src` to `dst` (created when missing). Ok(false) when
/// `src` is missing or lacks the member. Both keys are type-checked first, except
/// that a missing `src` answers false at once (Redis's order).
pub fn op_move<K: Keyspaces>(db: &mut K, src: &[u8], dst: &[u8], member: &[u8], now_ms: u64) -> Result<bool, &'static str> {
    let Some(has) = peek_set(db.ks(src), src, now_ms)?.map(|s| s.contains(member)) else { return Ok(false) };
    peek_set(db.ks(dst), dst, now_ms)?;
    if src == dst || !has {
        return Ok(has);
    }
    op_remove(db.ks(src), src, std::iter::once(member), now_ms)?;
    op_add(db.ks(dst), dst, std::iter::once(member), now_ms)?;
    Ok(true)
}

/// `count` distinct positions below `len` (`count < len`), in random order.
pub fn random_distinct(len: usize, count: usize, rng: &mut Rng) -> Vec<usize> {
    crate::random::pick_distinct(len, count, |n| rng.below(n))
}

/// A small pseudo-random stream (splitmix64), seeded per command.
pub struct Rng(u64);

impl Rng {
    /// A fresh stream: a process-wide counter mixed with the clock.
    pub fn new(now_ms: u64) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        Rng(COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ now_ms.rotate_left(29))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------
// Handlers

/// Writes one member as a bulk string.
pub fn reply_member(out: &mut ReplyWriter<'_>, m: Member<'_>) {
    match m {
        Member::Int(n) => out.bulk_int(n),
        Member::Bytes(b) => out.bulk(b),
    }
}

/// Writes members as a set reply (`~` in RESP3) or an array.
pub fn reply_members<'a>(out: &mut ReplyWriter<'_>, members: impl ExactSizeIterator<Item = Member<'a>>, as_set: bool) {
    if as_set {
        out.set(members.len());
    } else {
        out.array(members.len());
    }
    members.for_each(|m| reply_member(out, m));
}

fn reply_count(ctx: &mut Ctx<'_>, result: Result<usize, &'static str>) {
    match result {
        Ok(n) => ctx.reply_changes(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// SADD key member [member ...]
fn sadd(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let added = op_add(ctx.db.ks(key), key, args.from(2), ctx.now_ms);
    reply_count(ctx, added);
}

/// SREM key member [member ...]
fn srem(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let removed = op_remove(ctx.db.ks(key), key, args.from(2), ctx.now_ms);
    reply_count(ctx, removed);
}

/// SCARD key
fn scard(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let len = read_set(ctx.db.ks(key), key, ctx.now_ms).map(|s| s.map_or(0, Set::len));
    reply_count(ctx, len);
}

/// SISMEMBER key member
fn sismember(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let has = read_set(ctx.db.ks(key), key, ctx.now_ms).map(|s| s.is_some_and(|s| s.contains(args.get(2))));
    reply_count(ctx, has.map(usize::from));
}

/// SMISMEMBER key member [member ...]
fn smismember(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match read_set(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(set) => {
            ctx.out.array(args.len() - 2);
            for m in args.from(2) {
                ctx.out.int(set.is_some_and(|s| s.contains(m)) as i64);
            }
        }
        Err(e) => ctx.out.error(e),
    }
}

/// SMEMBERS key
fn smembers(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match read_set(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(set)) => reply_members(&mut ctx.out, set.iter(), true),
        Ok(None) => ctx.out.set(0),
        Err(e) => ctx.out.error(e),
    }
}

/// SPOP key [count]
fn spop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let count = match args.len() {
        2 => None,
        3 => match parse_i64(args.get(2)) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.out.error(errors::MUST_BE_POSITIVE),
        },
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let mut rng = Rng::new(ctx.now_ms);
    let popped = op_pop(ctx.db.ks(key), key, count.unwrap_or(1), &mut rng, ctx.now_ms);
    if let Ok(members) = &popped {
        ctx.changed(members.len() as u64);
        // It picks at random: logged as the SREM of what it removed.
        if ctx.logging() && !members.is_empty() {
            let mut srem = vec![b"SREM".to_vec(), key.to_vec()];
            srem.extend(members.iter().map(|m| m.to_vec()));
            ctx.propagate(srem);
        }
    }
    match (popped, count) {
        (Err(e), _) => ctx.out.error(e),
        (Ok(one), None) => match one.first() {
            Some(m) => ctx.out.bulk(m),
            None => ctx.out.null(),
        },
        (Ok(many), Some(_)) => reply_members(&mut ctx.out, many.iter().map(|m| Member::Bytes(m)), true),
    }
}

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let count = match args.len() {
        2 => None,
        3 => match parse_i64(args.get(2)) {
            Some(i64::MIN) => return ctx.out.error(errors::LONG_RANGE),
            Some(n) if n < 0 && n.unsigned_abs() > MAX_RANDOM_REPEATS => return ctx.out.error(errors::SRANDMEMBER_TOO_MANY),
            Some(n) => Some(n),
            None => return ctx.out.error(errors::NOT_INTEGER),
        },
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let key = args.get(1);
    let mut rng = Rng::new(ctx.now_ms);
    let set = match read_set(ctx.db.ks(key), key, ctx.now_ms) {
        Err(e) => return ctx.out.error(e),
        Ok(None) if count.is_none() => return ctx.out.null(),
        Ok(None) => return ctx.out.array(0),
        Ok(Some(set)) => set,
    };
    let out = &mut ctx.out;
    let len = set.len();
    match count {
        None => reply_member(out, set.member_at(rng.below(len))),
        Some(n) if n < 0 => {
            out.array(n.unsigned_abs() as usize);
            for _ in 0..n.unsigned_abs() {
                reply_member(out, set.member_at(rng.below(len)));
            }
        }
        Some(n) if n as u64 >= len as u64 => reply_members(out, set.iter(), false),
        Some(n) => {
            let picks = random_distinct(len, n as usize, &mut rng);
            reply_members(out, picks.into_iter().map(|i| set.member_at(i)), false);
        }
    }
}

/// SMOVE source destination member
fn smove(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (src, dst, member, now) = (args.get(1), args.get(2), args.get(3), ctx.now_ms);
    // As Redis: `sadd` only when the destination gained the member; a move onto
    // itself changes nothing and signals nothing.
    let gains = src != dst && !read_set(ctx.db.ks(dst), dst, now).ok().flatten().is_some_and(|s| s.contains(member));
    let moved = op_move(&mut ctx.db, src, dst, member, now);
    match moved {
        Ok(true) if src != dst => {
            ctx.changed(1);
            if gains {
                ctx.signal(SET, "sadd", dst);
            }
            ctx.out.int(1)
        }
        Ok(done) => ctx.out.int(done as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
///
/// The cursor walks the hash table's buckets (see `Set::scan`): every member present
/// for the whole iteration is returned at least once; an intset comes whole.
fn sscan(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(cursor) = parse_cursor(args.get(2)) else { return ctx.out.error(errors::INVALID_CURSOR) };
    let key = args.get(1);
    let set = match read_set(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(set)) => set,
        Ok(None) => {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            return ctx.out.array(0);
        }
        Err(e) => return ctx.out.error(e),
    };
    let ScanOptions { pattern, count, .. } = match ScanOptions::parse(args, 3, ScanOver::Value) {
        Ok(opts) => opts,
        Err(e) => return ctx.out.error(e),
    };
    let mut found = Vec::new();
    let next = set.scan(cursor, count, |m| {
        if pattern.is_none_or(|p| m.with_bytes(|b| crate::glob::matches(p, b, false))) {
            found.push(m);
        }
    });
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    reply_members(&mut ctx.out, found.into_iter(), false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn items<'a>(v: &'a [&'static str]) -> impl Iterator<Item = &'static [u8]> + 'a {
        v.iter().map(|s| s.as_bytes())
    }

    #[test]
    fn add_remove_and_types() {
        let mut ks = Keyspace::new();
        assert_eq!(op_add(&mut ks, b"s", items(&["1", "2", "2", "a"]), 0), Ok(3));
        assert_eq!(op_add(&mut ks, b"s", items(&["1", "b"]), 0), Ok(1));
        assert_eq!(op_remove(&mut ks, b"s", items(&["1", "1", "zz"]), 0), Ok(1));
        assert_eq!(op_remove(&mut ks, b"nosuch", items(&["1"]), 0), Ok(0));
        assert_eq!(op_remove(&mut ks, b"s", items(&["2", "a", "b"]), 0), Ok(3));
        assert!(!ks.contains(b"s", 0));
        ks.insert(b"str", Value::Str(b"x".to_vec()), NO_EXPIRE);
        assert_eq!(op_add(&mut ks, b"str", items(&["1"]), 0), Err(errors::WRONGTYPE));
        assert_eq!(op_remove(&mut ks, b"str", items(&["1"]), 0), Err(errors::WRONGTYPE));
        assert_eq!(read_set(&mut ks, b"str", 0), Err(errors::WRONGTYPE));
    }

    #[test]
    fn pop_some_then_all() {
        let mut ks = Keyspace::new();
        let mut rng = Rng::new(1);
        op_add(&mut ks, b"s", items(&["5", "3", "1", "4"]), 0).unwrap();
        let one = op_pop(&mut ks, b"s", 1, &mut rng, 0).unwrap();
        assert_eq!(one.len(), 1);
        let rest = op_pop(&mut ks, b"s", 10, &mut rng, 0).unwrap();
        assert_eq!(rest.len(), 3);
        assert!(rest.windows(2).all(|w| parse_i64(&w[0]) < parse_i64(&w[1])), "intset order");
        assert!(!ks.contains(b"s", 0));
        assert_eq!(op_pop(&mut ks, b"s", 3, &mut rng, 0), Ok(vec![]));
    }

    #[test]
    fn move_between_sets() {
        let mut ks = Keyspace::new();
        op_add(&mut ks, b"a", items(&["x", "y"]), 0).unwrap();
        assert_eq!(op_move(&mut ks, b"a", b"b", b"x", 0), Ok(true));
        assert_eq!(op_move(&mut ks, b"a", b"b", b"x", 0), Ok(false));
        assert_eq!(op_move(&mut ks, b"a", b"a", b"y", 0), Ok(true));
        assert_eq!(op_move(&mut ks, b"a", b"b", b"y", 0), Ok(true));
        assert!(!ks.contains(b"a", 0));
        assert_eq!(read_set(&mut ks, b"b", 0).unwrap().map(Set::len), Some(2));
        ks.insert(b"str", Value::Str(b"v".to_vec()), NO_EXPIRE);
        assert_eq!(op_move(&mut ks, b"nosuch", b"str", b"x", 0), Ok(false));
        assert_eq!(op_move(&mut ks, b"b", b"str", b"x", 0), Err(errors::WRONGTYPE));
        assert_eq!(op_move(&mut ks, b"str", b"b", b"x", 0), Err(errors::WRONGTYPE));
    }

    #[test]
    fn distinct_picks() {
        let mut rng = Rng::new(7);
        for (len, count) in [(10, 9), (10, 1), (1000, 5), (1000, 400)] {
            let picks = random_distinct(len, count, &mut rng);
            assert_eq!(picks.len(), count);
            assert_eq!(picks.iter().collect::<HashSet<_>>().len(), count);
            assert!(picks.iter().all(|&i| i < len));
        }
    }
}
