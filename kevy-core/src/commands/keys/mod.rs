//! Generic key commands: DEL UNLINK EXISTS TOUCH TYPE RENAME RENAMENX COPY KEYS
//! RANDOMKEY OBJECT. Expiry (EXPIRE, TTL, PERSIST...) lives in `expire.rs`, SCAN
//! in `scan.rs`.

pub mod expire;
pub mod scan;

use crate::commands::effects::{ev, class::GENERIC, On::{AllKeys, Arg}, When::{Always, Changed}, traits};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::db::Db;
use crate::store::{Keyspace, ValueRef};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("generic").summary(summary)
}

const fn all_shards(name: &'static str, arity: i32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    cmd(name, arity, READONLY, KeySpec::NONE, handler, summary).route(Route::AllShards)
}

/// Source and destination: RENAME, RENAMENX, COPY.
const TWO: KeySpec = KeySpec::new(1, 2, 1);
/// OBJECT's subcommands take their key after the subcommand name.
const OBJECT_KEY: KeySpec = KeySpec::new(2, 2, 1);

pub const COMMANDS: &[Command] = &[
    cmd("del", -2, WRITE, KeySpec::ALL, del, "Delete a key").events(&[ev(GENERIC, "del", AllKeys, Changed)]).traits(traits::DELETES),
    cmd("unlink", -2, WRITE | FAST, KeySpec::ALL, del, "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.").events(&[ev(GENERIC, "del", AllKeys, Changed)]).traits(traits::DELETES),
    cmd("exists", -2, READONLY | FAST, KeySpec::ALL, exists, "Determine if a key exists"),
    cmd("touch", -2, READONLY | FAST, KeySpec::ALL, exists, "Alters the last access time of a key(s). Returns the number of existing keys specified."),
    cmd("type", 2, READONLY | FAST, KeySpec::ONE, type_, "Determine the type stored at key"),
    cmd("rename", 3, WRITE, TWO, rename, "Rename a key").events(&[ev(GENERIC, "rename_from", Arg(1), Always), ev(GENERIC, "rename_to", Arg(2), Always)]),
    cmd("renamenx", 3, WRITE | FAST, TWO, renamenx, "Rename a key, only if the new key does not exist").events(&[ev(GENERIC, "rename_from", Arg(1), Changed), ev(GENERIC, "rename_to", Arg(2), Changed)]),
    cmd("copy", -3, WRITE | DENYOOM, TWO, copy, "Copy a key").events(&[ev(GENERIC, "copy_to", Arg(2), Changed)]),
    all_shards("keys", 2, keys, "Find all keys matching the given pattern"),
    all_shards("randomkey", 1, randomkey, "Return a random key from the keyspace"),
    cmd("object", -2, 0, KeySpec::NONE, crate::commands::container, "A container for object introspection commands").subcommands(OBJECT_SUBCOMMANDS),
];

const OBJECT_SUBCOMMANDS: &[Command] = &[
    cmd("object|encoding", 3, READONLY, OBJECT_KEY, object_encoding, "Inspect the internal encoding of a Redis object"),
    cmd("object|freq", 3, READONLY, OBJECT_KEY, object_freq, "Get the logarithmic access frequency counter of a Redis object"),
    cmd("object|idletime", 3, READONLY, OBJECT_KEY, object_idletime, "Get the time since a Redis object was last accessed"),
    cmd("object|refcount", 3, READONLY, OBJECT_KEY, object_refcount, "Get the number of references to the value of the key"),
    cmd("object|help", 2, LOADING | STALE, KeySpec::NONE, object_help, "Show helpful text about the different subcommands"),
];

// ---------------------------------------------------------------------------------
// Operations on the keyspace

