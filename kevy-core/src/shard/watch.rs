//! WATCH: optimistic locking for MULTI/EXEC.
//!
//! A watching connection owns one [`WatchFlag`]; each keyspace keeps a registry from
//! watched key to the flags of the connections watching it ([`WatchedKeys`]). The
//! keyspace marks the flags whenever it changes a registered key: a write, a deletion,
//! a deadline change, an expiry (lazy or by the reaper), a flush. EXEC checks the flag
//! under the locks of every watched shard, so check-and-run is atomic.
//!
//! The registry is empty unless someone watches, so the keyspace's write paths pay one
//! `is_empty()` test. A key's registrations are dropped when it is touched (their flags
//! are dirty from then on, nothing more can change for them), and a connection removes
//! its own on EXEC, DISCARD, UNWATCH and disconnect.

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::db::Db;
use crate::store::routing::ShardId;
use super::Shared;
use crate::store::Keyspace;

pub use crate::store::watched::WatchFlag;

/// What one connection watches.
#[derive(Default)]
pub struct Watching {
    pub flag: Arc<WatchFlag>,
    /// Watched keys, with the shard of each.
    keys: HashMap<Box<[u8]>, ShardId, ahash::RandomState>,
}

impl Watching {
    /// Has a watched key changed since WATCH?
    pub fn broken(&self) -> bool {
        self.flag.is_set()
    }

    /// The shards of the watched keys (sorted, distinct).
    pub fn shards(&self) -> Vec<ShardId> {
        let mut ids: Vec<ShardId> = self.keys.values().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Registers `key` in `ks`, its owner (shard `shard`). A key whose deadline has
    /// passed is removed first, so an expiry that happened before WATCH does not count
    /// (Redis 7 likewise ignores keys already expired when watched).
    pub fn add(&mut self, shard: ShardId, ks: &mut Keyspace, key: &[u8], now_ms: u64) {
        if self.keys.contains_key(key) {
            return;
        }
        ks.get(key, now_ms);
        ks.watched.add(key, &self.flag);
        self.keys.insert(key.into(), shard);
    }

    /// At EXEC, with every watched shard locked in `db`: a watched key whose deadline
    /// passed since WATCH breaks the watch (Redis 7), then every registration is
    /// removed. Returns whether the watch held.
    pub fn check_and_forget(&self, db: &mut Db<'_>, now_ms: u64) -> bool {
        settle(db, true);
        for (key, shard) in &self.keys {
            if let Some(ks) = db.shard(*shard) {
                // A due key is removed here, which sets our flag (still registered).
                ks.get(key, now_ms);
            }
        }
        let held = !self.broken();
        for (key, shard) in &self.keys {
            if let Some(ks) = db.shard(*shard) {
                ks.watched.remove(key, &self.flag);
            }
        }
        held
    }

    /// Removes every registration, locking one shard at a time (the caller holds no
    /// keyspace lock).
    pub fn forget(&self, shared: &Shared) {
        for shard in self.shards() {
            let mut ks = shared.lock(shard);
            for (key, s) in &self.keys {
                if *s == shard {
                    ks.watched.remove(key, &self.flag);
                }
            }
        }
    }
}

/// Settles the in-place changes of the command that just ran over `db` (see
/// [`WatchedKeys::settle`]); before a command, `changed: true` settles leftovers of
/// callers that did not settle, on the safe side. No work unless a key is pending.
#[inline]
pub fn settle(db: &mut Db<'_>, changed: bool) {
    if db.any(has_pending) {
        for (_, ks) in db.all() {
            ks.watched.settle(changed);
        }
    }
}


fn has_pending(ks: &Keyspace) -> bool {
    ks.watched.has_pending()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_sets_flags_and_drops_registrations() {
        let mut ks = Keyspace::new();
        let mut w = Watching::default();
        w.add(0, &mut ks, b"k", 0);
        w.add(0, &mut ks, b"k", 0);
        assert_eq!(ks.watched.len(), 1);
        ks.watched.touch(b"other");
        assert!(!w.broken());
        ks.watched.touch(b"k");
        assert!(w.broken());
        assert!(ks.watched.is_empty());
    }

    #[test]
    fn check_and_forget_unregisters() {
        let mut ks = Keyspace::new();
        let mut w = Watching::default();
        w.add(0, &mut ks, b"a", 0);
        w.add(0, &mut ks, b"b", 0);
        assert!(w.check_and_forget(&mut Db::one(0, &mut ks, 1), 0));
        assert!(ks.watched.is_empty());
    }
}
