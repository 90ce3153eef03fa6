//! XREAD and XREADGROUP, blocking included.
//!
//! Both first try to serve at once. With BLOCK and nothing to serve, the handler
//! blocks on every stream key (see `shard::blocking`). XREAD's `$` is resolved to the
//! stream's last ID then, and the waiter keeps arguments with the resolved IDs, so
//! the re-run that serves it (`ctx.serving`: only the stream that got an entry)
//! returns what was added after the block. XREADGROUP blocks only for `>`; when
//! served, it delivers from the group's last ID at that moment, so each new entry
//! goes to exactly one of the consumers waiting on a group.

use crate::commands::effects::Propagate;
use crate::commands::stream::{read_stream, reply_entry, write_stream};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::commands::blocking::{BlockRequest, FOREVER};
use crate::types::stream::id::{parse_id_or, INVALID_ID};
use crate::types::stream::{Group, Stream, StreamId};

pub const COMMANDS: &[Command] = &[
    Command::new("xread", -4, READONLY | BLOCKING, KeySpec::NONE, xread).route(Route::KeyPositions(xread_keys)).group("stream").summary("Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block."),
    Command::new("xreadgroup", -7, WRITE | BLOCKING, KeySpec::NONE, xreadgroup).propagate(Propagate::Custom(crate::commands::stream::rewrite::xreadgroup_lines)).route(Route::KeyPositions(xread_keys)).group("stream").summary("Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block."),
];

/// Entries read from a served client when it gave no COUNT (Redis's
/// `XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// Where the keys are: after STREAMS, the first half of the rest.
pub fn xread_key_positions(args: Args<'_>) -> Option<Vec<usize>> {
    xread_keys(args)
}

fn xread_keys(args: Args<'_>) -> Option<Vec<usize>> {
    let at = streams_at(args)?;
    let n = args.len() - at;
    (n > 0 && n % 2 == 0).then(|| (at..at + n / 2).collect())
}

/// The position after STREAMS, skipping option values as the parser does.
fn streams_at(args: Args<'_>) -> Option<usize> {
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let a = args.get(i);
        if (is(a, "block") || is(a, "count")) && more > 0 {
            i += 2;
        } else if is(a, "streams") && more > 0 {
            return Some(i + 1);
        } else if is(a, "group") && more >= 2 {
            i += 3;
        } else {
            i += 1;
        }
    }
    None
}

/// Parsed XREAD/XREADGROUP options.
struct ReadArgs<'a> {
    count: usize,
    deadline: Option<u64>,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
    /// First key position and the number of streams.
    keys_at: usize,
    n: usize,
}

fn parse_read<'a>(args: Args<'a>, xreadgroup: bool, now: u64) -> Result<ReadArgs<'a>, String> {
    let mut r = ReadArgs { count: 0, deadline: None, group: None, noack: false, keys_at: 0, n: 0 };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let o = args.get(i);
        if is(o, "block") && more > 0 {
            i += 1;
            let ms = parse_i64(args.get(i)).ok_or(errors::TIMEOUT_NOT_INTEGER)?;
            if ms < 0 {
                return Err(errors::TIMEOUT_NEGATIVE.into());
            }
            r.deadline = Some(if ms == 0 { FOREVER } else { now.saturating_add(ms as u64) });
        } else if is(o, "count") && more > 0 {
            i += 1;
            r.count = parse_i64(args.get(i)).ok_or(errors::NOT_INTEGER)?.max(0) as usize;
        } else if is(o, "streams") && more > 0 {
            r.keys_at = i + 1;
            let rest = args.len() - r.keys_at;
            if rest % 2 != 0 {
                return Err(errors::XREAD_UNBALANCED.into());
            }
            r.n = rest / 2;
            break;
        } else if is(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(errors::XREAD_GROUP_OPTION.into());
            }
            r.group = Some((args.get(i + 1), args.get(i + 2)));
            i += 2;
        } else if is(o, "noack") {
            if !xreadgroup {
                return Err(errors::XREAD_NOACK_OPTION.into());
            }
            r.noack = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if r.keys_at == 0 {
        return Err(errors::SYNTAX.into());
    }
    if xreadgroup && r.group.is_none() {
        return Err(errors::XREADGROUP_NO_GROUP.into());
    }
    Ok(r)
}

/// Where a read starts: after an ID, or `>` (new entries for the group).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    After(StreamId),
    New,
}

