//! String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX
//! INCR DECR INCRBY DECRBY STRLEN. Ranges, APPEND and LCS live in `range.rs`,
//! INCRBYFLOAT in `float.rs`.

pub mod float;
pub mod range;

use crate::commands::effects::{ev, class::{GENERIC, STRING}, On::{AllKeys, Arg}, When::{Always, Changed}, Propagate};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("string").summary(summary)
}

/// Key, value, key, value...: MSET, MSETNX.
const PAIRS: KeySpec = KeySpec::new(1, -1, 2);

pub const COMMANDS: &[Command] = &[
    cmd("get", 2, READONLY | FAST, KeySpec::ONE, get, "Get the value of a key"),
    cmd("set", -3, WRITE | DENYOOM, KeySpec::ONE, set, "Set the string value of a key").events(&[ev(STRING, "set", AllKeys, Always)]).propagate(Propagate::AbsoluteTtl),
    cmd("setnx", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, setnx, "Set the value of a key, only if the key does not exist").events(&[ev(STRING, "set", AllKeys, Changed)]),
    cmd("setex", 4, WRITE | DENYOOM, KeySpec::ONE, setex, "Set the value and expiration of a key").events(&[ev(STRING, "set", Arg(1), Always), ev(GENERIC, "expire", Arg(1), Always)]).propagate(Propagate::AbsoluteTtl),
    cmd("psetex", 4, WRITE | DENYOOM, KeySpec::ONE, psetex, "Set the value and expiration in milliseconds of a key").events(&[ev(STRING, "set", Arg(1), Always), ev(GENERIC, "expire", Arg(1), Always)]).propagate(Propagate::AbsoluteTtl),
    cmd("getset", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, getset, "Set the string value of a key and return its old value").events(&[ev(STRING, "set", AllKeys, Always)]),
    cmd("getdel", 2, WRITE | FAST, KeySpec::ONE, getdel, "Get the value of a key and delete the key").events(&[ev(GENERIC, "del", Arg(1), Changed)]),
    cmd("getex", -2, WRITE | FAST, KeySpec::ONE, getex, "Get the value of a key and optionally set its expiration").propagate(Propagate::AbsoluteTtl),
    cmd("mget", -2, READONLY | FAST, KeySpec::ALL, mget, "Get the values of all the given keys"),
    cmd("mset", -3, WRITE | DENYOOM, PAIRS, mset, "Set multiple keys to multiple values").events(&[ev(STRING, "set", AllKeys, Always)]),
    cmd("msetnx", -3, WRITE | DENYOOM, PAIRS, msetnx, "Set multiple keys to multiple values, only if none of the keys exist").events(&[ev(STRING, "set", AllKeys, Changed)]),
    cmd("incr", 2, WRITE | DENYOOM | FAST, KeySpec::ONE, incr, "Increment the integer value of a key by one").events(&[ev(STRING, "incrby", Arg(1), Always)]),
    cmd("decr", 2, WRITE | DENYOOM | FAST, KeySpec::ONE, decr, "Decrement the integer value of a key by one").events(&[ev(STRING, "incrby", Arg(1), Always)]),
    cmd("incrby", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, incrby, "Increment the integer value of a key by the given amount").events(&[ev(STRING, "incrby", Arg(1), Always)]),
    cmd("decrby", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, decrby, "Decrement the integer value of a key by the given number").events(&[ev(STRING, "incrby", Arg(1), Always)]),
    cmd("strlen", 2, READONLY | FAST, KeySpec::ONE, strlen, "Get the length of the value stored in a key"),
];

// ---------------------------------------------------------------------------------
// Operations on the keyspace

/// The string under `key`: Ok(None) when missing, Err when another type. Counts a
/// keyspace hit or miss.
pub fn op_get<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k [u8]>, &'static str> {
    match ks.read(key, now_ms) {
        None => Ok(None),
        Some(e) => match e.value {
            ValueRef::Str(s) => Ok(Some(s)),
            _ => Err(errors::WRONGTYPE),
        },
    }
}

/// Which existing state a SET requires of its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetCond {
    Always,
    /// NX: only when the key is missing.
    Missing,
    /// XX: only when the key exists.
    Exists,
}

