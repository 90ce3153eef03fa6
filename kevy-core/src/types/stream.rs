//! Streams: entries ordered by ID, plus consumer groups (`stream/group.rs`).
//!
//! Entries live in nodes of at most 100 entries, kept in a `BTreeMap` by the ID of
//! their first entry, the way Redis keeps listpacks in a radix tree. A node closes
//! when it holds 100 entries (deleted ones included) or when its listpack would reach
//! 4096 bytes (sizes are computed as Redis encodes them). Deleting marks an entry
//! deleted in its node; a node with no live entry left is dropped. Keeping Redis's
//! node boundaries makes approximate trimming (`MAXLEN ~`), which drops whole nodes
//! only, remove exactly what Redis removes, and lets snapshots write Redis's layout.
//!
//! Cost: adding is O(log n) (amortised O(1) at the tail); finding an ID is
//! O(log n + 100); a range of k entries costs O(log n + 100 + k); trimming costs the
//! entries removed plus the nodes dropped.

pub mod group;
pub mod id;
pub mod listpack;

use std::collections::BTreeMap;

pub use group::{Consumer, Group, Pending};
pub use id::StreamId;
use listpack::{elem_size, Elem};

/// Redis's `stream-node-max-entries` and `stream-node-max-bytes` defaults.
pub const NODE_MAX_ENTRIES: usize = 100;
pub const NODE_MAX_BYTES: usize = 4096;

/// One entry of a node: its ID, its fields and values (flat), whether deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub id: StreamId,
    pub fields: Vec<Vec<u8>>,
    pub deleted: bool,
    /// Whether its field names equal the node's master fields.
    pub same_fields: bool,
}

/// A run of entries, as one Redis listpack.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The field names of the node's first entry (Redis's master entry).
    pub master_fields: Vec<Vec<u8>>,
    pub slots: Vec<Slot>,
    pub live: usize,
    /// The size Redis's listpack for this node has.
    pub bytes: usize,
}

impl Node {
    fn deleted(&self) -> usize {
        self.slots.len() - self.live
    }
}

/// How to trim: keep at most `MaxLen` entries, or drop entries below `MinId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimTo {
    MaxLen(u64),
    MinId(StreamId),
}

/// A trim request: the strategy, `~` (whole nodes only), and the most entries to
/// remove (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trim {
    pub to: TrimTo,
    pub approx: bool,
    pub limit: u64,
}

/// Why an XADD could not add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddError {
    /// The ID is not above the last one.
    NotGreater,
    /// The last possible ID was used.
    Exhausted,
}

/// A stream value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    len: u64,
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty), as Redis records it.
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Vec<u8>, Group>,
}

/// An entry as reads return it.
pub type EntryRef<'a> = (StreamId, &'a [Vec<u8>]);

impl Stream {
    pub fn new() -> Self {
        Stream::default()
    }
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The number of nodes (Redis's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    pub fn nodes(&self) -> impl Iterator<Item = (&StreamId, &Node)> {
        self.nodes.iter()
    }

    /// The ID XADD would give: `ms`/`seq` as parsed (`seq` None for `ms-*`), or the
    /// next one after the last ID at `now_ms` for `*`.
    pub fn next_id(&self, given: Option<(u64, Option<u64>)>, now_ms: u64) -> Result<StreamId, AddError> {
        if self.last_id == StreamId::MAX {
            return Err(AddError::Exhausted);
        }
        let id = match given {
            Some((ms, Some(seq))) => StreamId::new(ms, seq),
            Some((ms, None)) if ms == self.last_id.ms => {
                if self.last_id.seq == u64::MAX {
                    return Err(AddError::NotGreater);
                }
                StreamId::new(ms, self.last_id.seq + 1)
            }
            Some((ms, None)) => StreamId::new(ms, 0),
            None if now_ms > self.last_id.ms => StreamId::new(now_ms, 0),
            None => self.last_id.next().ok_or(AddError::Exhausted)?,
        };
        if id <= self.last_id {
            return Err(AddError::NotGreater);
        }
        Ok(id)
    }