/// An entry as replied: fields, or None for a pending entry deleted since.
type Read = (StreamId, Option<Vec<Vec<u8>>>);

/// Resolves every stream's ID (checking types and groups first, as Redis does).
fn resolve_ids(ctx: &mut Ctx<'_>, args: Args<'_>, r: &ReadArgs<'_>) -> Result<Vec<Start>, String> {
    let mut ids = Vec::with_capacity(r.n);
    for i in 0..r.n {
        let key = args.get(r.keys_at + i);
        let arg = args.get(r.keys_at + r.n + i);
        if ctx.serving.is_some_and(|k| k != key) {
            // Serving: only the key that got data is held (and looked at).
            ids.push(Start::New);
            continue;
        }
        let s = read_stream(ctx.db.ks(key), key, ctx.now_ms).map_err(str::to_string)?;
        if let Some((group, _)) = r.group {
            if !s.is_some_and(|s| s.groups.contains_key(group)) {
                return Err(format!("{} in XREADGROUP with GROUP option", errors::no_key_or_group(key, group)));
            }
        }
        ids.push(match arg {
            b"$" if r.group.is_some() => {
                return Err(errors::XREADGROUP_DOLLAR_ID.into())
            }
            b"$" => Start::After(s.map_or(StreamId::ZERO, |s| s.last_id)),
            b">" if r.group.is_none() => {
                return Err(errors::XREAD_NEW_ID.into())
            }
            b">" => Start::New,
            _ => Start::After(parse_id_or(arg, 0, true).ok_or(INVALID_ID)?),
        });
    }
    Ok(ids)
}

/// Writes the served streams: an array of [key, entries] (RESP3: a map).
fn reply_streams(ctx: &mut Ctx<'_>, served: &[(&[u8], Vec<Read>)]) {
    if ctx.out.is_resp3() {
        ctx.out.map(served.len());
    } else {
        ctx.out.array(served.len());
    }
    for (key, entries) in served {
        if !ctx.out.is_resp3() {
            ctx.out.array(2);
        }
        ctx.out.bulk(key);
        ctx.out.array(entries.len());
        for (id, fields) in entries {
            reply_entry(&mut ctx.out, *id, fields.as_deref());
        }
    }
}

/// Up to `count` (0: all) live entries after `after`.
fn entries_after(s: &Stream, after: StreamId, count: usize) -> Vec<Read> {
    let Some(start) = after.next() else { return Vec::new() };
    let limit = if count == 0 { usize::MAX } else { count };
    s.iter_from(start).take(limit).map(|(id, f)| (id, Some(f.to_vec()))).collect()
}

/// Blocks on the streams, with `$` replaced by the IDs it meant now.
fn block(ctx: &mut Ctx<'_>, args: Args<'_>, r: &ReadArgs<'_>, ids: &[Start], deadline: u64) {
    let mut argv: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
    for (i, id) in ids.iter().enumerate() {
        if let Start::After(id) = id {
            argv[r.keys_at + r.n + i] = id.to_bytes();
        }
    }
    let watch = (0..r.n).map(|i| args.get(r.keys_at + i).to_vec()).collect();
    ctx.block_on(BlockRequest { deadline_ms: deadline, watch, extra: Vec::new(), args: Some(argv) });
}

