//! One keyspace's registry of watched keys (WATCH): who watches which key, and the
//! flag each watcher's EXEC checks. The WATCH/EXEC logic is shard::watch's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set when a key one connection watches changed.
#[derive(Debug, Default)]
pub struct WatchFlag(AtomicBool);

impl WatchFlag {
    /// Marks the watch broken (EXEC will fail).
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// One keyspace's watched keys and who watches them.
#[derive(Default)]
pub struct WatchedKeys {
    by_key: HashMap<Box<[u8]>, Vec<Arc<WatchFlag>>, ahash::RandomState>,
    /// Watched keys a running command took for an in-place change: touched when it
    /// ends, unless it replied with an error (WRONGTYPE, not an integer...).
    pending: Vec<Box<[u8]>>,
}

impl WatchedKeys {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
    /// Number of watched keys.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// A command took `key` for an in-place change; [`settle`](Self::settle) decides.
    pub fn maybe_touch(&mut self, key: &[u8]) {
        if self.by_key.contains_key(key) && !self.pending.iter().any(|k| &**k == key) {
            self.pending.push(key.into());
        }
    }
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
    /// The command that took the pending keys ended: touch them if it `changed` them.
    pub fn settle(&mut self, changed: bool) {
        for key in std::mem::take(&mut self.pending) {
            if changed {
                self.touch(&key);
            }
        }
    }

    /// `key` changed: every watcher's flag is set, and its registrations dropped.
    pub fn touch(&mut self, key: &[u8]) {
        if let Some(flags) = self.by_key.remove(key) {
            flags.iter().for_each(|f| f.set());
        }
    }

    /// The keyspace was flushed: watched keys for which `existed` holds are touched (as
    /// Redis, a flush breaks only the watches of keys that were there).
    pub fn touch_where(&mut self, existed: impl Fn(&[u8]) -> bool) {
        self.by_key.retain(|key, flags| {
            if !existed(key) {
                return true;
            }
            flags.iter().for_each(|f| f.set());
            false
        });
    }

    pub(crate) fn add(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        let flags = self.by_key.entry(key.into()).or_default();
        if !flags.iter().any(|f| Arc::ptr_eq(f, flag)) {
            flags.push(Arc::clone(flag));
        }
    }

    pub(crate) fn remove(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        if let Some(flags) = self.by_key.get_mut(key) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.by_key.remove(key);
            }
        }
    }
}
