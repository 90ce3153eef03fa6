//! Stream commands on entries: XADD XLEN XRANGE XREVRANGE XDEL XTRIM XSETID. Groups are
//! in `group.rs`, XREAD in `read.rs`, XINFO in `info.rs`; the
//! structure in `types/stream.rs`.

pub mod group;
pub mod info;
pub mod read;
pub mod rewrite;

use crate::commands::effects::{ev, class::STREAM, On::Arg, When::{Always, Changed}, Propagate};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::{Args, ReplyWriter};
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};
use crate::types::stream::id::{parse_bound, parse_id, parse_id_or, INVALID_ID};
use crate::types::stream::{AddError, Stream, StreamId, Trim, TrimTo};

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::ONE, handler).group("stream").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("xadd", -5, WRITE | DENYOOM | FAST, xadd, "Appends a new entry to a stream").events(&[ev(STREAM, "xadd", Arg(1), Changed)]).propagate(Propagate::Custom(crate::commands::stream::rewrite::xadd_lines)),
    cmd("xlen", 2, READONLY | FAST, xlen, "Return the number of entries in a stream"),
    cmd("xrange", -4, READONLY, xrange, "Return a range of elements in a stream, with IDs matching the specified IDs interval"),
    cmd(
        "xrevrange",
        -4,
        READONLY,
        xrevrange,
        "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
    ),
    cmd("xdel", -3, WRITE | FAST, xdel, "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.").events(&[ev(STREAM, "xdel", Arg(1), Changed)]),
    cmd("xtrim", -4, WRITE, xtrim, "Trims the stream to (approximately if '~' is passed) a certain size").events(&[ev(STREAM, "xtrim", Arg(1), Changed)]),
    cmd("xsetid", -3, WRITE | DENYOOM | FAST, xsetid, "An internal command for replicating stream values").events(&[ev(STREAM, "xsetid", Arg(1), Always)]),
];

// ---------------------------------------------------------------- lookups and replies