/// The streams to look at: all, or only the one that got data when serving.
fn candidates(ctx: &Ctx<'_>, args: Args<'_>, r: &ReadArgs<'_>) -> Vec<usize> {
    (0..r.n).filter(|&i| ctx.serving.is_none_or(|k| k == args.get(r.keys_at + i))).collect()
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
fn xread(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let r = match parse_read(args, false, ctx.now_ms) {
        Ok(r) => r,
        Err(e) => return ctx.out.error(&e),
    };
    let ids = match resolve_ids(ctx, args, &r) {
        Ok(ids) => ids,
        Err(_) if ctx.serving.is_some() => return block(ctx, args, &r, &[], r.deadline.unwrap_or(FOREVER)),
        Err(e) => return ctx.out.error(&e),
    };
    let serving = ctx.serving.is_some();
    let count = if serving && r.count == 0 { BLOCKED_DEFAULT_COUNT } else { r.count };
    let mut served = Vec::new();
    for i in candidates(ctx, args, &r) {
        let key = args.get(r.keys_at + i);
        let Start::After(after) = ids[i] else { continue };
        let Ok(Some(s)) = read_stream(ctx.db.ks(key), key, ctx.now_ms) else { continue };
        let ready = if serving { s.last_id > after } else { s.last_entry().is_some_and(|(top, _)| top > after) };
        if ready {
            served.push((key, entries_after(s, after, count)));
        }
    }
    finish(ctx, args, &r, &ids, served);
}

/// Replies with what was served, or blocks / replies nil when nothing was.
fn finish(ctx: &mut Ctx<'_>, args: Args<'_>, r: &ReadArgs<'_>, ids: &[Start], served: Vec<(&[u8], Vec<Read>)>) {
    if !served.is_empty() {
        return reply_streams(ctx, &served);
    }
    match r.deadline {
        Some(d) => block(ctx, args, r, ids, d),
        None => ctx.out.null_array(),
    }
}

/// Delivers entries after the group's last ID to `consumer` (XREADGROUP `>`),
/// keeping the group's read counter as Redis does.
fn deliver_new(s: &Stream, g: &mut Group, consumer: &[u8], count: usize, noack: bool, now: u64) -> Vec<Read> {
    let entries = entries_after(s, g.last_id, count);
    for (id, _) in &entries {
        let id = *id;
        if id > g.last_id {
            if g.entries_read != -1 && !s.has_tombstones_from(id) {
                g.entries_read += 1;
            } else if s.entries_added != 0 {
                g.entries_read = s.estimate_entries_read(id).map_or(-1, |n| n as i64);
            }
            g.last_id = id;
        }
        if !noack {
            g.deliver(id, consumer, now, false);
            if let Some(p) = g.pel.get_mut(&id) {
                p.delivery_count = 1;
            }
        }
    }
    entries
}

/// A consumer's own pending entries after `after` (XREADGROUP with an ID).
fn deliver_history(s: &Stream, g: &mut Group, consumer: &[u8], after: StreamId, count: usize, now: u64) -> Vec<Read> {
    let Some(start) = after.next() else { return Vec::new() };
    let limit = if count == 0 { usize::MAX } else { count };
    let ids: Vec<StreamId> = g.consumers.get(consumer).map_or(Vec::new(), |c| c.pending.range(start..).take(limit).copied().collect());
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let fields = s.get(id).map(<[Vec<u8>]>::to_vec);
        if fields.is_some() {
            if let Some(p) = g.pel.get_mut(&id) {
                p.delivery_time = now;
                p.delivery_count += 1;
            }
        }
        out.push((id, fields));
    }
    out
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]
fn xreadgroup(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let r = match parse_read(args, true, ctx.now_ms) {
        Ok(r) => r,
        Err(e) => return ctx.out.error(&e),
    };
    let Some((group, consumer)) = r.group else { return };
    let serving = ctx.serving.is_some();
    let ids = match resolve_ids(ctx, args, &r) {
        Ok(ids) => ids,
        Err(_) if serving && ctx.serving.is_some_and(|k| group_gone(ctx, k, group)) => {
            return ctx.out.error(errors::NOGROUP_BLOCKED_ON);
        }
        Err(_) if serving => return block(ctx, args, &r, &[], r.deadline.unwrap_or(FOREVER)),
        Err(e) => return ctx.out.error(&e),
    };
    let count = if serving && r.count == 0 { BLOCKED_DEFAULT_COUNT } else { r.count };
    let now = ctx.now_ms;
    let mut served = Vec::new();
    for i in candidates(ctx, args, &r) {
        let key = args.get(r.keys_at + i);
        let Ok(Some(s)) = write_stream(ctx.db.ks(key), key, now) else { continue };
        let Some(mut g) = s.groups.remove(group) else { continue };
        g.consumer(consumer, now).0.seen_time = now;
        match ids[i] {
            Start::After(after) => served.push((key, deliver_history(s, &mut g, consumer, after, count, now))),
            Start::New => {
                let ready = if serving { s.last_id > g.last_id } else { s.last_entry().is_some_and(|(top, _)| top > g.last_id) };
                if ready {
                    served.push((key, deliver_new(s, &mut g, consumer, count, r.noack, now)));
                }
            }
        }
        s.groups.insert(group.to_vec(), g);
    }
    finish(ctx, args, &r, &ids, served);
}

/// Is `key` a stream without group `group` (or no stream at all)?
fn group_gone(ctx: &mut Ctx<'_>, key: &[u8], group: &[u8]) -> bool {
    matches!(read_stream(ctx.db.ks(key), key, ctx.now_ms), Ok(Some(s)) if !s.groups.contains_key(group))
}
