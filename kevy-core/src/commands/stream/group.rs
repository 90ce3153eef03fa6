//! Consumer-group commands: XGROUP (CREATE SETID DESTROY CREATECONSUMER DELCONSUMER
//! HELP), XACK, XPENDING, XCLAIM, XAUTOCLAIM. XREADGROUP is in `read.rs`; the
//! group structure in `types/stream/group.rs`.

use crate::commands::effects::{ev, class::STREAM, On::Arg, When::{Always, Changed}, Propagate};
use crate::commands::stream::{read_stream, reply_entry, reply_id, stream_or_create, write_stream};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::types::stream::id::{parse_bound, parse_id_or, INVALID_ID};
use crate::types::stream::{Group, StreamId};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("stream").summary(summary)
}

const SUB_KEY: KeySpec = KeySpec::new(2, 2, 1);

pub const COMMANDS: &[Command] = &[
    cmd("xgroup", -2, 0, KeySpec::NONE, crate::commands::container, "A container for consumer groups commands").subcommands(XGROUP_SUBCOMMANDS),
    cmd("xack", -4, WRITE | FAST, KeySpec::ONE, xack, "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL."),
    cmd("xpending", -3, READONLY, KeySpec::ONE, xpending, "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged."),
    cmd("xclaim", -6, WRITE | FAST, KeySpec::ONE, xclaim, "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.").propagate(Propagate::Custom(crate::commands::stream::rewrite::xclaim_lines)),
    cmd("xautoclaim", -6, WRITE | FAST, KeySpec::ONE, xautoclaim, "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.").propagate(Propagate::Custom(crate::commands::stream::rewrite::xautoclaim_lines)),
];

const XGROUP_SUBCOMMANDS: &[Command] = &[
    cmd("xgroup|create", -5, WRITE | DENYOOM, SUB_KEY, xgroup, "Create a consumer group.").events(&[ev(STREAM, "xgroup-create", Arg(2), Always)]),
    cmd("xgroup|setid", -5, WRITE, SUB_KEY, xgroup, "Set a consumer group to an arbitrary last delivered ID value.").events(&[ev(STREAM, "xgroup-setid", Arg(2), Always)]),
    cmd("xgroup|destroy", 4, WRITE, SUB_KEY, xgroup, "Destroy a consumer group.").events(&[ev(STREAM, "xgroup-destroy", Arg(2), Changed)]),
    cmd("xgroup|createconsumer", 5, WRITE | DENYOOM, SUB_KEY, xgroup, "Create a consumer in a consumer group.").events(&[ev(STREAM, "xgroup-createconsumer", Arg(2), Changed)]),
    cmd("xgroup|delconsumer", 5, WRITE, SUB_KEY, xgroup, "Delete a consumer from a consumer group.").events(&[ev(STREAM, "xgroup-delconsumer", Arg(2), Always)]),
    cmd("xgroup|help", 2, LOADING | STALE, KeySpec::NONE, xgroup_help, "Show helpful text about the different subcommands"),
];

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

fn xgroup_help(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.array(XGROUP_HELP.len());
    for line in XGROUP_HELP {
        ctx.out.simple(line);
    }
}

/// Parses `ENTRIESREAD n` values: a count or -1.
fn parse_entries_read(arg: &[u8]) -> Result<i64, &'static str> {
    match parse_i64(arg) {
        None => Err(errors::NOT_INTEGER),
        Some(n) if n < -1 => Err(errors::ENTRIESREAD_RANGE),
        Some(n) => Ok(n),
    }
}