/// The deadline a write leaves on its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTtl {
    /// No deadline (a plain SET clears it).
    Clear,
    /// KEEPTTL: the key's current deadline.
    Keep,
    /// This deadline, unix ms.
    At(u64),
}

/// What SET did: whether it wrote, and (when asked with `get`) the old string.
#[derive(Debug, PartialEq, Eq)]
pub struct SetOutcome {
    pub written: bool,
    pub old: Option<Vec<u8>>,
}

/// SET in all its forms. With `get`, the old value must be a string (else WRONGTYPE
/// and nothing is written) and is returned; it replaces a value of any type otherwise.
pub fn op_set(ks: &mut Keyspace, key: &[u8], value: &[u8], cond: SetCond, ttl: SetTtl, get: bool, now_ms: u64) -> Result<SetOutcome, &'static str> {
    let old = if get { op_get(ks, key, now_ms)?.map(<[u8]>::to_vec) } else { None };
    let allowed = match cond {
        SetCond::Always => true,
        SetCond::Missing if get => old.is_none(),
        SetCond::Exists if get => old.is_some(),
        SetCond::Missing => !ks.contains(key, now_ms),
        SetCond::Exists => ks.contains(key, now_ms),
    };
    if allowed {
        // Stores the string (replacing any type) with the deadline `ttl` asks for.
        match ttl {
            SetTtl::Clear => ks.set_string(key, value, NO_EXPIRE),
            SetTtl::At(at) => ks.set_string(key, value, at),
            SetTtl::Keep => ks.insert_keep_ttl(key, Value::Str(value.to_vec()), now_ms),
        }
    }
    Ok(SetOutcome { written: allowed, old })
}

/// Removes a string key and returns its value: Ok(None) when missing.
pub fn op_getdel(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, &'static str> {
    if op_get(ks, key, now_ms)?.is_none() {
        return Ok(None);
    }
    match ks.take(key, now_ms) {
        Some((Value::Str(s), _)) => Ok(Some(s)),
        _ => Ok(None),
    }
}

/// What GETEX does to the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetexTtl {
    Unchanged,
    /// PERSIST: no deadline.
    Persist,
    /// A new deadline, unix ms; one already past deletes the key.
    At(u64),
}

/// GETEX: the string under `key` (Ok(None) when missing), after which its deadline
/// changes as `ttl` says.
pub fn op_getex(ks: &mut Keyspace, key: &[u8], ttl: GetexTtl, now_ms: u64) -> Result<Option<Vec<u8>>, &'static str> {
    let Some(value) = op_get(ks, key, now_ms)? else { return Ok(None) };
    let value = value.to_vec();
    match ttl {
        GetexTtl::Unchanged => {}
        GetexTtl::At(at) if at <= now_ms => {
            ks.remove(key);
        }
        GetexTtl::At(at) => {
            ks.set_expire(key, at, now_ms);
        }
        GetexTtl::Persist => {
            ks.set_expire(key, NO_EXPIRE, now_ms);
        }
    }
    Ok(Some(value))
}

/// Adds `delta` to the integer under `key` (0 when missing), keeping its deadline.
pub fn op_incr_by(ks: &mut Keyspace, key: &[u8], delta: i64, now_ms: u64) -> Result<i64, &'static str> {
    let Some(value) = ks.get_mut(key, now_ms) else {
        ks.insert(key, Value::Str(delta.to_string().into_bytes()), NO_EXPIRE);
        return Ok(delta);
    };
    match value {
        Value::Str(s) => {
            let old = parse_i64(s).ok_or(errors::NOT_INTEGER)?;
            let new = old.checked_add(delta).ok_or(errors::OVERFLOW)?;
            s.clear();
            crate::resp::writer::push_int(s, new);
            Ok(new)
        }
        #[allow(unreachable_patterns)]
        _ => Err(errors::WRONGTYPE),
    }
}

/// Length of the string under `key`, 0 when missing.
pub fn op_strlen(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> Result<usize, &'static str> {
    Ok(op_get(ks, key, now_ms)?.map_or(0, <[u8]>::len))
}

