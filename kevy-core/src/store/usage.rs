//! What a key costs in memory, as MEMORY USAGE reports it: the allocator chunks of its
//! record, its value's structures and elements, and its share of the keyspace's tables.
//!
//! Sizes are glibc malloc chunks ([`alloc_cost`]), the allocator kevy-server runs on,
//! so the estimate matches what the key adds to the process. Per-element allocations
//! of a collection are sampled as Redis does (`SAMPLES`, default 5, 0 for all): the
//! average of the first `samples` elements, times the element count. Structures
//! (arrays, bucket tables) are sized exactly from their capacities.

use super::keyspace::Keyspace;
use super::value::ValueRef;

/// Redis's default `SAMPLES` for MEMORY USAGE.
pub const DEFAULT_SAMPLES: usize = 5;

pub use crate::heap_cost::{alloc_cost, hashbrown_bytes, sampled};

/// The heap a value holds beyond its own slot (the `Value` itself lives in the
/// keyspace's object table, counted there).
pub fn value_heap_bytes(value: ValueRef<'_>, samples: usize) -> usize {
    match value {
        ValueRef::Str(s) => alloc_cost(s.len()),
        ValueRef::List(l) => crate::types::list::heap_bytes(l, samples),
        ValueRef::Hash(h) => h.heap_bytes(samples),
        ValueRef::Set(s) => s.heap_bytes(samples),
        ValueRef::ZSet(z) => z.heap_bytes(samples),
        ValueRef::Stream(s) => alloc_cost(std::mem::size_of_val(s)) + s.heap_bytes(samples),
    }
}

/// `total` bytes shared by `parts` items, one item's share (rounded up).
fn share(total: usize, parts: usize) -> usize {
    total.div_ceil(parts.max(1))
}

impl Keyspace {
    /// MEMORY USAGE of `key`: None when it does not exist (expired keys are removed on
    /// the way). Counts no hit or miss, as Redis's lookup for MEMORY does not.
    pub fn memory_usage(&mut self, key: &[u8], now_ms: u64, samples: usize) -> Option<usize> {
        if !self.contains(key, now_ms) {
            return None;
        }
        self.usage_of(key, samples)
    }

    /// What `key` costs, expired or not (None: no such record).
    fn usage_of(&self, key: &[u8], samples: usize) -> Option<usize> {
        let (record, entry) = self.record_of(key)?;
        let (value, has_deadline) = (entry.value, entry.expire_at() != super::NO_EXPIRE);
        let inline = matches!(record.payload(), super::record::Payload::Str(_));
        let mut total = alloc_cost(record.len()) + share(hashbrown_bytes(self.table.capacity(), 16), self.len());
        if !inline {
            let (slots, live) = self.object_slots();
            total += share(slots * std::mem::size_of::<Option<super::Value>>(), live);
            total += value_heap_bytes(value, samples);
        }
        if has_deadline {
            // The key's copy in the volatile list and its share of that list.
            total += alloc_cost(key.len()) + share(self.volatile_capacity() * 16, self.volatile_len());
        }
        Some(total)
    }

    /// The bytes this keyspace's keys cost, estimated from `keys` of them in table
    /// order (hash order: an unbiased sample) times the key count. INFO memory uses
    /// it where no counting allocator runs (kevy inside a host process): bounded work
    /// whatever the keyspace's size.
    pub fn estimated_bytes(&self, keys: usize) -> usize {
        let costs = self.table.iter().filter_map(|r| self.usage_of(r.key(), DEFAULT_SAMPLES));
        sampled(self.len(), keys, costs)
    }

    /// The bytes of the keyspace's own tables (the hash table of records, the object
    /// table, the volatile list): Redis's `overhead.hashtable.main` and `.expires`.
    pub fn table_overhead(&self) -> (usize, usize) {
        let (slots, _) = self.object_slots();
        let main = hashbrown_bytes(self.table.capacity(), 16) + alloc_cost(slots * std::mem::size_of::<Option<super::Value>>());
        (main, alloc_cost(self.volatile_capacity() * 16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Value, NO_EXPIRE};

    #[test]
    fn chunks_follow_glibc() {
        assert_eq!(alloc_cost(0), 0);
        assert_eq!(alloc_cost(1), 32);
        assert_eq!(alloc_cost(24), 32);
        assert_eq!(alloc_cost(25), 48);
        assert_eq!(alloc_cost(100), 112);
        assert_eq!(hashbrown_bytes(0, 16), 0);
        assert_eq!(hashbrown_bytes(3, 16), alloc_cost(4 * 17 + 16));
        assert_eq!(hashbrown_bytes(7, 16), alloc_cost(8 * 17 + 16));
        assert_eq!(hashbrown_bytes(14, 16), alloc_cost(16 * 17 + 16));
    }

    #[test]
    fn samples_scale_to_the_length() {
        assert_eq!(sampled(10, 2, [4, 6, 100].into_iter()), 50);
        assert_eq!(sampled(3, 0, [4, 6, 8].into_iter()), 18);
        assert_eq!(sampled(0, 5, std::iter::empty()), 0);
    }

    #[test]
    fn usage_grows_with_the_value() {
        let mut ks = Keyspace::new();
        assert_eq!(ks.memory_usage(b"nope", 0, 5), None);
        ks.set_string(b"small", b"v", NO_EXPIRE);
        ks.set_string(b"big", &[b'x'; 1000], NO_EXPIRE);
        let small = ks.memory_usage(b"small", 0, 5).unwrap();
        let big = ks.memory_usage(b"big", 0, 5).unwrap();
        assert!((32..100).contains(&small), "{small}");
        // The value, its record, and a young object table shared by one object.
        assert!(big > 1000 && big < 2000, "{big}");
        let list: crate::types::list::List = (0..100).map(|i| format!("element-{i}").into_bytes()).collect();
        ks.insert(b"list", Value::List(list), NO_EXPIRE);
        let l = ks.memory_usage(b"list", 0, 0).unwrap();
        // Packed nodes: at least the elements' bytes, well under a boxed element each.
        assert!(l > 100 * 10 && l < 100 * 32, "{l}");
        ks.set_string(b"ttl", b"v", 10_000);
        assert!(ks.memory_usage(b"ttl", 0, 5).unwrap() > small);
        assert_eq!(ks.memory_usage(b"ttl", 20_000, 5), None, "expired");
        let all = ks.estimated_bytes(0);
        assert_eq!(all, ["small", "big", "list"].iter().map(|k| ks.memory_usage(k.as_bytes(), 0, 5).unwrap()).sum::<usize>());
    }
}
