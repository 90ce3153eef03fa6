//! The set algebra: SINTER SINTERCARD SUNION SDIFF and SINTERSTORE SUNIONSTORE
//! SDIFFSTORE. The keys may spread over shards (the dispatcher locked them all); the
//! ops reach each through [`Keyspaces`] and hold one source set at a time, building
//! an owned result.
//!
//! Results follow Redis 7.0's algorithms where they show: SINTER walks the smallest
//! set (ties: the first given), so its order is that set's; SUNION and SDIFF build a
//! new set (an intset while it can be one) and reply in its order; SDIFF picks Redis's
//! algorithm by the same cost estimate, which decides the stored encoding in one case.

use crate::commands::effects::{ev, class::SET, On::Arg, When::Changed, traits};
use crate::commands::set::{peek_set, read_set, reply_members, Keyspaces};
use crate::commands::{errors, flags::*, is, numkeys_positions, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::{Keyspace, Value, NO_EXPIRE};
use crate::types::set::{Member, Set};

const fn cmd(name: &'static str, arity: i32, flags: u32, route: Route, handler: crate::commands::Handler, summary: &'static str) -> Command {
    // SINTERCARD's keys follow `numkeys`: COMMAND INFO shows 0 0 0 for it, as Redis.
    let keys = if matches!(route, Route::Keys) { KeySpec::ALL } else { KeySpec::NONE };
    Command::new(name, arity, flags, keys, handler).route(route).group("set").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("sinter", -2, READONLY, Route::Keys, sinter, "Intersect multiple sets"),
    cmd("sintercard", -3, READONLY, Route::KeyPositions(sintercard_keys), sintercard, "Intersect multiple sets and return the cardinality of the result"),
    cmd("sunion", -2, READONLY, Route::Keys, sunion, "Add multiple sets"),
    cmd("sdiff", -2, READONLY, Route::Keys, sdiff, "Subtract multiple sets"),
    cmd("sinterstore", -3, WRITE | DENYOOM, Route::Keys, sinterstore, "Intersect multiple sets and store the resulting set in a key").events(&[ev(SET, "sinterstore", Arg(1), Changed)]).traits(traits::STORES),
    cmd("sunionstore", -3, WRITE | DENYOOM, Route::Keys, sunionstore, "Add multiple sets and store the resulting set in a key").events(&[ev(SET, "sunionstore", Arg(1), Changed)]).traits(traits::STORES),
    cmd("sdiffstore", -3, WRITE | DENYOOM, Route::Keys, sdiffstore, "Subtract multiple sets and store the resulting set in a key").events(&[ev(SET, "sdiffstore", Arg(1), Changed)]).traits(traits::STORES),
];

/// SINTERCARD's keys: `numkeys key [key ...]` from argument 1.
fn sintercard_keys(args: Args<'_>) -> Option<Vec<usize>> {
    numkeys_positions(args, 1)
}

// ---------------------------------------------------------------------------------
// Operations

/// What stands in for a missing set once `sizes` has checked every key.
static EMPTY: Set = Set::new();

/// Looks every key up once, in order, as a read (counting keyspace hits and misses,
/// also for the STORE forms, as Redis): the size of each set, None for a missing key.
/// WRONGTYPE if any key holds another type, even after a missing one (Redis 7.0 checks
/// them all).
fn sizes<K: Keyspaces>(db: &mut K, keys: &[&[u8]], now_ms: u64) -> Result<Vec<Option<usize>>, &'static str> {
    keys.iter().map(|&key| read_set(db.ks(key), key, now_ms).map(|s| s.map(Set::len))).collect()
}

/// The set under a key that [`sizes`] found.
fn set_at<'k, K: Keyspaces>(db: &'k mut K, key: &[u8], now_ms: u64) -> &'k Set {
    peek_set(db.ks(key), key, now_ms).ok().flatten().unwrap_or(&EMPTY)
}

/// How many members of the smallest set an intersection checks at a time.
const INTER_CHUNK: usize = 1024;

