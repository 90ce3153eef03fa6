//! Reads stream values: RDB types 15 (Redis 5/6), 19 (7.0) and 21 (7.2).

use super::{Reader, Res};
use crate::store::Value;
use crate::types::stream::{listpack, Consumer, Group, Node, Pending, Slot, Stream, StreamId};

impl Reader<'_> {
    fn id_lens(&mut self) -> Res<StreamId> {
        Ok(StreamId::new(self.len()?, self.len()?))
    }
    fn raw_id(&mut self) -> Res<StreamId> {
        match StreamId::from_be_bytes(self.bytes(16)?) {
            Some(id) => Ok(id),
            None => self.fail("bad stream ID"),
        }
    }
    fn ms_time(&mut self) -> Res<u64> {
        Ok(u64::from_le_bytes(self.bytes(8)?.try_into().unwrap_or_default()))
    }
}

/// One node: its listpack decoded into entries (integers checked).
fn node_of(master: StreamId, items: Vec<Vec<u8>>) -> Option<Node> {
    let mut it = items.into_iter();
    let int = |it: &mut std::vec::IntoIter<Vec<u8>>| crate::resp::parser::parse_i64(&it.next()?);
    let (live, deleted, nf) = (int(&mut it)?, int(&mut it)?, int(&mut it)?);
    let master_fields: Vec<Vec<u8>> = (0..nf).map(|_| it.next()).collect::<Option<_>>()?;
    if int(&mut it)? != 0 {
        return None;
    }
    let mut slots = Vec::new();
    for _ in 0..live.checked_add(deleted)? {
        let flags = int(&mut it)?;
        let id = StreamId::new(master.ms.wrapping_add(int(&mut it)? as u64), master.seq.wrapping_add(int(&mut it)? as u64));
        let same = flags & 2 != 0;
        let mut fields = Vec::new();
        if same {
            for f in &master_fields {
                fields.push(f.clone());
                fields.push(it.next()?);
            }
        } else {
            let n = int(&mut it)?;
            for _ in 0..n.checked_mul(2)? {
                fields.push(it.next()?);
            }
        }
        int(&mut it)?; // lp-count
        slots.push(Slot { id, fields, deleted: flags & 1 != 0, same_fields: same });
    }
    if it.next().is_some() || slots.iter().filter(|s| !s.deleted).count() as i64 != live {
        return None;
    }
    let bytes = Stream::node_size(master, &master_fields, &slots);
    Some(Node { master_fields, slots, live: live as usize, bytes })
}

/// Reads a stream of RDB type `ty` (15, 19 or 21).
pub(super) fn read_stream(r: &mut Reader<'_>, ty: u8) -> Res<Value> {
    let mut s = Stream::new();
    let nodes = r.count()?;
    for _ in 0..nodes {
        let key = r.string()?;
        let Some(master) = StreamId::from_be_bytes(&key) else { return r.fail("bad stream node key") };
        let at = r.pos;
        let lp = r.string()?;
        let node = listpack::decode(&lp).and_then(|items| node_of(master, items));
        let Some(node) = node else { return Err(super::RdbError { offset: at, message: "corrupt stream listpack".into() }) };
        if node.live > 0 {
            s.push_loaded_node(master, node);
        }
    }
    let length = r.len()?;
    if length != s.len() {
        return r.fail("stream length does not match its entries");
    }
    s.last_id = r.id_lens()?;
    s.first_id = s.first_entry().map_or(StreamId::ZERO, |e| e.0);
    if ty >= 19 {
        s.first_id = r.id_lens()?;
        s.max_deleted_id = r.id_lens()?;
        s.entries_added = r.len()?;
    } else {
        s.entries_added = s.len();
    }
    let groups = r.count()?;
    for _ in 0..groups {
        let name = r.string()?;
        let last_id = r.id_lens()?;
        let entries_read = if ty >= 19 { r.len()? as i64 } else { s.estimate_entries_read(last_id).map_or(-1, |n| n as i64) };
        let mut g = Group::new(last_id, entries_read);
        let pel = r.count()?;
        for _ in 0..pel {
            let id = r.raw_id()?;
            let delivery_time = r.ms_time()?;
            let delivery_count = r.len()?;
            g.pel.insert(id, Pending { consumer: Vec::new(), delivery_time, delivery_count });
        }
        let consumers = r.count()?;
        for _ in 0..consumers {
            let cname = r.string()?;
            let seen_time = r.ms_time()?;
            if ty >= 21 {
                r.ms_time()?; // active-time (7.2), not kept
            }
            let mut c = Consumer { seen_time, ..Consumer::default() };
            let n = r.count()?;
            for _ in 0..n {
                let id = r.raw_id()?;
                match g.pel.get_mut(&id) {
                    Some(p) => p.consumer = cname.clone(),
                    None => return r.fail("consumer pending entry not in the group"),
                }
                c.pending.insert(id);
            }
            g.consumers.insert(cname, c);
        }
        g.pel.retain(|_, p| !p.consumer.is_empty());
        s.groups.insert(name, g);
    }
    Ok(Value::Stream(Box::new(s)))
}