/// XGROUP's options after the ID (CREATE: MKSTREAM, ENTRIESREAD; SETID: ENTRIESREAD).
fn parse_group_options(args: Args<'_>, create: bool) -> Result<(bool, i64), String> {
    let sub_err = || errors::unknown_subcommand_or_arity("XGROUP", args.get(1));
    let (mut mkstream, mut entries_read) = (false, -1);
    let mut i = 5;
    while i < args.len() {
        if create && is(args.get(i), "mkstream") {
            mkstream = true;
            i += 1;
        } else if is(args.get(i), "entriesread") && i + 1 < args.len() {
            entries_read = parse_entries_read(args.get(i + 1)).map_err(str::to_string)?;
            i += 2;
        } else {
            return Err(sub_err());
        }
    }
    if (create && args.len() > 8) || (!create && args.len() != 5 && args.len() != 7) {
        return Err(sub_err());
    }
    Ok((mkstream, entries_read))
}

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER key group ...
fn xgroup(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let sub = args.get(1).to_ascii_lowercase();
    let (key, name, now) = (args.get(2), args.get(3), ctx.now_ms);
    let (mkstream, entries_read) = match sub.as_slice() {
        b"create" | b"setid" => match parse_group_options(args, sub == b"create") {
            Ok(o) => o,
            Err(e) => return ctx.out.error(&e),
        },
        _ => (false, -1),
    };
    let ks = ctx.db.ks(key);
    let exists = match read_stream(ks, key, now) {
        Ok(s) => s.map(|s| s.groups.contains_key(name)),
        Err(e) => return ctx.out.error(e),
    };
    let Some(has_group) = exists.or(mkstream.then_some(false)) else { return ctx.out.error(errors::XGROUP_NEEDS_KEY) };
    if !has_group && matches!(sub.as_slice(), b"setid" | b"createconsumer" | b"delconsumer") {
        return ctx.out.error(&errors::no_group_for_key(key, name));
    }
    match sub.as_slice() {
        b"create" => {
            let id = match args.get(4) {
                b"$" => match read_stream(ks, key, now) {
                    Ok(Some(s)) => s.last_id,
                    _ => StreamId::ZERO,
                },
                a => match parse_id_or(a, 0, true) {
                    Some(id) => id,
                    None => return ctx.out.error(INVALID_ID),
                },
            };
            let Ok(s) = stream_or_create(ks, key, now) else { return };
            if has_group {
                return ctx.out.error(errors::BUSYGROUP);
            }
            s.groups.insert(name.to_vec(), Group::new(id, entries_read));
            ctx.out.ok();
        }
        b"setid" => {
            let Ok(Some(s)) = write_stream(ks, key, now) else { return };
            let id = match args.get(4) {
                b"$" => s.last_id,
                a => match parse_id_or(a, 0, false) {
                    Some(id) => id,
                    None => return ctx.out.error(INVALID_ID),
                },
            };
            if let Some(g) = s.groups.get_mut(name) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
            ctx.out.ok();
        }
        b"destroy" => {
            if !has_group {
                return ctx.out.int(0);
            }
            let Ok(Some(s)) = write_stream(ks, key, now) else { return };
            s.groups.remove(name);
            ctx.reply_changes(1);
        }
        b"createconsumer" => {
            let Ok(Some(s)) = write_stream(ks, key, now) else { return };
            let Some(g) = s.groups.get_mut(name) else { return };
            let created = g.consumer(args.get(4), now).1;
            ctx.reply_changes(created as i64);
        }
        _ => {
            let Ok(Some(s)) = write_stream(ks, key, now) else { return };
            let Some(g) = s.groups.get_mut(name) else { return };
            ctx.out.int(g.remove_consumer(args.get(4)).unwrap_or(0) as i64);
        }
    }
}

/// Parses strict IDs from `from` on.
fn parse_ids(args: Args<'_>, from: usize) -> Result<Vec<StreamId>, &'static str> {
    args.from(from).map(|a| parse_id_or(a, 0, true).ok_or(INVALID_ID)).collect()
}

/// XACK key group id [id ...]
fn xack(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, name, now) = (args.get(1), args.get(2), ctx.now_ms);
    let has_group = match read_stream(ctx.db.ks(key), key, now) {
        Ok(s) => s.is_some_and(|s| s.groups.contains_key(name)),
        Err(e) => return ctx.out.error(e),
    };
    let ids = match parse_ids(args, 3) {
        Ok(ids) => ids,
        Err(e) => return ctx.out.error(e),
    };
    if !has_group {
        return ctx.out.int(0);
    }
    let Ok(Some(s)) = write_stream(ctx.db.ks(key), key, now) else { return ctx.out.int(0) };
    let Some(g) = s.groups.get_mut(name) else { return ctx.out.int(0) };
    let acked = ids.into_iter().filter(|id| g.ack(*id)).count();
    ctx.out.int(acked as i64);
}

// ---------------------------------------------------------------- XPENDING

/// XPENDING's extended form.
struct PendingRange<'a> {
    min_idle: i64,
    start: StreamId,
    end: StreamId,
    count: i64,
    consumer: Option<&'a [u8]>,
}

