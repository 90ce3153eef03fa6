//! Hash commands: HSET HSETNX HMSET HGET HMGET HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS
//! HGETALL HINCRBY HINCRBYFLOAT. HRANDFIELD and HSCAN live in `scan.rs`; the
//! structure (listpack / hashtable) in `types/hash.rs`.

pub mod scan;

use crate::commands::effects::{ev, class::HASH, On::Arg, When::{Always, Changed}, traits};
use crate::commands::string::float::LongDouble;
use crate::commands::{errors, flags::*, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::{Args, ReplyWriter};
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};
use crate::types::hash::Hash;

pub(super) const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::ONE, handler).group("hash").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("hset", -4, WRITE | DENYOOM | FAST, hset, "Set the string value of a hash field").events(&[ev(HASH, "hset", Arg(1), Always)]),
    cmd("hsetnx", 4, WRITE | DENYOOM | FAST, hsetnx, "Set the value of a hash field, only if the field does not exist").events(&[ev(HASH, "hset", Arg(1), Changed)]),
    cmd("hmset", -4, WRITE | DENYOOM | FAST, hmset, "Set multiple hash fields to multiple values").events(&[ev(HASH, "hset", Arg(1), Always)]),
    cmd("hget", 3, READONLY | FAST, hget, "Get the value of a hash field"),
    cmd("hmget", -3, READONLY | FAST, hmget, "Get the values of all the given hash fields"),
    cmd("hdel", -3, WRITE | FAST, hdel, "Delete one or more hash fields").events(&[ev(HASH, "hdel", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("hexists", 3, READONLY | FAST, hexists, "Determine if a hash field exists"),
    cmd("hlen", 2, READONLY | FAST, hlen, "Get the number of fields in a hash"),
    cmd("hstrlen", 3, READONLY | FAST, hstrlen, "Get the length of the value of a hash field"),
    cmd("hkeys", 2, READONLY, hkeys, "Get all the fields in a hash"),
    cmd("hvals", 2, READONLY, hvals, "Get all the values in a hash"),
    cmd("hgetall", 2, READONLY, hgetall, "Get all the fields and values in a hash"),
    cmd("hincrby", 4, WRITE | DENYOOM | FAST, hincrby, "Increment the integer value of a hash field by the given number").events(&[ev(HASH, "hincrby", Arg(1), Always)]),
    cmd("hincrbyfloat", 4, WRITE | DENYOOM | FAST, hincrbyfloat, "Increment the float value of a hash field by the given amount").events(&[ev(HASH, "hincrbyfloat", Arg(1), Always)]),
];

// ---------------------------------------------------------------------------------
// Operations on the keyspace

/// The hash under `key` for a read command (counts a keyspace hit or miss): Ok(None)
/// when missing, Err when another type.
pub fn hash_of<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k Hash>, &'static str> {
    match ks.read(key, now_ms).map(|e| e.value) {
        None => Ok(None),
        Some(ValueRef::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// The value of `field` for a write command (no hit/miss counted): Ok(None) when the
/// key or the field is missing.
fn field_for_write<'k>(ks: &'k mut Keyspace, key: &[u8], field: &[u8], now_ms: u64) -> Result<Option<&'k [u8]>, &'static str> {
    match ks.get(key, now_ms).map(|e| e.value) {
        None => Ok(None),
        Some(ValueRef::Hash(h)) => Ok(h.get(field)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// The hash under `key` for changing it, created empty when missing. The caller must
/// leave it non-empty.
fn hash_mut_or_create<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<&'k mut Hash, &'static str> {
    match ks.get(key, now_ms).map(|e| e.value) {
        None => ks.insert(key, Value::Hash(Hash::new()), NO_EXPIRE),
        Some(ValueRef::Hash(_)) => {}
        Some(_) => return Err(errors::WRONGTYPE),
    }
    match ks.get_mut(key, now_ms) {
        Some(Value::Hash(h)) => Ok(h),
        _ => Err(errors::WRONGTYPE),
    }
}

/// Sets each (field, value), the last one winning for a repeated field; creates the
/// hash. Returns how many fields are new.
pub fn op_hset<'a>(
    ks: &mut Keyspace,
    key: &[u8],
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    now_ms: u64,
) -> Result<usize, &'static str> {
    let hash = hash_mut_or_create(ks, key, now_ms)?;
    Ok(pairs.filter(|(f, v)| hash.insert(f, v)).count())
}

/// Sets `field` only when it is missing. Returns whether it was set.
pub fn op_hsetnx(ks: &mut Keyspace, key: &[u8], field: &[u8], value: &[u8], now_ms: u64) -> Result<bool, &'static str> {
    if field_for_write(ks, key, field, now_ms)?.is_some() {
        return Ok(false);
    }
    hash_mut_or_create(ks, key, now_ms)?.insert(field, value);
    Ok(true)
}

/// Removes `fields`, and the key once its hash is empty. Returns how many were there.
pub fn op_hdel<'a>(ks: &mut Keyspace, key: &[u8], fields: impl Iterator<Item = &'a [u8]>, now_ms: u64) -> Result<usize, &'static str> {
    match ks.get(key, now_ms).map(|e| e.value) {
        None => return Ok(0),
        Some(ValueRef::Hash(_)) => {}
        Some(_) => return Err(errors::WRONGTYPE),
    }
    let Some(Value::Hash(hash)) = ks.get_mut(key, now_ms) else { return Ok(0) };
    let removed = fields.filter(|f| hash.remove(f)).count();
    if hash.is_empty() {
        ks.remove(key);
    }
    Ok(removed)
}

/// Adds `delta` to the integer in `field` (0 when missing). Returns the new value.
pub fn op_hincrby(ks: &mut Keyspace, key: &[u8], field: &[u8], delta: i64, now_ms: u64) -> Result<i64, &'static str> {
    let old = match field_for_write(ks, key, field, now_ms)? {
        Some(v) => parse_i64(v).ok_or(errors::HASH_NOT_INTEGER)?,
        None => 0,
    };
    let new = old.checked_add(delta).ok_or(errors::OVERFLOW)?;
    let mut text = Vec::with_capacity(20);
    crate::resp::writer::push_int(&mut text, new);
    hash_mut_or_create(ks, key, now_ms)?.insert(field, &text);
    Ok(new)
}