// ---------------------------------------------------------------------------------
// Arguments shared by SET, SETEX, PSETEX and GETEX

/// The four ways to give a deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpireUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// The options of SET (and, with `for_set` false, GETEX) as Redis accepts them.
#[derive(Default, Debug)]
struct SetArgs<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpireUnit, &'a [u8])>,
}

/// Parses the options from `args[from..]`. Repeating the same option is allowed (the
/// last deadline wins); any conflict or unknown word is a syntax error.
fn parse_set_args(args: Args<'_>, from: usize, for_set: bool) -> Result<SetArgs<'_>, &'static str> {
    let mut o = SetArgs::default();
    let mut i = from;
    while i < args.len() {
        let opt = args.get(i);
        let next = args.opt(i + 1);
        let unit = [("ex", ExpireUnit::Ex), ("px", ExpireUnit::Px), ("exat", ExpireUnit::ExAt), ("pxat", ExpireUnit::PxAt)]
            .into_iter()
            .find(|(name, _)| is(opt, name))
            .map(|(_, u)| u);
        if is(opt, "nx") && for_set && !o.xx {
            o.nx = true;
        } else if is(opt, "xx") && for_set && !o.nx {
            o.xx = true;
        } else if is(opt, "get") && for_set {
            o.get = true;
        } else if is(opt, "keepttl") && for_set && o.expire.is_none() {
            o.keepttl = true;
        } else if is(opt, "persist") && !for_set && o.expire.is_none() {
            o.persist = true;
        } else if let (Some(unit), Some(value)) = (unit, next) {
            let same = o.expire.is_none_or(|(u, _)| u == unit);
            if o.keepttl || o.persist || !same {
                return Err(errors::SYNTAX);
            }
            o.expire = Some((unit, value));
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    Ok(o)
}

/// The absolute deadline (unix ms) for `value` given with `unit`, or the error reply:
/// not an integer, or not positive, or overflowing (named after `cmd`).
fn deadline(unit: ExpireUnit, value: &[u8], now_ms: u64, cmd: &str) -> Result<u64, String> {
    let n = parse_i64(value).ok_or_else(|| errors::NOT_INTEGER.to_string())?;
    let seconds = matches!(unit, ExpireUnit::Ex | ExpireUnit::ExAt);
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(errors::invalid_expire(cmd));
    }
    let ms = if seconds { n * 1000 } else { n };
    let at = match unit {
        ExpireUnit::Ex | ExpireUnit::Px => ms.checked_add(now_ms as i64),
        ExpireUnit::ExAt | ExpireUnit::PxAt => Some(ms),
    };
    at.map(|at| at as u64).ok_or_else(|| errors::invalid_expire(cmd))
}

// ---------------------------------------------------------------------------------
// Handlers

/// GET key
fn get(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match op_get(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(v)) => ctx.out.bulk(v),
        Ok(None) => ctx.out.null(),
        Err(e) => ctx.out.error(e),
    }
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]
fn set(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() == 3 {
        // Plain `SET key value`, the common case: no options, always written, no deadline.
        let (key, value) = (args.get(1), args.get(2));
        ctx.db.ks(key).set_string(key, value, NO_EXPIRE);
        return ctx.out.ok();
    }
    let o = match parse_set_args(args, 3, true) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let ttl = match o.expire {
        Some((unit, value)) => match deadline(unit, value, ctx.now_ms, "set") {
            Ok(at) => SetTtl::At(at),
            Err(e) => return ctx.out.error(&e),
        },
        None if o.keepttl => SetTtl::Keep,
        None => SetTtl::Clear,
    };
    let cond = if o.nx {
        SetCond::Missing
    } else if o.xx {
        SetCond::Exists
    } else {
        SetCond::Always
    };
    let (key, value) = (args.get(1), args.get(2));
    let outcome = op_set(ctx.db.ks(key), key, value, cond, ttl, o.get, ctx.now_ms);
    if outcome.is_ok() && o.expire.is_some() {
        ctx.signal(GENERIC, "expire", key);
    }
    match outcome {
        Err(e) => ctx.out.error(e),
        Ok(SetOutcome { old: Some(old), .. }) if o.get => ctx.out.bulk(&old),
        Ok(_) if o.get => ctx.out.null(),
        Ok(SetOutcome { written: true, .. }) => ctx.out.ok(),
        Ok(_) => ctx.out.null(),
    }
}