    /// Appends an entry with `id` (above the last ID: see [`Stream::next_id`]).
    pub fn push(&mut self, id: StreamId, fields: Vec<Vec<u8>>) {
        let total: usize = fields.iter().map(Vec::len).sum();
        let names = || fields.iter().step_by(2);
        let fresh = match self.nodes.iter().next_back() {
            None => true,
            Some((_, n)) => n.bytes + total >= NODE_MAX_BYTES || n.slots.len() >= NODE_MAX_ENTRIES,
        };
        if fresh {
            let master: Vec<Vec<u8>> = names().cloned().collect();
            let bytes = listpack::EMPTY_SIZE
                + elem_size(Elem::Int(1))
                + elem_size(Elem::Int(0))
                + elem_size(Elem::Int(master.len() as i64))
                + master.iter().map(|f| elem_size(Elem::Str(f))).sum::<usize>()
                + elem_size(Elem::Int(0));
            self.nodes.insert(id, Node { master_fields: master, slots: Vec::new(), live: 0, bytes });
        }
        let Some((master_id, node)) = self.nodes.iter_mut().next_back() else { return };
        let same = node.master_fields.len() * 2 == fields.len() && names().zip(&node.master_fields).all(|(a, b)| a == b);
        node.bytes += slot_size(*master_id, id, &fields, same);
        node.slots.push(Slot { id, fields, deleted: false, same_fields: same });
        node.live += 1;
        self.len += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.len == 1 {
            self.first_id = id;
        }
    }

    /// The node holding `id`, if any: its key.
    fn node_key_of(&self, id: StreamId) -> Option<StreamId> {
        self.nodes.range(..=id).next_back().map(|(k, _)| *k)
    }

    /// Is there a live entry `id`?
    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The fields of live entry `id`.
    pub fn get(&self, id: StreamId) -> Option<&[Vec<u8>]> {
        let node = &self.nodes[&self.node_key_of(id)?];
        let i = node.slots.binary_search_by(|s| s.id.cmp(&id)).ok()?;
        let s = &node.slots[i];
        (!s.deleted).then_some(s.fields.as_slice())
    }