/// Adds `incr` (finite) to the float in `field` (0 when missing) with Redis's long
/// double arithmetic. Returns the stored text, which is also the reply.
pub fn op_hincrbyfloat(ks: &mut Keyspace, key: &[u8], field: &[u8], incr: LongDouble, now_ms: u64) -> Result<Vec<u8>, &'static str> {
    let old = match field_for_write(ks, key, field, now_ms)? {
        Some(v) => LongDouble::parse(v).ok_or(errors::HASH_NOT_FLOAT)?,
        None => LongDouble::ZERO,
    };
    let text = old.checked_add(incr).ok_or(errors::NAN_OR_INF)?.to_fixed17();
    hash_mut_or_create(ks, key, now_ms)?.insert(field, &text);
    Ok(text)
}

// ---------------------------------------------------------------------------------
// Handlers

/// The (field, value) pairs of HSET/HMSET; None when one is incomplete.
fn pairs_of(args: Args<'_>) -> Option<impl Iterator<Item = (&[u8], &[u8])> + '_> {
    (args.len() % 2 == 0).then(|| (2..args.len()).step_by(2).map(move |i| (args.get(i), args.get(i + 1))))
}

/// HSET key field value [field value ...]
fn hset(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(pairs) = pairs_of(args) else {
        return ctx.out.error(&errors::wrong_arity("hset"));
    };
    let key = args.get(1);
    match op_hset(ctx.db.ks(key), key, pairs, ctx.now_ms) {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// HMSET key field value [field value ...]
fn hmset(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(pairs) = pairs_of(args) else {
        return ctx.out.error(&errors::wrong_arity("hmset"));
    };
    let key = args.get(1);
    match op_hset(ctx.db.ks(key), key, pairs, ctx.now_ms) {
        Ok(_) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// HSETNX key field value
fn hsetnx(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match op_hsetnx(ctx.db.ks(key), key, args.get(2), args.get(3), ctx.now_ms) {
        Ok(set) => ctx.reply_changes(set as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// HGET key field
fn hget(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match hash_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(h) => match h.and_then(|h| h.get(args.get(2))) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        },
        Err(e) => ctx.out.error(e),
    }
}

/// HMGET key field [field ...]
fn hmget(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let hash = match hash_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(h) => h,
        Err(e) => return ctx.out.error(e),
    };
    ctx.out.array(args.len() - 2);
    for field in args.from(2) {
        match hash.and_then(|h| h.get(field)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
}

/// HDEL key field [field ...]
fn hdel(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match op_hdel(ctx.db.ks(key), key, args.from(2), ctx.now_ms) {
        Ok(n) => ctx.reply_changes(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// Replies with an integer computed from the hash under `args[1]` (None when missing).
fn reply_count(ctx: &mut Ctx<'_>, args: Args<'_>, f: impl FnOnce(Option<&Hash>) -> usize) {
    let key = args.get(1);
    match hash_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(h) => ctx.out.int(f(h) as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// HEXISTS key field
fn hexists(ctx: &mut Ctx<'_>, args: Args<'_>) {
    reply_count(ctx, args, |h| h.is_some_and(|h| h.contains(args.get(2))) as usize);
}

/// HLEN key
fn hlen(ctx: &mut Ctx<'_>, args: Args<'_>) {
    reply_count(ctx, args, |h| h.map_or(0, Hash::len));
}

/// HSTRLEN key field
fn hstrlen(ctx: &mut Ctx<'_>, args: Args<'_>) {
    reply_count(ctx, args, |h| h.and_then(|h| h.get(args.get(2))).map_or(0, <[u8]>::len));
}

/// Which parts of each entry HKEYS, HVALS and HGETALL reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

/// Writes every entry of `hash` (an empty reply when missing): a map for both parts,
/// an array otherwise.
fn reply_all(out: &mut ReplyWriter<'_>, hash: Option<&Hash>, parts: Parts) {
    let n = hash.map_or(0, Hash::len);
    if parts == Parts::Both {
        out.map(n);
    } else {
        out.array(n);
    }
    for (f, v) in hash.into_iter().flat_map(Hash::iter) {
        if parts != Parts::Values {
            out.bulk(f);
        }
        if parts != Parts::Fields {
            out.bulk(v);
        }
    }
}

fn getall(ctx: &mut Ctx<'_>, args: Args<'_>, parts: Parts) {
    let key = args.get(1);
    match hash_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(h) => reply_all(&mut ctx.out, h, parts),
        Err(e) => ctx.out.error(e),
    }
}

/// HKEYS key
fn hkeys(ctx: &mut Ctx<'_>, args: Args<'_>) {
    getall(ctx, args, Parts::Fields);
}

/// HVALS key
fn hvals(ctx: &mut Ctx<'_>, args: Args<'_>) {
    getall(ctx, args, Parts::Values);
}

/// HGETALL key
fn hgetall(ctx: &mut Ctx<'_>, args: Args<'_>) {
    getall(ctx, args, Parts::Both);
}

/// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(delta) = parse_i64(args.get(3)) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let key = args.get(1);
    match op_hincrby(ctx.db.ks(key), key, args.get(2), delta, ctx.now_ms) {
        Ok(n) => ctx.out.int(n),
        Err(e) => ctx.out.error(e),
    }
}

/// HINCRBYFLOAT key field increment
fn hincrbyfloat(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let incr = match LongDouble::parse(args.get(3)) {
        Some(LongDouble::Infinite { .. }) => return ctx.out.error(errors::NAN_OR_INFINITY),
        Some(incr) => incr,
        None => return ctx.out.error(errors::NOT_FLOAT),
    };
    let key = args.get(1);
    match op_hincrbyfloat(ctx.db.ks(key), key, args.get(2), incr, ctx.now_ms) {
        Ok(text) => ctx.out.bulk(&text),
        Err(e) => ctx.out.error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs<'a>(v: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        v.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes()))
    }

    fn get(ks: &mut Keyspace, key: &str, field: &str) -> Option<String> {
        let h = hash_of(ks, key.as_bytes(), 0).unwrap()?;
        h.get(field.as_bytes()).map(|v| String::from_utf8_lossy(v).into())
    }

    #[test]
    fn set_get_delete() {
        let mut ks = Keyspace::new();
        assert_eq!(op_hset(&mut ks, b"h", pairs(&[("a", "1"), ("b", "2"), ("a", "3")]), 0), Ok(2));
        assert_eq!(get(&mut ks, "h", "a").as_deref(), Some("3"));
        assert_eq!(op_hsetnx(&mut ks, b"h", b"a", b"x", 0), Ok(false));
        assert_eq!(op_hsetnx(&mut ks, b"h", b"c", b"x", 0), Ok(true));
        assert_eq!(op_hdel(&mut ks, b"h", [&b"a"[..], b"a", b"zz"].into_iter(), 0), Ok(1));
        assert_eq!(op_hdel(&mut ks, b"h", [&b"b"[..], b"c"].into_iter(), 0), Ok(2));
        assert!(!ks.contains(b"h", 0), "an emptied hash is deleted");
        assert_eq!(op_hdel(&mut ks, b"h", [&b"b"[..]].into_iter(), 0), Ok(0));
    }

    #[test]
    fn wrong_type() {
        let mut ks = Keyspace::new();
        ks.insert(b"s", Value::Str(b"x".to_vec()), NO_EXPIRE);
        assert_eq!(op_hset(&mut ks, b"s", pairs(&[("a", "1")]), 0), Err(errors::WRONGTYPE));
        assert_eq!(op_hsetnx(&mut ks, b"s", b"a", b"1", 0), Err(errors::WRONGTYPE));
        assert_eq!(op_hdel(&mut ks, b"s", [&b"a"[..]].into_iter(), 0), Err(errors::WRONGTYPE));
        assert_eq!(op_hincrby(&mut ks, b"s", b"a", 1, 0), Err(errors::WRONGTYPE));
        assert!(hash_of(&mut ks, b"s", 0).is_err());
    }

    #[test]
    fn incr_by_integer() {
        let mut ks = Keyspace::new();
        assert_eq!(op_hincrby(&mut ks, b"h", b"n", 5, 0), Ok(5));
        assert_eq!(op_hincrby(&mut ks, b"h", b"n", -7, 0), Ok(-2));
        op_hset(&mut ks, b"h", pairs(&[("max", "9223372036854775807"), ("s", " 1")]), 0).unwrap();
        assert_eq!(op_hincrby(&mut ks, b"h", b"max", 1, 0), Err(errors::OVERFLOW));
        assert_eq!(op_hincrby(&mut ks, b"h", b"s", 1, 0), Err(errors::HASH_NOT_INTEGER));
        assert_eq!(get(&mut ks, "h", "n").as_deref(), Some("-2"));
    }

    #[test]
    fn incr_by_float_prints_like_redis() {
        let mut ks = Keyspace::new();
        let ld = |s: &str| LongDouble::parse(s.as_bytes()).unwrap();
        assert_eq!(op_hincrbyfloat(&mut ks, b"h", b"f", ld("10.5"), 0), Ok(b"10.5".to_vec()));
        assert_eq!(op_hincrbyfloat(&mut ks, b"h", b"f", ld("0.1"), 0), Ok(b"10.6".to_vec()));
        assert_eq!(op_hincrbyfloat(&mut ks, b"h", b"g", ld("1234567890.1"), 0), Ok(b"1234567890.09999999997671694".to_vec()));
        op_hset(&mut ks, b"h", pairs(&[("x", "abc"), ("big", "1.1e4932")]), 0).unwrap();
        assert_eq!(op_hincrbyfloat(&mut ks, b"h", b"x", ld("1"), 0), Err(errors::HASH_NOT_FLOAT));
        assert_eq!(op_hincrbyfloat(&mut ks, b"h", b"big", ld("1e4932"), 0), Err(errors::NAN_OR_INF));
        // A long result turns the hash into a hashtable, as in Redis.
        op_hincrbyfloat(&mut ks, b"h", b"huge", ld("1e80"), 0).unwrap();
        assert_eq!(hash_of(&mut ks, b"h", 0).unwrap().unwrap().encoding_name(), "hashtable");
    }
}
