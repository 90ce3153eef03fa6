//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP, with
//! Redis 7.0's fields (maps in RESP3, flat arrays in RESP2).

use crate::commands::stream::{read_stream, reply_entries, reply_entry, reply_id};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::{Args, ReplyWriter};
use crate::types::stream::{Group, Stream, StreamId};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("stream").summary(summary)
}

const SUB_KEY: KeySpec = KeySpec::new(2, 2, 1);

pub const COMMANDS: &[Command] = &[cmd("xinfo", -2, 0, KeySpec::NONE, crate::commands::container, "A container for stream introspection commands").subcommands(XINFO_SUBCOMMANDS)];

const XINFO_SUBCOMMANDS: &[Command] = &[
    cmd("xinfo|consumers", 4, READONLY, SUB_KEY, xinfo_consumers, "List the consumers in a consumer group"),
    cmd("xinfo|groups", 3, READONLY, SUB_KEY, xinfo_groups, "List the consumer groups of a stream"),
    cmd("xinfo|stream", -3, READONLY, SUB_KEY, xinfo_stream, "Get information about a stream"),
    cmd("xinfo|help", 2, LOADING | STALE, KeySpec::NONE, xinfo_help, "Show helpful text about the different subcommands"),
];

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn xinfo_help(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.array(XINFO_HELP.len());
    for line in XINFO_HELP {
        ctx.out.simple(line);
    }
}

/// A group's `entries-read` and `lag` fields (key and value each), as XINFO GROUPS and
/// XINFO STREAM FULL show them: nil when unknown.
fn reply_progress(out: &mut ReplyWriter<'_>, s: &Stream, g: &Group) {
    out.bulk(b"entries-read");
    match g.entries_read {
        -1 => out.null(),
        n => out.int(n),
    }
    out.bulk(b"lag");
    match lag(s, g) {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

/// A group's lag (entries not yet delivered), when it can be known.
pub fn lag(s: &Stream, g: &Group) -> Option<i64> {
    if s.entries_added == 0 {
        return Some(0);
    }
    if g.entries_read != -1 && !s.has_tombstones_from(g.last_id) {
        return Some(s.entries_added as i64 - g.entries_read);
    }
    s.estimate_entries_read(g.last_id).map(|n| s.entries_added as i64 - n as i64)
}

fn sub_syntax(ctx: &mut Ctx<'_>, args: Args<'_>) {
    ctx.out.error(&errors::unknown_subcommand_or_arity("XINFO", args.get(1)));
}

/// XINFO STREAM key [FULL [COUNT count]]
fn xinfo_stream(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(2);
    let s = match read_stream(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(s)) => s,
        Ok(None) => return ctx.out.error(errors::NO_SUCH_KEY),
        Err(e) => return ctx.out.error(e),
    };
    let rest = args.len() - 3;
    let full = rest > 0;
    let mut count: i64 = 10;
    if full {
        if (rest != 1 && rest != 3) || !is(args.get(3), "full") || (rest == 3 && !is(args.get(4), "count")) {
            return sub_syntax(ctx, args);
        }
        if rest == 3 {
            match parse_i64(args.get(5)) {
                Some(n) => count = if n < 0 { 10 } else { n },
                None => return ctx.out.error(errors::NOT_INTEGER),
            }
        }
    }
    let out = &mut ctx.out;
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.radix_tree_nodes() as i64);
    out.bulk(b"last-generated-id");
    reply_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, s.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        out.bulk(b"first-entry");
        match s.first_entry() {
            Some((id, f)) => reply_entry(out, id, Some(f)),
            None => out.null(),
        }
        out.bulk(b"last-entry");
        match s.last_entry() {
            Some((id, f)) => reply_entry(out, id, Some(f)),
            None => out.null(),
        }
        return;
    }
    let limit = if count == 0 { usize::MAX } else { count as usize };
    out.bulk(b"entries");
    reply_entries(out, &s.range(StreamId::ZERO, StreamId::MAX, if count == 0 { 0 } else { limit }, false));
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        reply_progress(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let pel: Vec<_> = g.pel.iter().take(limit).collect();
        out.array(pel.len());
        for (id, p) in pel {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&p.consumer);
            out.int(p.delivery_time as i64);
            out.int(p.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time as i64);
            out.bulk(b"pel-count");
            out.int(c.pending.len() as i64);
            out.bulk(b"pending");
            let ids: Vec<_> = c.pending.iter().take(limit).collect();
            out.array(ids.len());
            for id in ids {
                let p = &g.pel[id];
                out.array(3);
                reply_id(out, *id);
                out.int(p.delivery_time as i64);
                out.int(p.delivery_count as i64);
            }
        }
    }
}

/// XINFO GROUPS key
fn xinfo_groups(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(2);
    let s = match read_stream(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(s)) => s,
        Ok(None) => return ctx.out.error(errors::NO_SUCH_KEY),
        Err(e) => return ctx.out.error(e),
    };
    let out = &mut ctx.out;
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        reply_progress(out, s, g);
    }
}

/// XINFO CONSUMERS key group
fn xinfo_consumers(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, group) = (args.get(2), args.get(3));
    let now = ctx.now_ms;
    let s = match read_stream(ctx.db.ks(key), key, now) {
        Ok(Some(s)) => s,
        Ok(None) => return ctx.out.error(errors::NO_SUCH_KEY),
        Err(e) => return ctx.out.error(e),
    };
    let Some(g) = s.groups.get(group) else {
        return ctx.out.error(&errors::no_group_for_key(key, group));
    };
    let out = &mut ctx.out;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(3);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pending.len() as i64);
        out.bulk(b"idle");
        out.int((now as i64 - c.seen_time as i64).max(0));
    }
}
