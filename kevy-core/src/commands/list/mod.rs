//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT
//! LREM LTRIM LPOS. LMOVE RPOPLPUSH LMPOP live in `lmove.rs`, the blocking
//! variants in `blocking.rs`; both compose the `op_*` functions here.
//!
//! A list is a chain of packed nodes (`types::list`); a key never holds an empty list:
//! the operation that removes the last element removes the key.

pub mod blocking;
pub mod lmove;

use crate::commands::effects::{ev, class::LIST, On::Arg, When::{Always, Changed}, traits};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};
use crate::types::list::{self as algo, List};

pub use crate::commands::list::lmove::{op_move, parse_mpop, write_mpop_reply, Mpop};
pub use crate::types::list::clamp_range;

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::ONE, handler).group("list").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("lpush", -3, WRITE | DENYOOM | FAST, lpush, "Prepend one or multiple elements to a list").events(&[ev(LIST, "lpush", Arg(1), Changed)]),
    cmd("rpush", -3, WRITE | DENYOOM | FAST, rpush, "Append one or multiple elements to a list").events(&[ev(LIST, "rpush", Arg(1), Changed)]),
    cmd("lpushx", -3, WRITE | DENYOOM | FAST, lpushx, "Prepend an element to a list, only if the list exists").events(&[ev(LIST, "lpush", Arg(1), Changed)]),
    cmd("rpushx", -3, WRITE | DENYOOM | FAST, rpushx, "Append an element to a list, only if the list exists").events(&[ev(LIST, "rpush", Arg(1), Changed)]),
    cmd("lpop", -2, WRITE | FAST, lpop, "Remove and get the first elements in a list").events(&[ev(LIST, "lpop", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("rpop", -2, WRITE | FAST, rpop, "Remove and get the last elements in a list").events(&[ev(LIST, "rpop", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("llen", 2, READONLY | FAST, llen, "Get the length of a list"),
    cmd("lrange", 4, READONLY, lrange, "Get a range of elements from a list"),
    cmd("lindex", 3, READONLY, lindex, "Get an element from a list by its index"),
    cmd("lset", 4, WRITE | DENYOOM, lset, "Set the value of an element in a list by its index").events(&[ev(LIST, "lset", Arg(1), Always)]),
    cmd("linsert", 5, WRITE | DENYOOM, linsert, "Insert an element before or after another element in a list").events(&[ev(LIST, "linsert", Arg(1), Changed)]),
    cmd("lrem", 4, WRITE, lrem, "Remove elements from a list").events(&[ev(LIST, "lrem", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("ltrim", 4, WRITE, ltrim, "Trim a list to the specified range").events(&[ev(LIST, "ltrim", Arg(1), Always)]).traits(traits::REMOVES),
    cmd("lpos", -3, READONLY, lpos, "Return the index of matching elements on a list"),
];

// ---------------------------------------------------------------------------------
// Operations on the keyspace

/// The list under `key`, for reading (counts a keyspace hit or miss): Ok(None) when
/// missing, Err when another type.
pub fn list_of<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k List>, &'static str> {
    match ks.read(key, now_ms).map(|e| e.value) {
        None => Ok(None),
        Some(ValueRef::List(l)) => Ok(Some(l)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// The list under `key`, for a change (no hit or miss counted, as Redis's write
/// lookups): Ok(None) when missing, Err when another type.
pub fn list_mut<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k mut List>, &'static str> {
    match ks.get_mut(key, now_ms) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// Does `key` hold a list? Ok(false) when missing, Err when another type. No hit or
/// miss counted.
pub fn has_list(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> Result<bool, &'static str> {
    match ks.get(key, now_ms).map(|e| e.value) {
        None => Ok(false),
        Some(ValueRef::List(_)) => Ok(true),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

fn push_all<T: AsRef<[u8]>>(list: &mut List, items: impl Iterator<Item = T>, left: bool) {
    for item in items {
        if left {
            list.push_front(item.as_ref());
        } else {
            list.push_back(item.as_ref());
        }
    }
}

/// Pushes `items` at the head (`left`) or tail, one after the other; creates the list.
/// Returns the new length.
pub fn op_push<'a>(
    ks: &mut Keyspace,
    key: &[u8],
    items: impl Iterator<Item = &'a [u8]>,
    left: bool,
    now_ms: u64,
) -> Result<usize, &'static str> {
    if let Some(list) = list_mut(ks, key, now_ms)? {
        push_all(list, items, left);
        return Ok(list.len());
    }
    let mut list = List::new();
    push_all(&mut list, items, left);
    let len = list.len();
    ks.insert(key, Value::List(list), NO_EXPIRE);
    Ok(len)
}

/// LPUSHX / RPUSHX: pushes only onto an existing list. Returns the new length, 0 when
/// the key is missing.
pub fn op_pushx<'a>(
    ks: &mut Keyspace,
    key: &[u8],
    items: impl Iterator<Item = &'a [u8]>,
    left: bool,
    now_ms: u64,
) -> Result<usize, &'static str> {
    match list_mut(ks, key, now_ms)? {
        Some(list) => {
            push_all(list, items, left);
            Ok(list.len())
        }
        None => Ok(0),
    }
}

/// Pops up to `count` elements from the head (`left`) or tail, in pop order; removes
/// the key when the list empties. Empty when the key is missing (or `count` is 0).
pub fn op_pop(ks: &mut Keyspace, key: &[u8], left: bool, count: usize, now_ms: u64) -> Result<Vec<Vec<u8>>, &'static str> {
    let Some(list) = list_mut(ks, key, now_ms)? else {
        return Ok(Vec::new());
    };
    let items = algo::pop_n(list, left, count);
    if list.is_empty() {
        ks.remove(key);
    }
    Ok(items)
}

/// Pops one element from the head (`left`) or tail, handing it to `f` (a reply
/// writes it without a copy); removes the key when the list empties. None when the
/// key is missing.
pub fn op_pop_with<R>(
    ks: &mut Keyspace,
    key: &[u8],
    left: bool,
    now_ms: u64,
    f: impl FnOnce(algo::Elem<'_>) -> R,
) -> Result<Option<R>, &'static str> {
    let Some(list) = list_mut(ks, key, now_ms)? else {
        return Ok(None);
    };
    let item = list.pop_with(left, f);
    if list.is_empty() {
        ks.remove(key);
    }
    Ok(item)
}

/// LSET. `index` is None when the argument was not an integer: Redis reports that only
/// after finding the list.
pub fn op_lset(ks: &mut Keyspace, key: &[u8], index: Option<i64>, item: &[u8], now_ms: u64) -> Result<(), &'static str> {
    let list = list_mut(ks, key, now_ms)?.ok_or(errors::NO_SUCH_KEY)?;
    let index = index.ok_or(errors::NOT_INTEGER)?;
    let at = algo::resolve_index(index, list.len()).ok_or(errors::LINDEX_RANGE)?;
    list.set(at, item);
    Ok(())
}

/// LINSERT: the new length, 0 when the key is missing, -1 when `pivot` is not there.
pub fn op_linsert(ks: &mut Keyspace, key: &[u8], after: bool, pivot: &[u8], item: &[u8], now_ms: u64) -> Result<i64, &'static str> {
    let Some(list) = list_mut(ks, key, now_ms)? else {
        return Ok(0);
    };
    Ok(if algo::insert_at_pivot(list, pivot, item, after) { list.len() as i64 } else { -1 })
}

/// LREM: removes elements equal to `item` (see `types::list::remove_matches`); removes
/// the key when the list empties. Returns how many were removed.
pub fn op_lrem(ks: &mut Keyspace, key: &[u8], count: i64, item: &[u8], now_ms: u64) -> Result<usize, &'static str> {
    let Some(list) = list_mut(ks, key, now_ms)? else {
        return Ok(0);
    };
    let removed = algo::remove_matches(list, item, count);
    if list.is_empty() {
        ks.remove(key);
    }
    Ok(removed)
}

/// LTRIM: keeps `start..=end`; removes the key when nothing is left.
pub fn op_ltrim(ks: &mut Keyspace, key: &[u8], start: i64, end: i64, now_ms: u64) -> Result<(), &'static str> {
    if let Some(list) = list_mut(ks, key, now_ms)? {
        if !algo::trim(list, start, end) {
            ks.remove(key);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Handlers

fn push(ctx: &mut Ctx<'_>, args: Args<'_>, left: bool, only_existing: bool) {
    let key = args.get(1);
    let ks = ctx.db.ks(key);
    let pushed = if only_existing {
        op_pushx(ks, key, args.from(2), left, ctx.now_ms)
    } else {
        op_push(ks, key, args.from(2), left, ctx.now_ms)
    };
    match pushed {
        Ok(n) => ctx.reply_changes(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// LPUSH key element [element ...]
fn lpush(ctx: &mut Ctx<'_>, args: Args<'_>) {
    push(ctx, args, true, false);
}

/// RPUSH key element [element ...]
fn rpush(ctx: &mut Ctx<'_>, args: Args<'_>) {
    push(ctx, args, false, false);
}

/// LPUSHX key element [element ...]
fn lpushx(ctx: &mut Ctx<'_>, args: Args<'_>) {
    push(ctx, args, true, true);
}

/// RPUSHX key element [element ...]
fn rpushx(ctx: &mut Ctx<'_>, args: Args<'_>) {
    push(ctx, args, false, true);
}

/// LPOP and RPOP. Without a count: one element or nil. With one: an array, the nil
/// array when the key is missing, an empty array for a count of 0.
fn pop(ctx: &mut Ctx<'_>, args: Args<'_>, left: bool) {
    if args.len() > 3 {
        return ctx.out.error(&errors::wrong_arity(if left { "lpop" } else { "rpop" }));
    }
    let count = match args.opt(2).map(parse_i64) {
        None => None,
        Some(Some(n)) if n >= 0 => Some(n as usize),
        Some(_) => return ctx.out.error(errors::MUST_BE_POSITIVE),
    };
    let key = args.get(1);
    let ks = ctx.db.ks(key);
    let Some(count) = count else {
        let out = &mut ctx.out;
        return match op_pop_with(ks, key, left, ctx.now_ms, |e| e.with_bytes(|b| out.bulk(b))) {
            Ok(Some(())) => ctx.changed(1),
            Ok(None) => ctx.out.null(),
            Err(e) => ctx.out.error(e),
        };
    };
    if count == 0 {
        return match has_list(ks, key, ctx.now_ms) {
            Ok(true) => ctx.out.array(0),
            Ok(false) => ctx.out.null_array(),
            Err(e) => ctx.out.error(e),
        };
    }
    let items = match op_pop(ks, key, left, count, ctx.now_ms) {
        Ok(items) => items,
        Err(e) => return ctx.out.error(e),
    };
    ctx.changed(items.len() as u64);
    if items.is_empty() {
        return ctx.out.null_array();
    }
    ctx.out.array(items.len());
    for item in &items {
        ctx.out.bulk(item);
    }
}

/// LPOP key [count]
fn lpop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    pop(ctx, args, true);
}

/// RPOP key [count]
fn rpop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    pop(ctx, args, false);
}

/// LLEN key
fn llen(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match list_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(l) => ctx.out.int(l.map_or(0, |l| l.len()) as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// LRANGE key start stop
fn lrange(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (Some(start), Some(end)) = (parse_i64(args.get(2)), parse_i64(args.get(3))) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let key = args.get(1);
    let list = match list_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(l)) => l,
        Ok(None) => return ctx.out.array(0),
        Err(e) => return ctx.out.error(e),
    };
    let Some((from, to)) = clamp_range(start, end, list.len()) else {
        return ctx.out.array(0);
    };
    let out = &mut ctx.out;
    out.array(to - from + 1);
    for item in list.range(from..=to) {
        item.with_bytes(|b| out.bulk(b));
    }
}

/// LINDEX key index
fn lindex(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let list = match list_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(l)) => l,
        Ok(None) => return ctx.out.null(),
        Err(e) => return ctx.out.error(e),
    };
    let Some(index) = parse_i64(args.get(2)) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    match algo::resolve_index(index, list.len()) {
        Some(at) => list.get(at).expect("resolved index").with_bytes(|b| ctx.out.bulk(b)),
        None => ctx.out.null(),
    }
}

/// LSET key index element
fn lset(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match op_lset(ctx.db.ks(key), key, parse_i64(args.get(2)), args.get(3), ctx.now_ms) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// LINSERT key BEFORE|AFTER pivot element
fn linsert(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let after = match args.get(2) {
        w if is(w, "BEFORE") => false,
        w if is(w, "AFTER") => true,
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let key = args.get(1);
    match op_linsert(ctx.db.ks(key), key, after, args.get(3), args.get(4), ctx.now_ms) {
        Ok(n) => ctx.reply_changes(n),
        Err(e) => ctx.out.error(e),
    }
}

/// LREM key count element
fn lrem(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(count) = parse_i64(args.get(2)) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let key = args.get(1);
    match op_lrem(ctx.db.ks(key), key, count, args.get(3), ctx.now_ms) {
        Ok(n) => ctx.reply_changes(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// LTRIM key start stop
fn ltrim(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (Some(start), Some(end)) = (parse_i64(args.get(2)), parse_i64(args.get(3))) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let key = args.get(1);
    match op_ltrim(ctx.db.ks(key), key, start, end, ctx.now_ms) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// LPOS's options: RANK (default 1), COUNT (None: reply with one position), MAXLEN.
struct LposOptions {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

/// Parses `[RANK rank] [COUNT num-matches] [MAXLEN len]` from argument 3 on, each
/// option checked as it comes, as Redis does.
fn parse_lpos(args: Args<'_>) -> Result<LposOptions, &'static str> {
    let mut opts = LposOptions { rank: 1, count: None, maxlen: 0 };
    let non_negative = |arg: &[u8]| parse_i64(arg).filter(|n| *n >= 0).map(|n| n as usize);
    let mut j = 3;
    while j < args.len() {
        let (opt, more) = (args.get(j), j + 1 < args.len());
        j += 1;
        if is(opt, "RANK") && more {
            opts.rank = parse_i64(args.get(j)).ok_or(errors::NOT_INTEGER)?;
            if opts.rank == 0 {
                return Err(errors::LPOS_RANK_ZERO);
            }
        } else if is(opt, "COUNT") && more {
            opts.count = Some(non_negative(args.get(j)).ok_or(errors::LPOS_COUNT_NEGATIVE)?);
        } else if is(opt, "MAXLEN") && more {
            opts.maxlen = non_negative(args.get(j)).ok_or(errors::LPOS_MAXLEN_NEGATIVE)?;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok(opts)
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let opts = match parse_lpos(args) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let key = args.get(1);
    let found = match list_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(list)) => algo::positions(list, args.get(2), opts.rank, opts.count.unwrap_or(1), opts.maxlen),
        Ok(None) => Vec::new(),
        Err(e) => return ctx.out.error(e),
    };
    if opts.count.is_none() {
        return match found.first() {
            Some(&at) => ctx.out.int(at as i64),
            None => ctx.out.null(),
        };
    }
    ctx.out.array(found.len());
    for at in found {
        ctx.out.int(at as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(l: &[&str]) -> Vec<Vec<u8>> {
        l.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn range(ks: &mut Keyspace, key: &[u8]) -> Vec<Vec<u8>> {
        list_of(ks, key, 0).unwrap().map(|l| l.iter().map(|e| e.to_vec()).collect()).unwrap_or_default()
    }

    #[test]
    fn push_and_pushx() {
        let mut ks = Keyspace::new();
        let abc: [&[u8]; 3] = [b"a", b"b", b"c"];
        assert_eq!(op_pushx(&mut ks, b"l", abc.into_iter(), false, 0), Ok(0));
        assert!(!ks.contains(b"l", 0));
        assert_eq!(op_push(&mut ks, b"l", abc.into_iter(), false, 0), Ok(3));
        assert_eq!(op_push(&mut ks, b"l", abc.into_iter(), true, 0), Ok(6));
        assert_eq!(op_pushx(&mut ks, b"l", [b"z".as_slice()].into_iter(), false, 0), Ok(7));
        assert_eq!(range(&mut ks, b"l"), items(&["c", "b", "a", "a", "b", "c", "z"]));
        ks.insert(b"s", Value::Str(b"x".to_vec()), NO_EXPIRE);
        assert_eq!(op_push(&mut ks, b"s", abc.into_iter(), false, 0), Err(errors::WRONGTYPE));
        assert_eq!(op_pushx(&mut ks, b"s", abc.into_iter(), false, 0), Err(errors::WRONGTYPE));
    }

    #[test]
    fn pops_remove_empty_keys() {
        let mut ks = Keyspace::new();
        op_push(&mut ks, b"l", [b"a".as_slice(), b"b", b"c"].into_iter(), false, 0).unwrap();
        assert_eq!(op_pop(&mut ks, b"l", false, 1, 0), Ok(items(&["c"])));
        assert_eq!(op_pop(&mut ks, b"l", true, 0, 0), Ok(vec![]));
        assert_eq!(op_pop(&mut ks, b"l", true, 10, 0), Ok(items(&["a", "b"])));
        assert!(!ks.contains(b"l", 0));
        assert_eq!(op_pop(&mut ks, b"l", true, 1, 0), Ok(vec![]));
        ks.insert(b"s", Value::Str(b"x".to_vec()), NO_EXPIRE);
        assert_eq!(op_pop(&mut ks, b"s", true, 1, 0), Err(errors::WRONGTYPE));
        assert_eq!(op_pop_with(&mut ks, b"s", true, 0, |e| e.to_vec()), Err(errors::WRONGTYPE));
        op_push(&mut ks, b"l", [b"7".as_slice(), b"b"].into_iter(), false, 0).unwrap();
        assert_eq!(op_pop_with(&mut ks, b"l", false, 0, |e| e.to_vec()), Ok(Some(b"b".to_vec())));
        assert_eq!(op_pop_with(&mut ks, b"l", true, 0, |e| e.to_vec()), Ok(Some(b"7".to_vec())));
        assert!(!ks.contains(b"l", 0));
        assert_eq!(op_pop_with(&mut ks, b"l", true, 0, |e| e.to_vec()), Ok(None));
    }

    #[test]
    fn edits_in_place() {
        let mut ks = Keyspace::new();
        assert_eq!(op_lset(&mut ks, b"l", Some(0), b"x", 0), Err(errors::NO_SUCH_KEY));
        assert_eq!(op_linsert(&mut ks, b"l", true, b"a", b"x", 0), Ok(0));
        op_push(&mut ks, b"l", [b"a".as_slice(), b"b", b"a"].into_iter(), false, 0).unwrap();
        assert_eq!(op_lset(&mut ks, b"l", None, b"x", 0), Err(errors::NOT_INTEGER));
        assert_eq!(op_lset(&mut ks, b"l", Some(3), b"x", 0), Err(errors::LINDEX_RANGE));
        assert_eq!(op_lset(&mut ks, b"l", Some(-1), b"z", 0), Ok(()));
        assert_eq!(op_linsert(&mut ks, b"l", true, b"b", b"y", 0), Ok(4));
        assert_eq!(op_linsert(&mut ks, b"l", false, b"q", b"y", 0), Ok(-1));
        assert_eq!(range(&mut ks, b"l"), items(&["a", "b", "y", "z"]));
        assert_eq!(op_lrem(&mut ks, b"l", 0, b"y", 0), Ok(1));
        op_ltrim(&mut ks, b"l", 1, 1, 0).unwrap();
        assert_eq!(range(&mut ks, b"l"), items(&["b"]));
        assert_eq!(op_lrem(&mut ks, b"l", -5, b"b", 0), Ok(1));
        assert!(!ks.contains(b"l", 0));
        op_push(&mut ks, b"l", [b"a".as_slice()].into_iter(), false, 0).unwrap();
        op_ltrim(&mut ks, b"l", 1, 0, 0).unwrap();
        assert!(!ks.contains(b"l", 0));
    }
}