/// Walks the intersection in the iteration order of the smallest set (the first of
/// the smallest on a tie), as Redis replies it, calling `emit` on each member until it
/// returns false. The smallest set is taken in chunks, each checked against the others
/// from the smallest up, so SINTERCARD's LIMIT stops early and memory stays bounded.
fn walk_inter<K: Keyspaces>(
    db: &mut K,
    keys: &[&[u8]],
    now_ms: u64,
    mut emit: impl FnMut(Vec<u8>) -> bool,
) -> Result<(), &'static str> {
    let sizes = sizes(db, keys, now_ms)?;
    if sizes.iter().any(Option::is_none) {
        return Ok(());
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| sizes[i]);
    let smallest = keys[order[0]];
    let len = set_at(db, smallest, now_ms).len();
    for from in (0..len).step_by(INTER_CHUNK) {
        let base = set_at(db, smallest, now_ms);
        let mut chunk: Vec<Vec<u8>> = (from..len.min(from + INTER_CHUNK)).map(|i| base.member_at(i).to_vec()).collect();
        for &i in &order[1..] {
            if keys[i] != smallest {
                let other = set_at(db, keys[i], now_ms);
                chunk.retain(|m| other.contains(m));
            }
        }
        if !chunk.into_iter().all(&mut emit) {
            break;
        }
    }
    Ok(())
}

/// The intersection, in Redis's reply order (see [`walk_inter`]).
pub fn op_inter<K: Keyspaces>(db: &mut K, keys: &[&[u8]], now_ms: u64) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut result = Vec::new();
    walk_inter(db, keys, now_ms, |m| {
        result.push(m);
        true
    })?;
    Ok(result)
}

/// The size of the intersection, at most `limit` when it is not 0.
pub fn op_intercard<K: Keyspaces>(db: &mut K, keys: &[&[u8]], limit: usize, now_ms: u64) -> Result<usize, &'static str> {
    let mut n = 0;
    walk_inter(db, keys, now_ms, |_| {
        n += 1;
        limit == 0 || n < limit
    })?;
    Ok(n)
}

/// The union, built as a new set in argument order.
pub fn op_union<K: Keyspaces>(db: &mut K, keys: &[&[u8]], now_ms: u64) -> Result<Set, &'static str> {
    let sizes = sizes(db, keys, now_ms)?;
    let mut result = Set::new();
    for (&key, size) in keys.iter().zip(&sizes) {
        if size.is_some() {
            set_at(db, key, now_ms).iter().for_each(|m| {
                result.insert_member(m);
            });
        }
    }
    Ok(result)
}

/// The members of the first set in none of the others.
///
/// Redis picks between filtering the first set (cost ~ |first| × sets / 2) and copying
/// it then removing the others' members (cost ~ the sum of sizes). The second copies
/// the whole first set into the result, so a first intset of more than 512 members
/// makes a hash table even when few remain; kevy makes the same choice to match.
pub fn op_diff<K: Keyspaces>(db: &mut K, keys: &[&[u8]], now_ms: u64) -> Result<Set, &'static str> {
    let sizes = sizes(db, keys, now_ms)?;
    let Some(first_len) = sizes[0] else { return Ok(Set::new()) };
    let present = sizes.iter().flatten();
    let filter_work = first_len.saturating_mul(present.clone().count()) / 2;
    let removal_work = present.fold(0usize, |a, &n| a.saturating_add(n));
    let (first, others) = (keys[0], &keys[1..]);
    let others = others.iter().zip(&sizes[1..]).filter(|(_, n)| n.is_some()).map(|(k, _)| *k);
    let mut result = Set::new();
    if filter_work <= removal_work {
        let mut kept: Vec<Vec<u8>> = set_at(db, first, now_ms).iter().map(|m| m.to_vec()).collect();
        for key in others {
            if key == first {
                kept.clear();
                break;
            }
            let other = set_at(db, key, now_ms);
            kept.retain(|m| !other.contains(m));
        }
        kept.iter().for_each(|m| {
            result.insert(m);
        });
    } else {
        set_at(db, first, now_ms).iter().for_each(|m| {
            result.insert_member(m);
        });
        for key in others {
            if result.is_empty() {
                break;
            }
            set_at(db, key, now_ms).iter().for_each(|m| {
                result.remove_member(m);
            });
        }
    }
    Ok(result)
}

/// Stores `set` under `dst` (replacing any value and deadline), or deletes `dst` when
/// the set is empty. Returns the set's size.
pub fn op_store(ks: &mut Keyspace, dst: &[u8], set: Set) -> usize {
    let n = set.len();
    if n == 0 {
        ks.remove(dst);
    } else {
        ks.insert(dst, Value::Set(set), NO_EXPIRE);
    }
    n
}

