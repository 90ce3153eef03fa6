//! Consumer groups: the last delivered ID, the pending entries list (PEL) and the
//! consumers, each with the IDs delivered to it and not yet acknowledged.
//!
//! The group PEL is a `BTreeMap` by ID (O(log n) per change, ranges in order); each
//! consumer keeps a `BTreeSet` of its own pending IDs, so per-consumer listings
//! (XPENDING ... consumer, XINFO) do not scan the whole group.

use std::collections::{BTreeMap, BTreeSet};

use super::StreamId;

/// An entry delivered and not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub consumer: Vec<u8>,
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consumer {
    /// Unix ms of its last read or claim attempt.
    pub seen_time: u64,
    pub pending: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries the group has read (Redis's `entries_read`); -1 when unknown.
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Pending>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group { last_id, entries_read, ..Group::default() }
    }

    /// The consumer `name`, created if missing (its `seen_time` set to `now_ms` then).
    /// Returns whether it was created.
    pub fn consumer(&mut self, name: &[u8], now_ms: u64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let c = self.consumers.entry(name.to_vec()).or_insert_with(|| Consumer { seen_time: now_ms, pending: BTreeSet::new() });
        (c, created)
    }

    /// Records a delivery of `id` to `consumer` (which must exist): a new PEL entry,
    /// or an existing one moved to the consumer with its time and count updated.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now_ms: u64, bump: bool) {
        match self.pel.get_mut(&id) {
            Some(p) => {
                if p.consumer != consumer {
                    if let Some(old) = self.consumers.get_mut(&p.consumer) {
                        old.pending.remove(&id);
                    }
                    p.consumer = consumer.to_vec();
                }
                p.delivery_time = now_ms;
                if bump {
                    p.delivery_count += 1;
                }
            }
            None => {
                self.pel.insert(id, Pending { consumer: consumer.to_vec(), delivery_time: now_ms, delivery_count: 1 });
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pending.insert(id);
        }
    }

    /// Acknowledges `id`: true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(p) = self.pel.remove(&id) else { return false };
        if let Some(c) = self.consumers.get_mut(&p.consumer) {
            c.pending.remove(&id);
        }
        true
    }

    /// Removes a consumer and its pending entries; returns how many it had.
    pub fn remove_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pending {
            self.pel.remove(id);
        }
        Some(c.pending.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliver_move_ack() {
        let mut g = Group::new(StreamId::ZERO, 0);
        g.consumer(b"a", 1);
        g.consumer(b"b", 1);
        let id = StreamId::new(1, 0);
        g.deliver(id, b"a", 5, true);
        g.deliver(id, b"b", 6, true);
        assert_eq!(g.pel[&id].delivery_count, 2);
        assert!(g.consumers[b"a".as_slice()].pending.is_empty());
        assert!(g.consumers[b"b".as_slice()].pending.contains(&id));
        assert!(g.ack(id));
        assert!(!g.ack(id));
        assert_eq!(g.remove_consumer(b"b"), Some(0));
    }
}
