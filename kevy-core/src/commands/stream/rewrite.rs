//! The commands that rebuild a stream (AOF rewrite, multi-shard writes logged as
//! per-key states), as Redis's `rewriteStreamObject` writes them: XADD with explicit
//! IDs, XSETID with the bookkeeping, then each group (XGROUP CREATE ... ENTRIESREAD),
//! its pending entries (XCLAIM ... FORCE JUSTID with the delivery time and count) and
//! its consumers without pending entries (XGROUP CREATECONSUMER).
//!
//! Approximation: a consumer's seen-time becomes the replay time, and pending entries
//! whose stream entry was deleted are not rebuilt (XCLAIM drops those, as in Redis).
//!
//! Also here: [`effects`], what the AOF logs for stream commands that depend on the
//! clock.

use crate::resp::{Args, Reply};
use crate::store::Keyspace;
use crate::types::stream::id::parse_id_or;
use crate::types::stream::{Group, Stream, StreamId};

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn id(i: StreamId) -> Vec<u8> {
    i.to_bytes()
}

/// Appends the commands that create `key` holding `s`.
pub fn commands(key: &[u8], s: &Stream, out: &mut Vec<Vec<Vec<u8>>>) {
    let k = key.to_vec();
    let mut first = true;
    for (eid, fields) in s.iter_from(StreamId::ZERO) {
        let mut argv = vec![b("XADD"), k.clone(), id(eid)];
        argv.extend(fields.iter().cloned());
        out.push(argv);
        first = false;
    }
    if first {
        // An empty stream: create it with a throw-away entry trimmed at once.
        out.push(vec![b("XADD"), k.clone(), b("MAXLEN"), b("0"), id(s.last_id.max(StreamId::new(0, 1))), b("x"), b("y")]);
    }
    out.push(vec![
        b("XSETID"),
        k.clone(),
        id(s.last_id),
        b("ENTRIESADDED"),
        s.entries_added.to_string().into_bytes(),
        b("MAXDELETEDID"),
        id(s.max_deleted_id),
    ]);
    for (name, g) in &s.groups {
        out.push(vec![
            b("XGROUP"),
            b("CREATE"),
            k.clone(),
            name.clone(),
            id(g.last_id),
            b("ENTRIESREAD"),
            g.entries_read.to_string().into_bytes(),
        ]);
        for (pid, p) in &g.pel {
            if !s.contains(*pid) {
                continue;
            }
            out.push(vec![
                b("XCLAIM"),
                k.clone(),
                name.clone(),
                p.consumer.clone(),
                b("0"),
                id(*pid),
                b("TIME"),
                p.delivery_time.to_string().into_bytes(),
                b("RETRYCOUNT"),
                p.delivery_count.to_string().into_bytes(),
                b("JUSTID"),
                b("FORCE"),
            ]);
        }
        for (cname, c) in &g.consumers {
            if c.pending.iter().all(|p| !s.contains(*p)) {
                out.push(vec![b("XGROUP"), b("CREATECONSUMER"), k.clone(), name.clone(), cname.clone()]);
            }
        }
    }
}