/// Deletes a live key. True when it existed.
pub fn op_del(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> bool {
    ks.take(key, now_ms).is_some()
}

/// Is `key` live? Counts a keyspace hit or miss, as a read does.
pub fn op_exists(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> bool {
    ks.read(key, now_ms).is_some()
}

/// The type name TYPE reports: `none` for a missing key.
pub fn op_type(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> &'static str {
    ks.read(key, now_ms).map_or("none", |e| e.value.type_name())
}

/// Moves `src` to `dst` with its deadline, over whichever shards hold them. Ok(true)
/// when moved; Ok(false) when `nx` and `dst` exists, or when `src == dst`.
pub fn op_rename(db: &mut Db<'_>, src: &[u8], dst: &[u8], nx: bool, now_ms: u64) -> Result<bool, &'static str> {
    if !db.ks(src).contains(src, now_ms) {
        return Err(errors::NO_SUCH_KEY);
    }
    if src == dst || (nx && db.ks(dst).contains(dst, now_ms)) {
        return Ok(false);
    }
    let Some((value, expire_at)) = db.ks(src).take(src, now_ms) else {
        return Err(errors::NO_SUCH_KEY);
    };
    db.ks(dst).insert(dst, value, expire_at);
    Ok(true)
}

/// Copies `src` to `dst` with its deadline. False when `src` is missing, or `dst`
/// exists and not `replace`.
pub fn op_copy(db: &mut Db<'_>, src: &[u8], dst: &[u8], replace: bool, now_ms: u64) -> bool {
    if db.ks(src).read(src, now_ms).is_none() || (!replace && db.ks(dst).contains(dst, now_ms)) {
        return false;
    }
    let Some(entry) = db.ks(src).get(src, now_ms) else { return false };
    let (value, expire_at) = (entry.value.to_owned(), entry.expire_at());
    db.ks(dst).insert(dst, value, expire_at);
    true
}

/// Live keys of one shard matching a glob pattern.
pub fn op_keys<'k>(ks: &'k Keyspace, pattern: &'k [u8], now_ms: u64) -> impl Iterator<Item = &'k [u8]> + 'k {
    let every = pattern == b"*";
    ks.live_keys(now_ms).filter(move |k| every || crate::glob::matches(pattern, k, false))
}

/// A random live key over several shards: a shard weighted by its size, then a key in
/// it; the other shards are tried when that one holds only expired keys.
pub fn op_random_key(spaces: &[&Keyspace], seed: u64, now_ms: u64) -> Option<Vec<u8>> {
    let total: usize = spaces.iter().map(|ks| ks.len()).sum();
    if total == 0 {
        return None;
    }
    let mut pick = (seed % total as u64) as usize;
    let mut first = 0;
    for (i, ks) in spaces.iter().enumerate() {
        if pick < ks.len() {
            first = i;
            break;
        }
        pick -= ks.len();
    }
    let key_seed = mix(seed);
    (0..spaces.len()).find_map(|i| spaces[(first + i) % spaces.len()].random_key(now_ms, key_seed))
}

/// splitmix64's finalizer: spreads a counter into well-mixed bits.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh seed per call: a process-wide counter mixed with the clock.
fn next_seed(now_ms: u64) -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    mix(COUNTER.fetch_add(1, Ordering::Relaxed) ^ now_ms.rotate_left(32))
}

/// What OBJECT REFCOUNT reports: Redis shares the integers 0..10000 (refcount
/// `INT_MAX`); every other value has one reference.
pub fn refcount(value: &ValueRef<'_>) -> i64 {
    match value {
        ValueRef::Str(s) if value.encoding_name() == "int" => match parse_i64(s) {
            Some(n) if (0..10_000).contains(&n) => i32::MAX as i64,
            _ => 1,
        },
        _ => 1,
    }
}

// ---------------------------------------------------------------------------------
// Handlers

/// DEL key [key ...] / UNLINK key [key ...]
fn del(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let n = args.from(1).filter(|key| op_del(ctx.db.ks(key), key, ctx.now_ms)).count();
    ctx.reply_changes(n as i64);
}

/// EXISTS key [key ...] / TOUCH key [key ...]
fn exists(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let n = args.from(1).filter(|key| op_exists(ctx.db.ks(key), key, ctx.now_ms)).count();
    ctx.out.int(n as i64);
}

/// TYPE key
fn type_(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let name = op_type(ctx.db.ks(key), key, ctx.now_ms);
    ctx.out.simple(name);
}

/// RENAME key newkey
fn rename(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match op_rename(&mut ctx.db, args.get(1), args.get(2), false, ctx.now_ms) {
        Ok(_) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// RENAMENX key newkey
fn renamenx(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match op_rename(&mut ctx.db, args.get(1), args.get(2), true, ctx.now_ms) {
        Ok(moved) => ctx.reply_changes(moved as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// COPY's options: Ok(replace). kevy has one database, so `DB` accepts only 0.
fn parse_copy_options(args: Args<'_>) -> Result<bool, &'static str> {
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        let arg = args.get(i);
        if is(arg, "REPLACE") {
            replace = true;
        } else if is(arg, "DB") && i + 1 < args.len() {
            i += 1;
            let db = parse_i64(args.get(i)).ok_or(errors::NOT_INTEGER)?;
            if i32::try_from(db).is_err() {
                return Err(errors::INT_RANGE);
            }
            if db != 0 {
                return Err(errors::DB_INDEX_RANGE);
            }
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    Ok(replace)
}

/// COPY source destination [DB destination-db] [REPLACE]
fn copy(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let replace = match parse_copy_options(args) {
        Ok(r) => r,
        Err(e) => return ctx.out.error(e),
    };
    let (src, dst) = (args.get(1), args.get(2));
    if src == dst {
        return ctx.out.error(errors::SAME_OBJECT);
    }
    let copied = op_copy(&mut ctx.db, src, dst, replace, ctx.now_ms);
    ctx.reply_changes(copied as i64);
}

/// KEYS pattern
fn keys(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (pattern, now) = (args.get(1), ctx.now_ms);
    let spaces = ctx.db.all();
    let found: Vec<&[u8]> = spaces.iter().flat_map(|(_, ks)| op_keys(ks, pattern, now)).collect();
    ctx.out.array(found.len());
    for key in found {
        ctx.out.bulk(key);
    }
}

/// RANDOMKEY
fn randomkey(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let now = ctx.now_ms;
    let spaces = ctx.db.all();
    let spaces: Vec<&Keyspace> = spaces.iter().map(|(_, ks)| &**ks).collect();
    match op_random_key(&spaces, next_seed(now), now) {
        Some(key) => ctx.out.bulk(&key),
        None => ctx.out.null(),
    }
}

/// OBJECT ENCODING key
fn object_encoding(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(2);
    match ctx.db.ks(key).read(key, ctx.now_ms) {
        Some(e) => ctx.out.bulk(e.value.encoding_name().as_bytes()),
        None => ctx.out.null(),
    }
}

/// OBJECT FREQ key — kevy keeps no LFU counters, so this answers as Redis does when
/// the maxmemory policy is not an LFU one.
fn object_freq(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(2);
    match ctx.db.ks(key).read(key, ctx.now_ms) {
        Some(_) => ctx.out.error(errors::LFU_NOT_SELECTED),
        None => ctx.out.null(),
    }
}

/// OBJECT IDLETIME key — kevy keeps no access clock: a live key reports 0.
fn object_idletime(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(2);
    match ctx.db.ks(key).read(key, ctx.now_ms) {
        Some(_) => ctx.out.int(0),
        None => ctx.out.null(),
    }
}

/// OBJECT REFCOUNT key
fn object_refcount(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(2);
    match ctx.db.ks(key).read(key, ctx.now_ms) {
        Some(e) => ctx.out.int(refcount(&e.value)),
        None => ctx.out.null(),
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// OBJECT HELP
fn object_help(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        ctx.out.simple(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NO_EXPIRE;

    fn s(v: &str) -> crate::store::Value {
        crate::store::Value::Str(v.as_bytes().to_vec())
    }

    #[test]
    fn del_exists_type() {
        let mut ks = Keyspace::new();
        ks.insert(b"a", s("1"), NO_EXPIRE);
        ks.insert(b"gone", s("1"), 50);
        assert!(op_exists(&mut ks, b"a", 100));
        assert!(!op_exists(&mut ks, b"gone", 100));
        assert_eq!(op_type(&mut ks, b"a", 100), "string");
        assert_eq!(op_type(&mut ks, b"nosuch", 100), "none");
        assert!(op_del(&mut ks, b"a", 100));
        assert!(!op_del(&mut ks, b"a", 100));
        assert_eq!(ks.stats.hits, 2);
    }

    #[test]
    fn rename_on_one_shard() {
        let mut ks = Keyspace::new();
        ks.insert(b"src", s("v"), 5000);
        ks.insert(b"dst", s("old"), 9000);
        let mut db = Db::one(0, &mut ks, 1);
        assert_eq!(op_rename(&mut db, b"nosuch", b"x", false, 0), Err(errors::NO_SUCH_KEY));
        assert_eq!(op_rename(&mut db, b"src", b"src", false, 0), Ok(false));
        assert_eq!(op_rename(&mut db, b"src", b"dst", true, 0), Ok(false));
        assert_eq!(op_rename(&mut db, b"src", b"dst", false, 0), Ok(true));
        assert!(!db.ks(b"src").contains(b"src", 0));
        let e = db.ks(b"dst").get(b"dst", 0).unwrap();
        assert_eq!((e.value.to_owned(), e.expire_at()), (s("v"), 5000));
        assert_eq!(ks.volatile_len(), 1);
    }

    #[test]
    fn rename_and_copy_across_shards() {
        let (mut a, mut b) = (Keyspace::new(), Keyspace::new());
        let (src, dst) = two_keys_on_different_shards();
        let mut db = Db::many(vec![Some(&mut a), Some(&mut b)]);
        db.ks(&src).insert(&src, s("v"), 7000);
        assert_eq!(op_rename(&mut db, &src, &dst, false, 0), Ok(true));
        assert_eq!(db.ks(&dst).expire_of(&dst, 0), Some(7000));
        assert!(op_copy(&mut db, &dst, &src, false, 0));
        assert!(!op_copy(&mut db, &dst, &src, false, 0));
        db.ks(&dst).insert(&dst, s("new"), NO_EXPIRE);
        assert!(op_copy(&mut db, &dst, &src, true, 0));
        assert_eq!(db.ks(&src).get(&src, 0).map(|e| (e.value.to_owned(), e.expire_at())), Some((s("new"), NO_EXPIRE)));
        assert!(!op_copy(&mut db, b"nosuch", &src, true, 0));
        assert_eq!(a.len() + b.len(), 2);
    }

    fn two_keys_on_different_shards() -> (Vec<u8>, Vec<u8>) {
        use crate::store::routing::shard_of;
        let keys: Vec<Vec<u8>> = (0..100).map(|i| format!("k{i}").into_bytes()).collect();
        let first = keys.iter().find(|k| shard_of(k, 2) == 0).unwrap().clone();
        let second = keys.iter().find(|k| shard_of(k, 2) == 1).unwrap().clone();
        (first, second)
    }

    #[test]
    fn keys_match_and_skip_expired() {
        let mut ks = Keyspace::new();
        for k in ["hello", "hallo", "foo", "h*llo"] {
            ks.insert(k.as_bytes(), s("v"), NO_EXPIRE);
        }
        ks.insert(b"hxllo", s("v"), 10);
        let mut all: Vec<&[u8]> = op_keys(&ks, b"h?llo", 20).collect();
        all.sort();
        assert_eq!(all, vec![&b"h*llo"[..], b"hallo", b"hello"]);
        assert_eq!(op_keys(&ks, b"*", 20).count(), 4);
        assert_eq!(op_keys(&ks, b"h\\*llo", 20).count(), 1);
    }

    #[test]
    fn random_key_covers_every_shard() {
        let (mut a, mut b, c) = (Keyspace::new(), Keyspace::new(), Keyspace::new());
        a.insert(b"a", s("v"), NO_EXPIRE);
        b.insert(b"b", s("v"), NO_EXPIRE);
        b.insert(b"dead", s("v"), 5);
        assert_eq!(op_random_key(&[&c], 1, 0), None);
        let mut seen = std::collections::HashSet::new();
        for i in 0..200 {
            seen.insert(op_random_key(&[&a, &b, &c], next_seed(i), 10).unwrap());
        }
        assert_eq!(seen.len(), 2);
        let mut only_dead = Keyspace::new();
        only_dead.insert(b"dead", s("v"), 5);
        assert_eq!(op_random_key(&[&only_dead, &a], 0, 10), Some(b"a".to_vec()));
    }

    #[test]
    fn refcounts_follow_shared_integers() {
        assert_eq!(refcount(&s("123").as_ref()), i32::MAX as i64);
        assert_eq!(refcount(&s("10000").as_ref()), 1);
        assert_eq!(refcount(&s("-1").as_ref()), 1);
        assert_eq!(refcount(&s("abc").as_ref()), 1);
    }
}