fn parse_pending_range(args: Args<'_>) -> Result<Option<PendingRange<'_>>, &'static str> {
    let n = args.len();
    if n == 3 {
        return Ok(None);
    }
    if !(6..=9).contains(&n) {
        return Err(errors::SYNTAX);
    }
    let mut at = 3;
    let mut min_idle = 0;
    if is(args.get(3), "idle") {
        min_idle = parse_i64(args.get(4)).ok_or(errors::NOT_INTEGER)?;
        if n < 8 {
            return Err(errors::SYNTAX);
        }
        at = 5;
    }
    let count = parse_i64(args.get(at + 2)).ok_or(errors::NOT_INTEGER)?.max(0);
    let start = parse_bound(args.get(at), true)?;
    let end = parse_bound(args.get(at + 1), false)?;
    Ok(Some(PendingRange { min_idle, start, end, count, consumer: args.opt(at + 3) }))
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
fn xpending(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let range = match parse_pending_range(args) {
        Ok(r) => r,
        Err(e) => return ctx.out.error(e),
    };
    let (key, name, now) = (args.get(1), args.get(2), ctx.now_ms);
    let g = match read_stream(ctx.db.ks(key), key, now) {
        Err(e) => return ctx.out.error(e),
        Ok(s) => match s.and_then(|s| s.groups.get(name)) {
            Some(g) => g,
            None => return ctx.out.error(&errors::no_key_or_group(key, name)),
        },
    };
    let Some(r) = range else {
        ctx.out.array(4);
        ctx.out.int(g.pel.len() as i64);
        let (Some(first), Some(last)) = (g.pel.keys().next(), g.pel.keys().next_back()) else {
            ctx.out.null();
            ctx.out.null();
            return ctx.out.null_array();
        };
        reply_id(&mut ctx.out, *first);
        reply_id(&mut ctx.out, *last);
        let with: Vec<_> = g.consumers.iter().filter(|(_, c)| !c.pending.is_empty()).collect();
        ctx.out.array(with.len());
        for (cname, c) in with {
            ctx.out.array(2);
            ctx.out.bulk(cname);
            ctx.out.bulk(c.pending.len().to_string().as_bytes());
        }
        return;
    };
    let ids: Vec<StreamId> = match r.consumer {
        Some(c) => match g.consumers.get(c) {
            Some(c) => c.pending.range(r.start..).copied().collect(),
            None => return ctx.out.array(0),
        },
        None => g.pel.range(r.start..).map(|(id, _)| *id).collect(),
    };
    let mut rows = Vec::new();
    for id in ids.into_iter().take_while(|id| *id <= r.end) {
        if rows.len() as i64 >= r.count {
            break;
        }
        let p = &g.pel[&id];
        let idle = now as i64 - p.delivery_time as i64;
        if r.min_idle != 0 && idle < r.min_idle {
            continue;
        }
        rows.push((id, p.consumer.as_slice(), idle.max(0), p.delivery_count));
    }
    ctx.out.array(rows.len());
    for (id, c, idle, count) in rows {
        ctx.out.array(4);
        reply_id(&mut ctx.out, id);
        ctx.out.bulk(c);
        ctx.out.int(idle);
        ctx.out.int(count as i64);
    }
}

// ---------------------------------------------------------------- XCLAIM / XAUTOCLAIM

/// XCLAIM's options.
#[derive(Default)]
struct ClaimOptions {
    delivery_time: Option<i64>,
    retry_count: Option<i64>,
    force: bool,
    justid: bool,
    last_id: StreamId,
}

fn parse_claim_options(args: Args<'_>, from: usize, now: u64) -> Result<ClaimOptions, String> {
    let mut o = ClaimOptions::default();
    let mut j = from;
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = args.get(j);
        let int = |what: &str| parse_i64(args.get(j + 1)).ok_or_else(|| errors::xclaim_bad_option_arg(what));
        if is(opt, "force") {
            o.force = true;
        } else if is(opt, "justid") {
            o.justid = true;
        } else if is(opt, "idle") && more {
            o.delivery_time = Some((now as i64).wrapping_sub(int("IDLE")?));
            j += 1;
        } else if is(opt, "time") && more {
            o.delivery_time = Some(int("TIME")?);
            j += 1;
        } else if is(opt, "retrycount") && more {
            o.retry_count = Some(int("RETRYCOUNT")?);
            j += 1;
        } else if is(opt, "lastid") && more {
            o.last_id = parse_id_or(args.get(j + 1), 0, true).ok_or(INVALID_ID)?;
            j += 1;
        } else {
            return Err(errors::xclaim_unknown_option(opt));
        }
        j += 1;
    }
    Ok(o)
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms-unix-time] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]
fn xclaim(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, name, now) = (args.get(1), args.get(2), ctx.now_ms);
    match read_stream(ctx.db.ks(key), key, now) {
        Err(e) => return ctx.out.error(e),
        Ok(s) if s.is_some_and(|s| s.groups.contains_key(name)) => {}
        Ok(_) => return ctx.out.error(&errors::no_key_or_group(key, name)),
    }
    let Some(min_idle) = parse_i64(args.get(4)) else {
        return ctx.out.error(errors::XCLAIM_MIN_IDLE);
    };
    let min_idle = min_idle.max(0);
    let ids: Vec<StreamId> = args.from(5).map_while(|a| parse_id_or(a, 0, true)).collect();
    let o = match parse_claim_options(args, 5 + ids.len(), now) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(&e),
    };
    // A time in the future (or negative) means now, as in Redis. While the AOF is
    // replayed the clock reads 0: the logged TIME is then taken as is.
    let delivery_time = match o.delivery_time {
        Some(t) if t >= 0 && (t <= now as i64 || now == 0) => t as u64,
        _ => now,
    };
    let consumer = args.get(3);
    let Ok(Some(s)) = write_stream(ctx.db.ks(key), key, now) else { return };
    let Some(mut g) = s.groups.remove(name) else { return };
    let out = &mut ctx.out;
    if o.last_id > g.last_id {
        g.last_id = o.last_id;
    }
    let mut claimed = Vec::new();
    for id in ids {
        let exists = s.contains(id);
        if !exists {
            g.ack(id);
            continue;
        }
        let fresh = !g.pel.contains_key(&id);
        if fresh && !o.force {
            continue;
        }
        if !fresh && min_idle != 0 && (now as i64 - g.pel[&id].delivery_time as i64) < min_idle {
            continue;
        }
        g.consumer(consumer, now).0.seen_time = now;
        g.deliver(id, consumer, delivery_time, false);
        if let Some(p) = g.pel.get_mut(&id) {
            p.delivery_time = delivery_time;
            match o.retry_count {
                Some(n) if n >= 0 => p.delivery_count = n as u64,
                _ if !o.justid => p.delivery_count += 1,
                _ => {}
            }
        }
        claimed.push(id);
    }
    out.array(claimed.len());
    for id in claimed {
        if o.justid {
            reply_id(out, id);
        } else {
            reply_entry(out, id, s.get(id));
        }
    }
    s.groups.insert(name.to_vec(), g);
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
fn xautoclaim(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, name, now) = (args.get(1), args.get(2), ctx.now_ms);
    let Some(min_idle) = parse_i64(args.get(4)) else {
        return ctx.out.error(errors::XAUTOCLAIM_MIN_IDLE);
    };
    let min_idle = min_idle.max(0);
    let start = match parse_bound(args.get(5), true) {
        Ok(id) => id,
        Err(e) => return ctx.out.error(e),
    };
    let (mut count, mut justid) = (100i64, false);
    let mut j = 6;
    while j < args.len() {
        if is(args.get(j), "count") && j + 1 < args.len() {
            match parse_i64(args.get(j + 1)) {
                Some(n) if (1..=i64::MAX / 16).contains(&n) => count = n,
                _ => return ctx.out.error(errors::XAUTOCLAIM_COUNT),
            }
            j += 1;
        } else if is(args.get(j), "justid") {
            justid = true;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        j += 1;
    }
    match read_stream(ctx.db.ks(key), key, now) {
        Err(e) => return ctx.out.error(e),
        Ok(s) if s.is_some_and(|s| s.groups.contains_key(name)) => {}
        Ok(_) => return ctx.out.error(&errors::no_key_or_group(key, name)),
    }
    let consumer = args.get(3);
    let Ok(Some(s)) = write_stream(ctx.db.ks(key), key, now) else { return };
    let Some(mut g) = s.groups.remove(name) else { return };
    let out = &mut ctx.out;
    let mut attempts = count.saturating_mul(10);
    let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
    let mut cursor = start;
    let mut next = StreamId::ZERO;
    while let Some(id) = g.pel.range(cursor..).next().map(|(id, _)| *id) {
        if attempts == 0 || count == 0 {
            next = id;
            break;
        }
        attempts -= 1;
        cursor = match id.next() {
            Some(n) => n,
            None => StreamId::MAX,
        };
        if !s.contains(id) {
            g.ack(id);
            deleted.push(id);
            count -= 1;
        } else if min_idle == 0 || now as i64 - g.pel[&id].delivery_time as i64 >= min_idle {
            g.consumer(consumer, now).0.seen_time = now;
            g.deliver(id, consumer, now, !justid);
            claimed.push(id);
            count -= 1;
        }
        if id == StreamId::MAX {
            break;
        }
    }
    out.array(3);
    reply_id(out, next);
    out.array(claimed.len());
    for id in claimed {
        if justid {
            reply_id(out, id);
        } else {
            reply_entry(out, id, s.get(id));
        }
    }
    out.array(deleted.len());
    for id in deleted {
        reply_id(out, id);
    }
    s.groups.insert(name.to_vec(), g);
}
