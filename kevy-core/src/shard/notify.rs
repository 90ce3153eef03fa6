//! Keyspace notifications (`notify-keyspace-events`): after a write command, the
//! events Redis would signal are published on `__keyspace@0__:<key>` (message: the
//! event) and `__keyevent@0__:<event>` (message: the key), through ordinary pub/sub,
//! so subscribers on any shard receive them.
//!
//! Which events a command signals is a table (`events_of`), with Redis's names and
//! classes. Whether it signals at all follows Redis's rule of thumb: commands that
//! report a count of changes signal only when it is above zero; a key that a removal
//! leaves empty also signals `del`. Expired keys signal `expired` (lazily or from the
//! reaper); `new` (n) is signalled for keys a command creates.

use std::sync::atomic::Ordering;

use super::pubsub::{self, Kind};
use super::Shared;
use crate::commands::{Command, Ctx};
use crate::resp::{Args, Reply};

/// Event classes, as the letters of `notify-keyspace-events`.
pub mod class {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 12; // d
    pub const NEW: u32 = 1 << 13; // n
    /// `A`: every class but m and n.
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

const LETTERS: &[(char, u32)] = &[
    ('K', class::KEYSPACE),
    ('E', class::KEYEVENT),
    ('g', class::GENERIC),
    ('$', class::STRING),
    ('l', class::LIST),
    ('s', class::SET),
    ('h', class::HASH),
    ('z', class::ZSET),
    ('x', class::EXPIRED),
    ('e', class::EVICTED),
    ('t', class::STREAM),
    ('m', class::KEY_MISS),
    ('d', class::MODULE),
    ('n', class::NEW),
];

/// Parses the flag string; None for an unknown letter.
pub fn parse_flags(text: &str) -> Option<u32> {
    let mut bits = 0;
    for c in text.chars() {
        bits |= match c {
            'A' => class::ALL,
            _ => LETTERS.iter().find(|(l, _)| *l == c)?.1,
        };
    }
    Some(bits)
}

/// The flag string in Redis's canonical form (what CONFIG GET shows): `A` or the class
/// letters, then K, E, m.
pub fn format_flags(bits: u32) -> String {
    let mut out = String::new();
    if bits & class::ALL == class::ALL {
        out.push('A');
        // Redis drops `n` from the display after `A` (and so would lose it on a
        // rewrite); kevy keeps it, so the value read back means the same.
        if bits & class::NEW != 0 {
            out.push('n');
        }
    } else {
        for (c, b) in [('g', class::GENERIC), ('$', class::STRING), ('l', class::LIST), ('s', class::SET), ('h', class::HASH),
            ('z', class::ZSET), ('x', class::EXPIRED), ('e', class::EVICTED), ('t', class::STREAM), ('d', class::MODULE),
            ('n', class::NEW)]
        {
            if bits & b != 0 {
                out.push(c);
            }
        }
    }
    for (c, b) in [('K', class::KEYSPACE), ('E', class::KEYEVENT), ('m', class::KEY_MISS)] {
        if bits & b != 0 {
            out.push(c);
        }
    }
    out
}

/// Publishes one event for `key`, if its class is enabled.
pub fn signal(shared: &Shared, flags: u32, cls: u32, event: &str, key: &[u8]) {
    if flags & cls == 0 {
        return;
    }
    if flags & class::KEYSPACE != 0 {
        let mut ch = b"__keyspace@0__:".to_vec();
        ch.extend_from_slice(key);
        pubsub::publish(shared, Kind::Channel, &ch, event.as_bytes());
    }
    if flags & class::KEYEVENT != 0 {
        let ch = format!("__keyevent@0__:{event}");
        pubsub::publish(shared, Kind::Channel, ch.as_bytes(), key);
    }
}

/// The enabled classes (0: notifications off).
#[inline]
pub fn flags(shared: &Shared) -> u32 {
    shared.config.notify_flags.load(Ordering::Relaxed)
}

/// Which keys an event is about.
#[derive(Clone, Copy)]
enum On {
    /// Argument 1.
    First,
    /// Argument 2 (the destination of LMOVE, SMOVE, RENAME...).
    Second,
    /// Every key of the command.
    AllKeys,
    /// The key a blocking or multi-key pop popped from (in its reply).
    Popped,
}

/// When a command signals.
#[derive(Clone, Copy, PartialEq)]
enum When {
    Always,
    /// Its integer reply (or the length of its array reply) is above zero; a nil reply
    /// means nothing happened.
    Changed,
}

/// The events of a write command: (event, class, keys, when).
fn events_of(cmd: &Command, args: Args<'_>) -> Vec<(&'static str, u32, On, When)> {
    use class::*;
    use On::*;
    use When::*;
    let side = |i: usize, left: &'static str, right: &'static str| -> &'static str {
        if args.opt(i).is_some_and(|a| a.eq_ignore_ascii_case(b"LEFT")) {
            left
        } else {
            right
        }
    };
    let has = |word: &str| args.iter().skip(2).any(|a| a.eq_ignore_ascii_case(word.as_bytes()));
    match cmd.name {
        "set" | "setnx" | "getset" | "mset" | "msetnx" => {
            let mut v = vec![("set", STRING, AllKeys, if cmd.name == "setnx" || cmd.name == "msetnx" { Changed } else { Always })];
            if cmd.name == "set" && ["EX", "PX", "EXAT", "PXAT"].iter().any(|w| has(w)) {
                v.push(("expire", GENERIC, First, Always));
            }
            v
        }
        "setex" | "psetex" => vec![("set", STRING, First, Always), ("expire", GENERIC, First, Always)],
        "append" => vec![("append", STRING, First, Always)],
        "setrange" => vec![("setrange", STRING, First, Always)],
        // Redis signals DECR and DECRBY as incrby too.
        "incr" | "incrby" | "decr" | "decrby" => vec![("incrby", STRING, First, Always)],
        "incrbyfloat" => vec![("incrbyfloat", STRING, First, Always)],
        "getdel" => vec![("del", GENERIC, First, Changed)],
        "getex" if has("PERSIST") => vec![("persist", GENERIC, First, Changed)],
        "getex" if ["EX", "PX", "EXAT", "PXAT"].iter().any(|w| has(w)) => vec![("expire", GENERIC, First, Changed)],
        "del" | "unlink" => vec![("del", GENERIC, AllKeys, Changed)],
        "expire" | "pexpire" | "expireat" | "pexpireat" => vec![("expire", GENERIC, First, Changed)],
        "persist" => vec![("persist", GENERIC, First, Changed)],
        "rename" | "renamenx" => vec![("rename_from", GENERIC, First, Changed), ("rename_to", GENERIC, Second, Changed)],
        "copy" => vec![("copy_to", GENERIC, Second, Changed)],
        "lpush" | "lpushx" => vec![("lpush", LIST, First, Changed)],
        "rpush" | "rpushx" => vec![("rpush", LIST, First, Changed)],
        "lpop" => vec![("lpop", LIST, First, Changed)],
        "rpop" => vec![("rpop", LIST, First, Changed)],
        "blpop" | "brpop" | "blmpop" | "lmpop" => {
            let ev = match cmd.name {
                "blpop" => "lpop",
                "brpop" => "rpop",
                "lmpop" => side(3 + args.opt(1).and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok()).unwrap_or(0) - 1, "lpop", "rpop"),
                _ => side(4 + args.opt(2).and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok()).unwrap_or(0) - 1, "lpop", "rpop"),
            };
            vec![(ev, LIST, Popped, Changed)]
        }
        "linsert" => vec![("linsert", LIST, First, Changed)],
        "lset" => vec![("lset", LIST, First, Always)],
        "lrem" => vec![("lrem", LIST, First, Changed)],
        "ltrim" => vec![("ltrim", LIST, First, Always)],
        "rpoplpush" | "brpoplpush" => vec![("rpop", LIST, First, Changed), ("lpush", LIST, Second, Changed)],
        "lmove" => vec![(side(3, "lpop", "rpop"), LIST, First, Changed), (side(4, "lpush", "rpush"), LIST, Second, Changed)],
        "blmove" => vec![(side(3, "lpop", "rpop"), LIST, First, Changed), (side(4, "lpush", "rpush"), LIST, Second, Changed)],
        "hset" | "hmset" => vec![("hset", HASH, First, Always)],
        "hsetnx" => vec![("hset", HASH, First, Changed)],
        "hdel" => vec![("hdel", HASH, First, Changed)],
        "hincrby" => vec![("hincrby", HASH, First, Always)],
        "hincrbyfloat" => vec![("hincrbyfloat", HASH, First, Always)],
        "sadd" => vec![("sadd", SET, First, Changed)],
        "srem" => vec![("srem", SET, First, Changed)],
        "spop" => vec![("spop", SET, First, Changed)],
        "smove" => vec![("srem", SET, First, Changed), ("sadd", SET, Second, Changed)],
        "sinterstore" | "sunionstore" | "sdiffstore" => vec![(cmd.name, SET, First, Changed)],
        "zadd" => vec![(if has("INCR") { "zincr" } else { "zadd" }, ZSET, First, Changed)],
        "zincrby" => vec![("zincr", ZSET, First, Always)],
        "zrem" => vec![("zrem", ZSET, First, Changed)],
        "zremrangebyscore" | "zremrangebyrank" | "zremrangebylex" => vec![(cmd.name, ZSET, First, Changed)],
        "zpopmin" | "zpopmax" => vec![(cmd.name, ZSET, First, Changed)],
        "bzpopmin" | "bzpopmax" => vec![(&cmd.name[1..], ZSET, Popped, Changed)],
        "zmpop" | "bzmpop" => {
            let ev = if has("MIN") { "zpopmin" } else { "zpopmax" };
            vec![(ev, ZSET, Popped, Changed)]
        }
        "zunionstore" | "zinterstore" | "zdiffstore" | "zrangestore" => vec![(cmd.name, ZSET, First, Changed)],
        "xadd" => vec![("xadd", STREAM, First, Changed)],
        "xtrim" => vec![("xtrim", STREAM, First, Changed)],
        "xdel" => vec![("xdel", STREAM, First, Changed)],
        "xsetid" => vec![("xsetid", STREAM, First, Always)],
        // XGROUP's subcommands name their key second (XGROUP CREATE key group ...).
        "xgroup|create" => vec![("xgroup-create", STREAM, Second, Always)],
        "xgroup|setid" => vec![("xgroup-setid", STREAM, Second, Always)],
        "xgroup|destroy" => vec![("xgroup-destroy", STREAM, Second, Changed)],
        "xgroup|createconsumer" => vec![("xgroup-createconsumer", STREAM, Second, Changed)],
        "xgroup|delconsumer" => vec![("xgroup-delconsumer", STREAM, Second, Always)],
        _ => Vec::new(),
    }
}