    /// Live entries from `start` on, in ID order.
    pub fn iter_from(&self, start: StreamId) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        let from = self.node_key_of(start).unwrap_or(start);
        self.nodes
            .range(from..)
            .flat_map(|(_, n)| n.slots.iter())
            .filter(move |s| !s.deleted && s.id >= start)
            .map(|s| (s.id, s.fields.as_slice()))
    }

    /// Live entries at or below `end`, newest first.
    pub fn iter_rev_from(&self, end: StreamId) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        self.nodes
            .range(..=end)
            .rev()
            .flat_map(|(_, n)| n.slots.iter().rev())
            .filter(move |s| !s.deleted && s.id <= end)
            .map(|s| (s.id, s.fields.as_slice()))
    }

    /// Live entries in `start..=end`, at most `count` (0: all), forward or reversed.
    pub fn range(&self, start: StreamId, end: StreamId, count: usize, rev: bool) -> Vec<EntryRef<'_>> {
        let limit = if count == 0 { usize::MAX } else { count };
        if start > end {
            return Vec::new();
        }
        if rev {
            self.iter_rev_from(end).take_while(|(id, _)| *id >= start).take(limit).collect()
        } else {
            self.iter_from(start).take_while(|(id, _)| *id <= end).take(limit).collect()
        }
    }

    pub fn first_entry(&self) -> Option<EntryRef<'_>> {
        self.iter_from(StreamId::ZERO).next()
    }
    pub fn last_entry(&self) -> Option<EntryRef<'_>> {
        self.iter_rev_from(StreamId::MAX).next()
    }

    /// Deletes live entry `id` (XDEL): true if it was there. Keeps `first_id` and
    /// `max_deleted_id` as Redis does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(key) = self.node_key_of(id) else { return false };
        let Some(node) = self.nodes.get_mut(&key) else { return false };
        let Ok(i) = node.slots.binary_search_by(|s| s.id.cmp(&id)) else { return false };
        if node.slots[i].deleted {
            return false;
        }
        if node.live == 1 {
            self.nodes.remove(&key);
        } else {
            node.slots[i].deleted = true;
            node.live -= 1;
        }
        self.len -= 1;
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        if self.len == 0 {
            self.first_id = StreamId::ZERO;
        } else if id == self.first_id {
            self.first_id = self.first_entry().map_or(StreamId::ZERO, |e| e.0);
        }
        true
    }

    /// Trims as XADD/XTRIM do; returns the number of entries removed.
    pub fn trim(&mut self, t: Trim) -> u64 {
        let mut removed = 0u64;
        while let Some((&key, node)) = self.nodes.iter().next() {
            if let TrimTo::MaxLen(max) = t.to {
                if self.len <= max {
                    break;
                }
            }
            let live = node.live as u64;
            if t.limit != 0 && removed + live > t.limit {
                break;
            }
            let whole = match t.to {
                TrimTo::MaxLen(max) => self.len - live >= max,
                TrimTo::MinId(min) => node.slots.last().is_some_and(|s| s.id < min),
            };
            if whole {
                self.nodes.remove(&key);
                self.len -= live;
                removed += live;
                continue;
            }
            if t.approx {
                break;
            }
            removed += self.trim_inside(key, t.to);
            break;
        }
        self.first_id = self.first_entry().map_or(StreamId::ZERO, |e| e.0);
        removed
    }

    /// Exact trimming inside the first node: marks entries deleted.
    fn trim_inside(&mut self, key: StreamId, to: TrimTo) -> u64 {
        let Some(node) = self.nodes.get_mut(&key) else { return 0 };
        let mut removed = 0;
        for s in node.slots.iter_mut() {
            let stop = match to {
                TrimTo::MaxLen(max) => self.len <= max,
                TrimTo::MinId(min) => s.id >= min,
            };
            if stop {
                break;
            }
            if !s.deleted {
                s.deleted = true;
                node.live -= 1;
                self.len -= 1;
                removed += 1;
            }
        }
        removed
    }

    /// Redis's `radix-tree-nodes`: the nodes of a radix tree over the 16-byte keys.
    pub fn radix_tree_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.to_be_bytes()).collect();
        if keys.is_empty() {
            return 1;
        }
        rax_nodes(&keys, 0)
    }

    /// Is there a deleted entry at or after `from`? (Redis's
    /// `streamRangeHasTombstones` with no end.)
    pub fn has_tombstones_from(&self, from: StreamId) -> bool {
        if self.len == 0 || self.max_deleted_id.is_zero() || self.first_id > self.max_deleted_id {
            return false;
        }
        from <= self.max_deleted_id
    }

    /// The number of entries added before and including `id` when it can be known
    /// (Redis's `streamEstimateDistanceFromFirstEverEntry`); None otherwise.
    pub fn estimate_entries_read(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.len == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.len);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.len + 1);
            }
        }
        None
    }

    /// Appends a node as read from a snapshot (entries in ID order, some deleted).
    pub fn push_loaded_node(&mut self, key: StreamId, node: Node) {
        self.len += node.live as u64;
        self.nodes.insert(key, node);
    }

    /// Recomputes a loaded node's listpack size.
    pub fn node_size(master: StreamId, master_fields: &[Vec<u8>], slots: &[Slot]) -> usize {
        listpack::EMPTY_SIZE
            + elem_size(Elem::Int((slots.len() - slots.iter().filter(|s| s.deleted).count()) as i64))
            + elem_size(Elem::Int(slots.iter().filter(|s| s.deleted).count() as i64))
            + elem_size(Elem::Int(master_fields.len() as i64))
            + master_fields.iter().map(|f| elem_size(Elem::Str(f))).sum::<usize>()
            + elem_size(Elem::Int(0))
            + slots.iter().map(|s| slot_size(master, s.id, &s.fields, s.same_fields)).sum::<usize>()
    }

    /// The listpack elements of a node, as Redis lays them out.
    pub fn node_elems(master: StreamId, node: &Node) -> Vec<Elem<'_>> {
        let mut v = vec![
            Elem::Int(node.live as i64),
            Elem::Int(node.deleted() as i64),
            Elem::Int(node.master_fields.len() as i64),
        ];
        v.extend(node.master_fields.iter().map(|f| Elem::Str(f)));
        v.push(Elem::Int(0));
        for s in &node.slots {
            let flags = (s.deleted as i64) | if s.same_fields { 2 } else { 0 };
            v.push(Elem::Int(flags));
            v.push(Elem::Int(s.id.ms.wrapping_sub(master.ms) as i64));
            v.push(Elem::Int(s.id.seq.wrapping_sub(master.seq) as i64));
            let n = s.fields.len() / 2;
            if s.same_fields {
                v.extend(s.fields.iter().skip(1).step_by(2).map(|x| Elem::Str(x)));
                v.push(Elem::Int(n as i64 + 3));
            } else {
                v.push(Elem::Int(n as i64));
                v.extend(s.fields.iter().map(|x| Elem::Str(x)));
                v.push(Elem::Int(2 * n as i64 + 4));
            }
        }
        v
    }
}

/// Listpack bytes of one entry in a node whose master ID is `master`.
fn slot_size(master: StreamId, id: StreamId, fields: &[Vec<u8>], same: bool) -> usize {
    let n = fields.len() / 2;
    let mut size = elem_size(Elem::Int(if same { 2 } else { 0 }))
        + elem_size(Elem::Int(id.ms.wrapping_sub(master.ms) as i64))
        + elem_size(Elem::Int(id.seq.wrapping_sub(master.seq) as i64));
    if same {
        size += fields.iter().skip(1).step_by(2).map(|v| elem_size(Elem::Str(v))).sum::<usize>();
        size += elem_size(Elem::Int(n as i64 + 3));
    } else {
        size += elem_size(Elem::Int(n as i64));
        size += fields.iter().map(|v| elem_size(Elem::Str(v))).sum::<usize>();
        size += elem_size(Elem::Int(2 * n as i64 + 4));
    }
    size
}

