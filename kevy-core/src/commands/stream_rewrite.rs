//! The commands that rebuild a stream (AOF rewrite, multi-shard writes logged as
//! per-key states), as Redis's `rewriteStreamObject` writes them: XADD with explicit
//! IDs, XSETID with the bookkeeping, then each group (XGROUP CREATE ... ENTRIESREAD),
//! its pending entries (XCLAIM ... FORCE JUSTID with the delivery time and count) and
//! its consumers without pending entries (XGROUP CREATECONSUMER).
//!
//! Approximation: a consumer's seen-time becomes the replay time, and pending entries
//! whose stream entry was deleted are not rebuilt (XCLAIM drops those).

use crate::types::stream::{Stream, StreamId};

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