/// Did the command change something, judging by its reply?
fn changed(reply: &Reply) -> bool {
    match reply {
        Reply::Int(n) => *n > 0,
        Reply::Nil | Reply::Error(_) => false,
        Reply::Array(a) | Reply::Set(a) => !a.is_empty(),
        Reply::Bool(b) => *b,
        _ => true,
    }
}

/// The key a pop took from: the first element of its reply.
fn popped_key(reply: &Reply) -> Option<Vec<u8>> {
    match reply {
        Reply::Array(items) => match items.first() {
            Some(Reply::Bulk(k)) => Some(k.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The keyspace that owns `key`, when the command holds it.
fn ks_of<'a>(db: &'a mut crate::shard::db::Db<'_>, key: &[u8]) -> Option<&'a mut crate::store::Keyspace> {
    let n = db.shards();
    db.shard(crate::shard::routing::shard_of(key, n))
}

/// Before a command runs (notifications on): arms the expired-key logs, and for writes
/// notes which keys exist (for `new` and `del` events).
pub fn before(cmd: &'static Command, args: Args<'_>, ctx: &mut Ctx<'_>) -> Option<Vec<bool>> {
    let flags = flags(ctx.shared);
    if flags & class::EXPIRED != 0 {
        for (_, ks) in ctx.db.all() {
            ks.expired_log.get_or_insert_with(Vec::new);
        }
    }
    let wanted = flags & class::NEW != 0 || matches!(cmd.name, "del" | "unlink") || stores(cmd.name);
    if !cmd.has(crate::commands::flags::WRITE) || !wanted {
        return None;
    }
    let now = ctx.now_ms;
    let positions = cmd.key_positions(args);
    Some(positions.into_iter().map(|p| ks_of(&mut ctx.db, args.get(p)).is_some_and(|ks| ks.contains(args.get(p), now))).collect())
}

/// After a command ran (`reply` is its encoded reply): signals keys that expired
/// meanwhile, then, for a write, its events.
pub fn after(cmd: &'static Command, args: Args<'_>, ctx: &mut Ctx<'_>, reply: &[u8], existed: Option<Vec<bool>>) {
    let flags = flags(ctx.shared);
    let shared = ctx.shared;
    let now = ctx.now_ms;
    if flags & class::EXPIRED != 0 {
        for (_, ks) in ctx.db.all() {
            for key in ks.expired_log.as_mut().map(std::mem::take).unwrap_or_default() {
                signal(shared, flags, class::EXPIRED, "expired", &key);
            }
        }
    }
    if !cmd.has(crate::commands::flags::WRITE) {
        return;
    }
    let Some(reply) = Reply::decode(reply).map(|r| r.0) else { return };
    if reply.is_error() {
        return;
    }
    let positions = cmd.key_positions(args);
    let existed = existed.unwrap_or_default();
    let is_del = matches!(cmd.name, "del" | "unlink");
    // Keys the command created: `new` first, as Redis signals it on creation.
    if flags & class::NEW != 0 {
        for (&p, &was) in positions.iter().zip(&existed) {
            let key = args.get(p);
            if !was && ks_of(&mut ctx.db, key).is_some_and(|ks| ks.contains(key, now)) {
                signal(shared, flags, class::NEW, "new", key);
            }
        }
    }
    let did = changed(&reply);
    let events = events_of(cmd, args);
    for &(event, cls, on, when) in &events {
        if when == When::Changed && !did {
            continue;
        }
        let keys: Vec<Vec<u8>> = match on {
            On::First => vec![args.get(1).to_vec()],
            On::Second => args.opt(2).map(|k| vec![k.to_vec()]).unwrap_or_default(),
            On::AllKeys => positions.iter().map(|&p| args.get(p).to_vec()).collect(),
            On::Popped => popped_key(&reply).into_iter().collect(),
        };
        for (i, key) in keys.iter().enumerate() {
            // DEL signals only the keys that were there.
            if is_del && !existed.get(i).copied().unwrap_or(false) {
                continue;
            }
            signal(shared, flags, cls, event, key);
        }
    }
    // A store of an empty result deletes the destination, if it was there.
    if stores(cmd.name) && !did && existed.first().copied().unwrap_or(false) {
        signal(shared, flags, class::GENERIC, "del", args.get(1));
    }
    // A removal that emptied a collection deletes the key.
    if removes_elements(cmd.name) && did {
        let first = match events.first().map(|e| e.2) {
            Some(On::Popped) => popped_key(&reply),
            _ => Some(args.get(1).to_vec()),
        };
        if let Some(key) = first {
            if ks_of(&mut ctx.db, &key).is_some_and(|ks| !ks.contains(&key, now)) {
                signal(shared, flags, class::GENERIC, "del", &key);
            }
        }
    }
}

/// Commands that store a computed set or sorted set (an empty result deletes it).
fn stores(name: &str) -> bool {
    matches!(name, "sinterstore" | "sunionstore" | "sdiffstore" | "zunionstore" | "zinterstore" | "zdiffstore" | "zrangestore")
}

/// Commands that take elements out of a collection (and so may delete the key).
fn removes_elements(name: &str) -> bool {
    matches!(
        name,
        "lpop" | "rpop" | "blpop" | "brpop" | "lmpop" | "blmpop" | "lrem" | "ltrim" | "rpoplpush" | "brpoplpush"
            | "lmove" | "blmove" | "hdel" | "srem" | "spop" | "smove" | "zrem" | "zremrangebyscore"
            | "zremrangebyrank" | "zremrangebylex" | "zpopmin" | "zpopmax" | "bzpopmin" | "bzpopmax" | "zmpop"
            | "bzmpop"
    )
}

/// Around the reaper: `arm` before it runs, `reaped` after, to signal what it expired.
pub fn arm(shared: &Shared, ks: &mut crate::store::Keyspace) {
    if flags(shared) & class::EXPIRED != 0 {
        ks.expired_log.get_or_insert_with(Vec::new);
    } else {
        ks.expired_log = None;
    }
}

pub fn reaped(shared: &Shared, ks: &mut crate::store::Keyspace) {
    let flags = flags(shared);
    for key in ks.expired_log.as_mut().map(std::mem::take).unwrap_or_default() {
        signal(shared, flags, class::EXPIRED, "expired", &key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_print_like_redis() {
        assert_eq!(parse_flags("KEA"), Some(class::ALL | class::KEYSPACE | class::KEYEVENT));
        assert_eq!(format_flags(parse_flags("KEA").unwrap()), "AKE");
        assert_eq!(format_flags(parse_flags("KEAn").unwrap()), "AnKE");
        assert_eq!(format_flags(parse_flags("Elg").unwrap()), "glE");
        assert_eq!(format_flags(parse_flags("Kx$mn").unwrap()), "$xnKm");
        assert_eq!(parse_flags("Q"), None);
        assert_eq!(parse_flags(""), Some(0));
    }
}