/// A set holding `members`, added in order.
fn collect(members: &[Vec<u8>]) -> Set {
    let mut set = Set::new();
    members.iter().for_each(|m| {
        set.insert(m);
    });
    set
}

// ---------------------------------------------------------------------------------
// Handlers

/// SINTER key [key ...]
fn sinter(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let keys: Vec<&[u8]> = args.from(1).collect();
    match op_inter(&mut ctx.db, &keys, ctx.now_ms) {
        Ok(members) => reply_members(&mut ctx.out, members.iter().map(|m| Member::Bytes(m)), true),
        Err(e) => ctx.out.error(e),
    }
}

/// Parses SINTERCARD's `numkeys key [key ...] [LIMIT limit]`: the keys and the limit.
fn intercard_args(args: Args<'_>) -> Result<(Vec<&[u8]>, usize), &'static str> {
    let numkeys = match parse_i64(args.get(1)) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(errors::SNUMKEYS_NOT_POSITIVE),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(errors::SNUMKEYS_TOO_MANY);
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0;
    let mut i = end;
    while i < args.len() {
        if !is(args.get(i), "LIMIT") || i + 1 >= args.len() {
            return Err(errors::SYNTAX);
        }
        limit = match parse_i64(args.get(i + 1)) {
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return Err(errors::SLIMIT_NEGATIVE),
        };
        i += 2;
    }
    Ok(((2..end).map(|i| args.get(i)).collect(), limit))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let result = intercard_args(args).and_then(|(keys, limit)| op_intercard(&mut ctx.db, &keys, limit, ctx.now_ms));
    match result {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// Replies a computed set (SUNION, SDIFF) as a set reply.
fn reply_set(ctx: &mut Ctx<'_>, result: Result<Set, &'static str>) {
    match result {
        Ok(set) => reply_members(&mut ctx.out, set.iter(), true),
        Err(e) => ctx.out.error(e),
    }
}

/// SUNION key [key ...]
fn sunion(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let keys: Vec<&[u8]> = args.from(1).collect();
    let result = op_union(&mut ctx.db, &keys, ctx.now_ms);
    reply_set(ctx, result);
}

/// SDIFF key [key ...]
fn sdiff(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let keys: Vec<&[u8]> = args.from(1).collect();
    let result = op_diff(&mut ctx.db, &keys, ctx.now_ms);
    reply_set(ctx, result);
}

/// Stores a computed set under argument 1 and replies its size.
fn store(ctx: &mut Ctx<'_>, args: Args<'_>, result: Result<Set, &'static str>) {
    let dst = args.get(1);
    match result {
        Ok(set) => {
            let n = op_store(ctx.db.ks(dst), dst, set);
            ctx.reply_changes(n as i64);
        }
        Err(e) => ctx.out.error(e),
    }
}

/// SINTERSTORE destination key [key ...]
fn sinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let keys: Vec<&[u8]> = args.from(2).collect();
    let result = op_inter(&mut ctx.db, &keys, ctx.now_ms).map(|m| collect(&m));
    store(ctx, args, result);
}

/// SUNIONSTORE destination key [key ...]
fn sunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let keys: Vec<&[u8]> = args.from(2).collect();
    let result = op_union(&mut ctx.db, &keys, ctx.now_ms);
    store(ctx, args, result);
}

/// SDIFFSTORE destination key [key ...]
fn sdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let keys: Vec<&[u8]> = args.from(2).collect();
    let result = op_diff(&mut ctx.db, &keys, ctx.now_ms);
    store(ctx, args, result);
}

#[cfg(test)]
mod tests {
    use crate::commands::set::op_add;
    use super::*;

    fn setup() -> Keyspace {
        let mut ks = Keyspace::new();
        let add = |ks: &mut Keyspace, key: &[u8], members: &[&str]| {
            op_add(ks, key, members.iter().map(|m| m.as_bytes()), 0).unwrap();
        };
        add(&mut ks, b"a", &["1", "2", "3", "4"]);
        add(&mut ks, b"b", &["4", "3", "x"]);
        add(&mut ks, b"c", &["3", "4", "5"]);
        ks.insert(b"str", Value::Str(b"v".to_vec()), NO_EXPIRE);
        ks
    }

    fn sorted(set: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
        v.sort();
        v
    }