/// SETNX key value
fn setnx(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, value) = (args.get(1), args.get(2));
    match op_set(ctx.db.ks(key), key, value, SetCond::Missing, SetTtl::Clear, false, ctx.now_ms) {
        Ok(done) => {
            ctx.changed(done.written as u64);
            ctx.out.int(done.written as i64)
        }
        Err(e) => ctx.out.error(e),
    }
}

/// SETEX and PSETEX: a value with a relative deadline in `unit`.
fn set_with_expire(ctx: &mut Ctx<'_>, args: Args<'_>, unit: ExpireUnit, cmd: &str) {
    let at = match deadline(unit, args.get(2), ctx.now_ms, cmd) {
        Ok(at) => at,
        Err(e) => return ctx.out.error(&e),
    };
    let (key, value) = (args.get(1), args.get(3));
    match op_set(ctx.db.ks(key), key, value, SetCond::Always, SetTtl::At(at), false, ctx.now_ms) {
        Ok(_) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// SETEX key seconds value
fn setex(ctx: &mut Ctx<'_>, args: Args<'_>) {
    set_with_expire(ctx, args, ExpireUnit::Ex, "setex");
}

/// PSETEX key milliseconds value
fn psetex(ctx: &mut Ctx<'_>, args: Args<'_>) {
    set_with_expire(ctx, args, ExpireUnit::Px, "psetex");
}

/// Writes an optional old value: a bulk string or nil.
fn reply_value(ctx: &mut Ctx<'_>, result: Result<Option<Vec<u8>>, &'static str>) {
    match result {
        Ok(Some(v)) => ctx.out.bulk(&v),
        Ok(None) => ctx.out.null(),
        Err(e) => ctx.out.error(e),
    }
}

/// GETSET key value
fn getset(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, value) = (args.get(1), args.get(2));
    let result = op_set(ctx.db.ks(key), key, value, SetCond::Always, SetTtl::Clear, true, ctx.now_ms);
    reply_value(ctx, result.map(|done| done.old));
}

/// GETDEL key
fn getdel(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let result = op_getdel(ctx.db.ks(key), key, ctx.now_ms);
    if let Ok(Some(_)) = result {
        ctx.changed(1);
    }
    reply_value(ctx, result);
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]
fn getex(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let o = match parse_set_args(args, 2, false) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let key = args.get(1);
    let ttl = match o.expire.map(|(unit, value)| deadline(unit, value, ctx.now_ms, "getex")) {
        Some(Ok(at)) => GetexTtl::At(at),
        // A bad deadline is reported only for a live string key, as Redis checks it last.
        Some(Err(e)) => {
            return match op_get(ctx.db.ks(key), key, ctx.now_ms) {
                Ok(Some(_)) => ctx.out.error(&e),
                Ok(None) => ctx.out.null(),
                Err(e) => ctx.out.error(e),
            };
        }
        None if o.persist => GetexTtl::Persist,
        None => GetexTtl::Unchanged,
    };
    let event = match ttl {
        GetexTtl::Persist => Some("persist"),
        GetexTtl::At(_) => Some("expire"),
        GetexTtl::Unchanged => None,
    };
    let result = op_getex(ctx.db.ks(key), key, ttl, ctx.now_ms);
    if let (Ok(Some(_)), Some(event)) = (&result, event) {
        ctx.signal(GENERIC, event, key);
    }
    reply_value(ctx, result);
}

/// MGET key [key ...]
fn mget(ctx: &mut Ctx<'_>, args: Args<'_>) {
    ctx.out.array(args.len() - 1);
    for key in args.from(1) {
        match op_get(ctx.db.ks(key), key, ctx.now_ms) {
            Ok(Some(v)) => ctx.out.bulk(v),
            _ => ctx.out.null(),
        }
    }
}

/// MSET key value [key value ...]
fn mset(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() % 2 == 0 {
        return ctx.out.error(&errors::wrong_arity("mset"));
    }
    set_pairs(ctx, args);
    ctx.out.ok();
}

/// MSETNX key value [key value ...]
fn msetnx(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() % 2 == 0 {
        return ctx.out.error(&errors::wrong_arity("msetnx"));
    }
    let now = ctx.now_ms;
    if (1..args.len()).step_by(2).any(|i| ctx.db.ks(args.get(i)).contains(args.get(i), now)) {
        return ctx.out.int(0);
    }
    set_pairs(ctx, args);
    ctx.changed(1);
    ctx.out.int(1);
}

/// Stores every key/value pair of MSET, the last one winning for a repeated key.
fn set_pairs(ctx: &mut Ctx<'_>, args: Args<'_>) {
    for i in (1..args.len()).step_by(2) {
        let (key, value) = (args.get(i), args.get(i + 1));
        ctx.db.ks(key).set_string(key, value, NO_EXPIRE);
    }
}

/// The shared body of INCR, DECR, INCRBY, DECRBY.
fn incr_reply(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) {
    match op_incr_by(ctx.db.ks(key), key, delta, ctx.now_ms) {
        Ok(n) => ctx.out.int(n),
        Err(e) => ctx.out.error(e),
    }
}

/// INCR key
fn incr(ctx: &mut Ctx<'_>, args: Args<'_>) {
    incr_reply(ctx, args.get(1), 1);
}

/// DECR key
fn decr(ctx: &mut Ctx<'_>, args: Args<'_>) {
    incr_reply(ctx, args.get(1), -1);
}

/// INCRBY key increment
fn incrby(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match parse_i64(args.get(2)) {
        Some(delta) => incr_reply(ctx, args.get(1), delta),
        None => ctx.out.error(errors::NOT_INTEGER),
    }
}

/// DECRBY key decrement
fn decrby(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match parse_i64(args.get(2)) {
        Some(i64::MIN) => ctx.out.error(errors::DECREMENT_OVERFLOW),
        Some(delta) => incr_reply(ctx, args.get(1), -delta),
        None => ctx.out.error(errors::NOT_INTEGER),
    }
}

/// STRLEN key
fn strlen(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match op_strlen(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks_with(pairs: &[(&str, &str)]) -> Keyspace {
        let mut ks = Keyspace::new();
        for (k, v) in pairs {
            ks.insert(k.as_bytes(), Value::Str(v.as_bytes().to_vec()), NO_EXPIRE);
        }
        ks
    }

    fn get_str(ks: &mut Keyspace, key: &str) -> Option<String> {
        op_get(ks, key.as_bytes(), 0).unwrap().map(|v| String::from_utf8(v.to_vec()).unwrap())
    }

    #[test]
    fn set_conditions_and_get() {
        let mut ks = Keyspace::new();
        let set = |ks: &mut Keyspace, v: &str, cond, get| op_set(ks, b"k", v.as_bytes(), cond, SetTtl::Clear, get, 0).unwrap();
        assert_eq!(set(&mut ks, "a", SetCond::Exists, false), SetOutcome { written: false, old: None });
        assert_eq!(set(&mut ks, "a", SetCond::Missing, false), SetOutcome { written: true, old: None });
        assert_eq!(set(&mut ks, "b", SetCond::Missing, true), SetOutcome { written: false, old: Some(b"a".to_vec()) });
        assert_eq!(set(&mut ks, "c", SetCond::Exists, true), SetOutcome { written: true, old: Some(b"a".to_vec()) });
        assert_eq!(get_str(&mut ks, "k").as_deref(), Some("c"));
    }

    #[test]
    fn set_deadlines() {
        let mut ks = Keyspace::new();
        op_set(&mut ks, b"k", b"v", SetCond::Always, SetTtl::At(500), false, 0).unwrap();
        assert_eq!(ks.expire_of(b"k", 0), Some(500));
        op_set(&mut ks, b"k", b"w", SetCond::Always, SetTtl::Keep, false, 0).unwrap();
        assert_eq!(ks.expire_of(b"k", 0), Some(500));
        op_set(&mut ks, b"k", b"x", SetCond::Always, SetTtl::Clear, false, 0).unwrap();
        assert_eq!(ks.expire_of(b"k", 0), Some(NO_EXPIRE));
        assert_eq!(ks.volatile_len(), 0);
        op_set(&mut ks, b"k", b"y", SetCond::Always, SetTtl::At(100), false, 0).unwrap();
        assert_eq!(get_str(&mut ks, "k"), Some("y".into()));
        assert!(op_get(&mut ks, b"k", 100).unwrap().is_none());
    }

    #[test]
    fn getdel_and_getex() {
        let mut ks = ks_with(&[("a", "1"), ("b", "2")]);
        assert_eq!(op_getdel(&mut ks, b"a", 0), Ok(Some(b"1".to_vec())));
        assert_eq!(op_getdel(&mut ks, b"a", 0), Ok(None));
        assert_eq!(op_getex(&mut ks, b"b", GetexTtl::At(1000), 10), Ok(Some(b"2".to_vec())));
        assert_eq!(ks.expire_of(b"b", 10), Some(1000));
        assert_eq!(op_getex(&mut ks, b"b", GetexTtl::Persist, 10), Ok(Some(b"2".to_vec())));
        assert_eq!(ks.expire_of(b"b", 10), Some(NO_EXPIRE));
        assert_eq!(op_getex(&mut ks, b"b", GetexTtl::At(5), 10), Ok(Some(b"2".to_vec())));
        assert!(!ks.contains(b"b", 10));
        assert_eq!(op_getex(&mut ks, b"nope", GetexTtl::Unchanged, 10), Ok(None));
    }

    #[test]
    fn incr_parses_like_redis_and_keeps_ttl() {
        let mut ks = ks_with(&[("n", "10"), ("sp", " 1"), ("z", "00"), ("max", "9223372036854775807")]);
        assert_eq!(op_incr_by(&mut ks, b"n", -15, 0), Ok(-5));
        assert_eq!(get_str(&mut ks, "n").as_deref(), Some("-5"));
        assert_eq!(op_incr_by(&mut ks, b"new", 7, 0), Ok(7));
        assert_eq!(op_incr_by(&mut ks, b"sp", 1, 0), Err(errors::NOT_INTEGER));
        assert_eq!(op_incr_by(&mut ks, b"z", 1, 0), Err(errors::NOT_INTEGER));
        assert_eq!(op_incr_by(&mut ks, b"max", 1, 0), Err(errors::OVERFLOW));
        assert_eq!(op_incr_by(&mut ks, b"max", -1, 0), Ok(i64::MAX - 1));
        ks.set_expire(b"n", 777, 0);
        op_incr_by(&mut ks, b"n", 1, 0).unwrap();
        assert_eq!(ks.expire_of(b"n", 0), Some(777));
    }

    #[test]
    fn strlen_counts_bytes() {
        let mut ks = ks_with(&[("s", "héllo")]);
        assert_eq!(op_strlen(&mut ks, b"s", 0), Ok(6));
        assert_eq!(op_strlen(&mut ks, b"none", 0), Ok(0));
    }

    #[test]
    fn deadlines_from_arguments() {
        assert_eq!(deadline(ExpireUnit::Ex, b"10", 1000, "set"), Ok(11_000));
        assert_eq!(deadline(ExpireUnit::Px, b"10", 1000, "set"), Ok(1010));
        assert_eq!(deadline(ExpireUnit::ExAt, b"10", 1000, "set"), Ok(10_000));
        assert_eq!(deadline(ExpireUnit::PxAt, b"10", 1000, "set"), Ok(10));
        assert_eq!(deadline(ExpireUnit::Ex, b"1.5", 0, "set"), Err(errors::NOT_INTEGER.to_string()));
        assert_eq!(deadline(ExpireUnit::Ex, b"0", 0, "set"), Err(errors::invalid_expire("set")));
        assert_eq!(deadline(ExpireUnit::Ex, b"9223372036854776", 0, "x"), Err(errors::invalid_expire("x")));
        assert_eq!(deadline(ExpireUnit::Px, b"9223372036854775807", 5, "x"), Err(errors::invalid_expire("x")));
    }
}