/// The stream under `key`, for reading.
pub fn read_stream<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k Stream>, &'static str> {
    match ks.read(key, now_ms).map(|e| e.value) {
        None => Ok(None),
        Some(ValueRef::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// The stream under `key`, for changing in place.
pub fn write_stream<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k mut Stream>, &'static str> {
    match ks.get(key, now_ms).map(|e| e.value) {
        None => return Ok(None),
        Some(ValueRef::Stream(_)) => {}
        Some(_) => return Err(errors::WRONGTYPE),
    }
    match ks.get_mut(key, now_ms) {
        Some(Value::Stream(s)) => Ok(Some(s)),
        _ => Ok(None),
    }
}

/// The stream under `key`, created empty when missing.
pub fn stream_or_create<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<&'k mut Stream, &'static str> {
    if read_stream(ks, key, now_ms)?.is_none() {
        ks.insert(key, Value::Stream(Box::default()), NO_EXPIRE);
    }
    match ks.get_mut(key, now_ms) {
        Some(Value::Stream(s)) => Ok(s),
        _ => Err(errors::WRONGTYPE),
    }
}

/// Writes an ID as a bulk string.
pub fn reply_id(out: &mut ReplyWriter<'_>, id: StreamId) {
    out.bulk(id.to_string().as_bytes());
}

/// Writes one entry: `[id, [field, value, ...]]`, or `[id, nil]` for a deleted one.
pub fn reply_entry(out: &mut ReplyWriter<'_>, id: StreamId, fields: Option<&[Vec<u8>]>) {
    out.array(2);
    reply_id(out, id);
    match fields {
        Some(f) => {
            out.array(f.len());
            for x in f {
                out.bulk(x);
            }
        }
        None => out.null_array(),
    }
}

/// Writes entries as an array.
pub fn reply_entries(out: &mut ReplyWriter<'_>, entries: &[(StreamId, &[Vec<u8>])]) {
    out.array(entries.len());
    for (id, fields) in entries {
        reply_entry(out, *id, Some(fields));
    }
}

// ---------------------------------------------------------------- trimming options

/// XADD's and XTRIM's options.
#[derive(Debug, Default)]
struct AddArgs {
    trim: Option<Trim>,
    nomkstream: bool,
    /// The ID argument's position (XADD), or the end of the arguments.
    id_at: usize,
}

/// Parses `[NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]]` from `from` on,
/// up to XADD's ID (`xadd`) or the end (XTRIM), as Redis's
/// `streamParseAddOrTrimArgsOrReply`.
fn parse_add_or_trim(args: Args<'_>, from: usize, xadd: bool) -> Result<AddArgs, &'static str> {
    let mut a = AddArgs { id_at: args.len(), ..AddArgs::default() };
    let (mut to, mut approx, mut limit): (Option<TrimTo>, bool, Option<i64>) = (None, false, None);
    let mut i = from;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args.get(i);
        if xadd && opt == b"*" {
            a.id_at = i;
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if to.is_some() {
                return Err(errors::XTRIM_MAXLEN_AND_MINID);
            }
            approx = false;
            let next = args.get(i + 1);
            if more >= 2 && (next == b"~" || next == b"=") {
                approx = next == b"~";
                i += 1;
            }
            let arg = args.get(i + 1);
            to = Some(if is(opt, "maxlen") {
                let n = parse_i64(arg).ok_or(errors::NOT_INTEGER)?;
                if n < 0 {
                    return Err(errors::XTRIM_MAXLEN_NEGATIVE);
                }
                TrimTo::MaxLen(n as u64)
            } else {
                TrimTo::MinId(parse_id_or(arg, 0, true).ok_or(INVALID_ID)?)
            });
            i += 2;
        } else if is(opt, "limit") && more > 0 {
            let n = parse_i64(args.get(i + 1)).ok_or(errors::NOT_INTEGER)?;
            if n < 0 {
                return Err(errors::XTRIM_LIMIT_NEGATIVE);
            }
            limit = Some(n);
            i += 2;
        } else if xadd && is(opt, "nomkstream") {
            a.nomkstream = true;
            i += 1;
        } else if xadd {
            a.id_at = i;
            break;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    if limit.is_some_and(|l| l != 0) && to.is_none() {
        return Err(errors::XTRIM_LIMIT_WITHOUT_STRATEGY);
    }
    if !xadd && to.is_none() {
        return Err(errors::XTRIM_NO_STRATEGY);
    }
    let limit = match limit {
        Some(_) if !approx => return Err(errors::XTRIM_LIMIT_WITHOUT_APPROX),
        Some(l) => l as u64,
        None if approx => 100 * crate::types::stream::NODE_MAX_ENTRIES as u64,
        None => 0,
    };
    a.trim = to.map(|to| Trim { to, approx, limit });
    Ok(a)
}

// ---------------------------------------------------------------- XADD / XLEN

/// Where XADD's ID argument is (for logging the ID it got), if the arguments parse.
pub fn xadd_id_position(args: Args<'_>) -> Option<usize> {
    let a = parse_add_or_trim(args, 2, true).ok()?;
    (a.id_at < args.len()).then_some(a.id_at)
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
fn xadd(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let a = match parse_add_or_trim(args, 2, true) {
        Ok(a) => a,
        Err(e) => return ctx.out.error(e),
    };
    let given = if a.id_at < args.len() && args.get(a.id_at) != b"*" {
        match parse_id(args.get(a.id_at), true) {
            Some(p) => Some((p.ms, p.seq.unwrap_or(Some(0)))),
            None => return ctx.out.error(INVALID_ID),
        }
    } else {
        None
    };
    let fields = args.len().saturating_sub(a.id_at + 1);
    if fields < 2 || fields % 2 == 1 {
        return ctx.out.error(&errors::wrong_arity("xadd"));
    }
    if given == Some((0, Some(0))) {
        return ctx.out.error(errors::XADD_ID_ZERO);
    }
    let (key, now) = (args.get(1), ctx.now_ms);
    let ks = ctx.db.ks(key);
    let s = match read_stream(ks, key, now) {
        Err(e) => return ctx.out.error(e),
        Ok(None) if a.nomkstream => return ctx.out.null(),
        Ok(_) => match stream_or_create(ks, key, now) {
            Ok(s) => s,
            Err(e) => return ctx.out.error(e),
        },
    };
    let id = match s.next_id(given, now) {
        Ok(id) => id,
        Err(AddError::NotGreater) => {
            return ctx.out.error(errors::XADD_ID_TOO_SMALL)
        }
        Err(AddError::Exhausted) => {
            return ctx.out.error(errors::XADD_IDS_EXHAUSTED)
        }
    };
    s.push(id, args.from(a.id_at + 1).map(<[u8]>::to_vec).collect());
    if let Some(t) = a.trim {
        s.trim(t);
    }
    ctx.changed(1);
    reply_id(&mut ctx.out, id);
}

/// XLEN key
fn xlen(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match read_stream(ctx.db.ks(args.get(1)), args.get(1), ctx.now_ms) {
        Ok(s) => ctx.out.int(s.map_or(0, |s| s.len() as i64)),
        Err(e) => ctx.out.error(e),
    }
}

// ---------------------------------------------------------------- XRANGE / XREVRANGE

fn range(ctx: &mut Ctx<'_>, args: Args<'_>, rev: bool) {
    let (start_arg, end_arg) = if rev { (args.get(3), args.get(2)) } else { (args.get(2), args.get(3)) };
    let start = match parse_bound(start_arg, true) {
        Ok(id) => id,
        Err(e) => return ctx.out.error(e),
    };
    let end = match parse_bound(end_arg, false) {
        Ok(id) => id,
        Err(e) => return ctx.out.error(e),
    };
    let mut count: i64 = -1;
    let mut i = 4;
    while i < args.len() {
        if is(args.get(i), "count") && i + 1 < args.len() {
            match parse_i64(args.get(i + 1)) {
                Some(n) => count = n.max(0),
                None => return ctx.out.error(errors::NOT_INTEGER),
            }
            i += 2;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let s = match read_stream(ctx.db.ks(args.get(1)), args.get(1), ctx.now_ms) {
        Ok(Some(s)) => s,
        Ok(None) => return ctx.out.array(0),
        Err(e) => return ctx.out.error(e),
    };
    if count == 0 {
        return ctx.out.null_array();
    }
    let entries = s.range(start, end, count.max(0) as usize, rev);
    reply_entries(&mut ctx.out, &entries);
}

/// XRANGE key start end [COUNT count]
fn xrange(ctx: &mut Ctx<'_>, args: Args<'_>) {
    range(ctx, args, false);
}

/// XREVRANGE key end start [COUNT count]
fn xrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) {
    range(ctx, args, true);
}

// ---------------------------------------------------------------- XDEL / XTRIM / XSETID

/// XDEL key id [id ...]
fn xdel(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, now) = (args.get(1), ctx.now_ms);
    match read_stream(ctx.db.ks(key), key, now) {
        Ok(Some(_)) => {}
        Ok(None) => return ctx.out.int(0),
        Err(e) => return ctx.out.error(e),
    }
    let mut ids = Vec::with_capacity(args.len() - 2);
    for a in args.from(2) {
        match parse_id_or(a, 0, true) {
            Some(id) => ids.push(id),
            None => return ctx.out.error(INVALID_ID),
        }
    }
    let Ok(Some(s)) = write_stream(ctx.db.ks(key), key, now) else { return ctx.out.int(0) };
    let deleted = ids.into_iter().filter(|id| s.delete(*id)).count();
    ctx.reply_changes(deleted as i64);
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, now) = (args.get(1), ctx.now_ms);
    match read_stream(ctx.db.ks(key), key, now) {
        Ok(Some(_)) => {}
        Ok(None) => return ctx.out.int(0),
        Err(e) => return ctx.out.error(e),
    }
    let a = match parse_add_or_trim(args, 2, false) {
        Ok(a) => a,
        Err(e) => return ctx.out.error(e),
    };
    let Ok(Some(s)) = write_stream(ctx.db.ks(key), key, now) else { return ctx.out.int(0) };
    let removed = a.trim.map_or(0, |t| s.trim(t));
    ctx.reply_changes(removed as i64);
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
fn xsetid(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(id) = parse_id_or(args.get(2), 0, true) else { return ctx.out.error(INVALID_ID) };
    let (mut added, mut max_del): (Option<u64>, StreamId) = (None, StreamId::ZERO);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(args.get(i), "entriesadded") && more {
            match parse_i64(args.get(i + 1)) {
                None => return ctx.out.error(errors::NOT_INTEGER),
                Some(n) if n < 0 => return ctx.out.error(errors::XSETID_ENTRIES_ADDED_NEGATIVE),
                Some(n) => added = Some(n as u64),
            }
        } else if is(args.get(i), "maxdeletedid") && more {
            match parse_id_or(args.get(i + 1), 0, true) {
                None => return ctx.out.error(INVALID_ID),
                Some(m) if id < m => {
                    return ctx.out.error(errors::XSETID_BELOW_MAX_DELETED)
                }
                Some(m) => max_del = m,
            }
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 2;
    }
    let s = match write_stream(ctx.db.ks(args.get(1)), args.get(1), ctx.now_ms) {
        Ok(Some(s)) => s,
        Ok(None) => return ctx.out.error(errors::NO_SUCH_KEY),
        Err(e) => return ctx.out.error(e),
    };
    if !s.is_empty() {
        if s.last_entry().is_some_and(|(top, _)| id < top) {
            return ctx.out.error(errors::XSETID_BELOW_TOP);
        }
        if added.is_some_and(|n| n < s.len()) {
            return ctx.out.error(errors::XSETID_ENTRIES_BELOW_LENGTH);
        }
    }
    s.last_id = id;
    if let Some(n) = added {
        s.entries_added = n;
    }
    if !max_del.is_zero() {
        s.max_deleted_id = max_del;
    }
    ctx.out.ok();
}