    fn bytes(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn intersections() {
        let mut ks = setup();
        assert_eq!(op_inter(&mut ks, &[b"a", b"c"], 0), Ok(bytes(&["3", "4"])));
        let mut both = op_inter(&mut ks, &[b"a", b"b"], 0).unwrap();
        both.sort();
        assert_eq!(both, bytes(&["3", "4"]));
        assert_eq!(op_inter(&mut ks, &[b"a", b"nosuch"], 0), Ok(vec![]));
        assert_eq!(op_inter(&mut ks, &[b"nosuch", b"str"], 0), Err(errors::WRONGTYPE));
        assert_eq!(op_intercard(&mut ks, &[b"a", b"c", b"a"], 0, 0), Ok(2));
        assert_eq!(op_intercard(&mut ks, &[b"a", b"c"], 1, 0), Ok(1));
    }

    #[test]
    fn unions_and_differences() {
        let mut ks = setup();
        let u = op_union(&mut ks, &[b"a", b"nosuch", b"c"], 0).unwrap();
        assert_eq!((u.encoding_name(), sorted(&u)), ("intset", bytes(&["1", "2", "3", "4", "5"])));
        assert_eq!(op_union(&mut ks, &[b"a", b"str"], 0), Err(errors::WRONGTYPE));
        let d = op_diff(&mut ks, &[b"a", b"b", b"nosuch"], 0).unwrap();
        assert_eq!(sorted(&d), bytes(&["1", "2"]));
        assert!(op_diff(&mut ks, &[b"a", b"a"], 0).unwrap().is_empty());
        assert!(op_diff(&mut ks, &[b"nosuch", b"a"], 0).unwrap().is_empty());
        assert_eq!(op_diff(&mut ks, &[b"nosuch", b"str"], 0), Err(errors::WRONGTYPE));
    }

    #[test]
    fn diff_encoding_follows_redis_algorithm() {
        let mut ks = Keyspace::new();
        let nums = |r: std::ops::Range<i32>| r.map(|i| i.to_string()).collect::<Vec<_>>();
        let add = |ks: &mut Keyspace, key: &[u8], v: Vec<String>| {
            op_add(ks, key, v.iter().map(|m| m.as_bytes()), 0).unwrap();
        };
        add(&mut ks, b"big", nums(1..601));
        add(&mut ks, b"s2", nums(1..101));
        add(&mut ks, b"s3", nums(101..201));
        let filtered = op_diff(&mut ks, &[b"big", b"s2"], 0).unwrap();
        assert_eq!((filtered.len(), filtered.encoding_name()), (500, "intset"));
        let copied = op_diff(&mut ks, &[b"big", b"s2", b"s3"], 0).unwrap();
        assert_eq!((copied.len(), copied.encoding_name()), (400, "hashtable"));
    }

    #[test]
    fn intersection_across_chunks() {
        let mut ks = Keyspace::new();
        let a: Vec<String> = (0..5000).map(|i| format!("m{i}")).collect();
        let b: Vec<String> = (0..5000).step_by(2).map(|i| format!("m{i}")).collect();
        op_add(&mut ks, b"a", a.iter().map(|m| m.as_bytes()), 0).unwrap();
        op_add(&mut ks, b"b", b.iter().map(|m| m.as_bytes()), 0).unwrap();
        let inter = op_inter(&mut ks, &[b"a", b"b"], 0).unwrap();
        let order: Vec<Vec<u8>> = set_at(&mut ks, b"b", 0).iter().map(|m| m.to_vec()).collect();
        assert_eq!(inter, order, "the smallest set's order");
        assert_eq!(op_intercard(&mut ks, &[b"a", b"b"], 0, 0), Ok(2500));
        assert_eq!(op_intercard(&mut ks, &[b"a", b"b"], 1500, 0), Ok(1500));
        assert_eq!(op_intercard(&mut ks, &[b"b", b"a"], 9999, 0), Ok(2500));
    }

    #[test]
    fn store_replaces_or_deletes() {
        let mut ks = setup();
        assert_eq!(op_store(&mut ks, b"str", collect(&bytes(&["q"]))), 1);
        assert!(matches!(read_set(&mut ks, b"str", 0), Ok(Some(_))));
        assert_eq!(op_store(&mut ks, b"str", Set::new()), 0);
        assert!(!ks.contains(b"str", 0));
    }
}