/// The IDs a reply lists: bulk IDs, or the IDs of `[id, fields]` entries.
fn reply_ids(items: &[Reply]) -> Vec<StreamId> {
    items
        .iter()
        .filter_map(|r| match r {
            Reply::Bulk(b) => parse_id_or(b, 0, true),
            Reply::Array(e) => match e.first() {
                Some(Reply::Bulk(b)) => parse_id_or(b, 0, true),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID` restoring a
/// pending entry as it is now; `XACK key group id` when it is no longer pending.
fn pending_line(key: &[u8], group: &[u8], g: &Group, pid: StreamId) -> Vec<Vec<u8>> {
    match g.pel.get(&pid) {
        Some(p) => vec![
            b("XCLAIM"),
            key.to_vec(),
            group.to_vec(),
            p.consumer.clone(),
            b("0"),
            id(pid),
            b("TIME"),
            p.delivery_time.to_string().into_bytes(),
            b("RETRYCOUNT"),
            p.delivery_count.to_string().into_bytes(),
            b("FORCE"),
            b("JUSTID"),
        ],
        None => vec![b("XACK"), key.to_vec(), group.to_vec(), id(pid)],
    }
}

/// The group's position: `XGROUP SETID key group last-id ENTRIESREAD n`.
fn setid_line(key: &[u8], group: &[u8], g: &Group) -> Vec<Vec<u8>> {
    vec![b("XGROUP"), b("SETID"), key.to_vec(), group.to_vec(), id(g.last_id), b("ENTRIESREAD"), g.entries_read.to_string().into_bytes()]
}

/// XADD's log line (its `Propagate::Custom`): with the ID it got.
pub fn xadd_lines(args: Args<'_>, ks: &mut Keyspace, now_ms: u64, reply: &[u8]) -> Option<Vec<Vec<Vec<u8>>>> {
    effects("xadd", args, ks, now_ms, reply)
}

/// XREADGROUP's log lines: the pending entries it left and the group's position.
pub fn xreadgroup_lines(args: Args<'_>, ks: &mut Keyspace, now_ms: u64, reply: &[u8]) -> Option<Vec<Vec<Vec<u8>>>> {
    effects("xreadgroup", args, ks, now_ms, reply)
}

/// XCLAIM's log lines: the entries it claimed, as XCLAIM ... FORCE.
pub fn xclaim_lines(args: Args<'_>, ks: &mut Keyspace, now_ms: u64, reply: &[u8]) -> Option<Vec<Vec<Vec<u8>>>> {
    effects("xclaim", args, ks, now_ms, reply)
}

/// XAUTOCLAIM's log lines: the entries it claimed, as XCLAIM ... FORCE.
pub fn xautoclaim_lines(args: Args<'_>, ks: &mut Keyspace, now_ms: u64, reply: &[u8]) -> Option<Vec<Vec<Vec<u8>>>> {
    effects("xautoclaim", args, ks, now_ms, reply)
}

/// What to log for a stream command whose effect depends on the clock (a generated
/// ID, delivery times, idle times), as commands that replay the same state whenever
/// they run: XADD with the ID it got; XREADGROUP, XCLAIM and XAUTOCLAIM as the
/// pending entries they left (XCLAIM ... FORCE, or XACK) and the group's position.
/// None: log the command as sent. `key` is the command's (single-shard) stream.
pub fn effects(cmd: &str, args: Args<'_>, ks: &mut Keyspace, now_ms: u64, reply: &[u8]) -> Option<Vec<Vec<Vec<u8>>>> {
    let decoded = Reply::decode(reply).map(|r| r.0);
    if cmd == "xadd" {
        let at = crate::commands::stream::xadd_id_position(args)?;
        let Some(Reply::Bulk(new_id)) = decoded else { return Some(Vec::new()) };
        let mut argv: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
        argv[at] = new_id;
        return Some(vec![argv]);
    }
    let (keys, group, consumer): (Vec<&[u8]>, &[u8], &[u8]) = match cmd {
        "xreadgroup" => {
            let pos = crate::commands::stream::read::xread_key_positions(args)?;
            let g = (1..args.len()).find(|&i| crate::commands::is(args.get(i), "group"))?;
            (pos.iter().map(|&p| args.get(p)).collect(), args.get(g + 1), args.get(g + 2))
        }
        "xclaim" | "xautoclaim" => (vec![args.get(1)], args.get(2), args.get(3)),
        _ => return None,
    };
    let mut per_key: Vec<(&[u8], Vec<StreamId>)> = keys.iter().map(|k| (*k, Vec::new())).collect();
    match (cmd, decoded) {
        ("xreadgroup", Some(Reply::Array(streams))) => {
            for s in streams {
                if let Reply::Array(pair) = s {
                    if let (Some(Reply::Bulk(k)), Some(Reply::Array(entries))) = (pair.first(), pair.get(1)) {
                        if let Some(slot) = per_key.iter_mut().find(|(key, _)| *key == k.as_slice()) {
                            slot.1 = reply_ids(entries);
                        }
                    }
                }
            }
        }
        ("xreadgroup", Some(Reply::Map(streams))) => {
            for (k, entries) in streams {
                if let (Reply::Bulk(k), Reply::Array(entries)) = (k, entries) {
                    if let Some(slot) = per_key.iter_mut().find(|(key, _)| *key == k.as_slice()) {
                        slot.1 = reply_ids(&entries);
                    }
                }
            }
        }
        ("xclaim", Some(Reply::Array(items))) => {
            per_key[0].1 = reply_ids(&items);
            per_key[0].1.extend(args.from(5).map_while(|a| parse_id_or(a, 0, true)));
        }
        ("xautoclaim", Some(Reply::Array(parts))) => {
            for part in parts.iter().skip(1) {
                if let Reply::Array(items) = part {
                    per_key[0].1.extend(reply_ids(items));
                }
            }
        }
        _ => {}
    }
    let mut lines = Vec::new();
    for (key, ids) in per_key {
        let Ok(Some(s)) = crate::commands::stream::read_stream(ks, key, now_ms) else { continue };
        let Some(g) = s.groups.get(group) else { continue };
        if g.consumers.contains_key(consumer) {
            lines.push(vec![b("XGROUP"), b("CREATECONSUMER"), key.to_vec(), group.to_vec(), consumer.to_vec()]);
        }
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        lines.extend(ids.into_iter().map(|pid| pending_line(key, group, g, pid)));
        lines.push(setid_line(key, group, g));
    }
    Some(lines)
}