/// Radix-tree nodes for sorted, distinct, equal-length `keys` sharing their first
/// `depth` bytes: this node (compressed down to the next branch) and what is below.
fn rax_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    if keys.len() == 1 {
        return if depth == 16 { 1 } else { 2 };
    }
    let first = &keys[0];
    let last = &keys[keys.len() - 1];
    let common = (depth..16).take_while(|&i| first[i] == last[i]).count() + depth;
    let branch = {
        let mut count = 1;
        let mut i = 0;
        while i < keys.len() {
            let b = keys[i][common];
            let j = i + keys[i..].iter().take_while(|k| k[common] == b).count();
            count += rax_nodes(&keys[i..j], common + 1);
            i = j;
        }
        count
    };
    if common > depth {
        1 + branch
    } else {
        branch
    }
}

impl Stream {
    /// The heap this stream holds (MEMORY USAGE), nodes sampled: a node's B-tree
    /// slot (about a third more than its key and value, for the tree's fill), its
    /// entry array and each entry's fields; consumer groups with their pending entries.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::heap_cost::{alloc_cost, sampled};
        let strings = |v: &Vec<Vec<u8>>| alloc_cost(v.capacity() * 24) + v.iter().map(|f| alloc_cost(f.capacity())).sum::<usize>();
        let node_slot = std::mem::size_of::<(StreamId, Node)>() * 4 / 3;
        let node = |n: &Node| {
            let slots = alloc_cost(n.slots.capacity() * std::mem::size_of::<Slot>());
            node_slot + strings(&n.master_fields) + slots + n.slots.iter().map(|s| strings(&s.fields)).sum::<usize>()
        };
        let pending_slot = std::mem::size_of::<(StreamId, group::Pending)>() * 4 / 3;
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                let pel: usize = g.pel.values().map(|p| pending_slot + alloc_cost(p.consumer.capacity()) + 24).sum();
                let consumers: usize = g.consumers.keys().map(|c| alloc_cost(c.capacity()) + 96).sum();
                alloc_cost(name.capacity()) + std::mem::size_of::<Group>() + pel + consumers
            })
            .sum();
        sampled(self.nodes.len(), samples, self.nodes.values().map(node)) + groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fv(f: &str, v: &str) -> Vec<Vec<u8>> {
        vec![f.as_bytes().to_vec(), v.as_bytes().to_vec()]
    }

    #[test]
    fn adds_ranges_and_deletes() {
        let mut s = Stream::new();
        for i in 1..=250u64 {
            let id = s.next_id(Some((i, Some(0))), 0).unwrap();
            s.push(id, fv("f", "v"));
        }
        assert_eq!(s.len(), 250);
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.range(StreamId::new(99, 0), StreamId::new(102, 0), 0, false).len(), 4);
        assert_eq!(s.range(StreamId::ZERO, StreamId::MAX, 2, true)[0].0, StreamId::new(250, 0));
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted_id, StreamId::new(1, 0));
        assert_eq!(s.next_id(Some((250, Some(0))), 0), Err(AddError::NotGreater));
        assert_eq!(s.next_id(Some((250, None)), 0), Ok(StreamId::new(250, 1)));
        assert_eq!(s.next_id(None, 7), Ok(StreamId::new(250, 1)));
    }

    #[test]
    fn approximate_trim_drops_whole_nodes() {
        let mut s = Stream::new();
        for i in 1..=250u64 {
            s.push(StreamId::new(i, 0), fv("f", "v"));
        }
        let t = Trim { to: TrimTo::MaxLen(120), approx: true, limit: 0 };
        assert_eq!(s.trim(t), 100);
        assert_eq!(s.len(), 150);
        let t = Trim { to: TrimTo::MaxLen(120), approx: false, limit: 0 };
        assert_eq!(s.trim(t), 30);
        assert_eq!(s.first_id, StreamId::new(131, 0));
    }

    #[test]
    fn radix_nodes() {
        let mut s = Stream::new();
        assert_eq!(s.radix_tree_nodes(), 1);
        s.push(StreamId::new(1, 0), fv("f", "v"));
        assert_eq!(s.radix_tree_nodes(), 2);
    }
}
