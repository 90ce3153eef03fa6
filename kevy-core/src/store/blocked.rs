//! The registry of clients blocked on keys (BLPOP, BLMOVE, XREAD BLOCK...) that each
//! keyspace holds: FIFO waiters per key, each sharing a [`Ticket`] with the other keys
//! its command watches, so exactly one registration serves it. Plain data: a waiter
//! names its connection ([`ConnRef`]) and its command (by name); `shard::blocking`
//! registers, serves and times them out.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use super::routing::{shard_of, ShardId};
use crate::resp::OwnedArgs;

/// Names a connection on its home shard: slab slot plus generation, so a reply for a
/// connection that closed (and whose slot was reused) is recognised and dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnRef {
    pub slot: u32,
    pub generation: u32,
}

const WAITING: u8 = 0;
const CLAIMED: u8 = 1;
const DONE: u8 = 2;

/// "Block until served" in [`Ticket`] deadlines.
pub const FOREVER: u64 = u64::MAX;

/// The shared fate of one blocked command: waiting, being served, or done (served,
/// timed out, or its client left).
#[derive(Debug)]
pub struct Ticket {
    state: AtomicU8,
    deadline_ms: AtomicU64,
}

impl Default for Ticket {
    fn default() -> Self {
        Ticket { state: AtomicU8::new(WAITING), deadline_ms: AtomicU64::new(FOREVER) }
    }
}

impl Ticket {
    /// Takes the right to serve this command. False if someone else has it or it ended.
    pub fn claim(&self) -> bool {
        self.state.compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
    /// After a claim: the command was served.
    pub fn finish(&self) {
        self.state.store(DONE, Ordering::Release);
    }
    /// After a claim: the command could not be served after all; it waits on.
    pub fn release(&self) {
        self.state.store(WAITING, Ordering::Release);
    }
    /// Ends the wait (timeout, disconnect). False when a server got there first.
    pub fn cancel(&self) -> bool {
        self.state.compare_exchange(WAITING, DONE, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
    pub fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }
    pub fn deadline(&self) -> u64 {
        self.deadline_ms.load(Ordering::Acquire)
    }
    pub fn set_deadline(&self, at: u64) {
        self.deadline_ms.store(at, Ordering::Release);
    }
}

/// One blocked command queued under one key.
pub struct Waiter {
    pub ticket: Arc<Ticket>,
    pub home: ShardId,
    pub conn: ConnRef,
    pub seq: u64,
    pub resp3: bool,
    /// The command to re-run when serving it, by its full name (the shard looks its
    /// row up again: the registry stays plain data below the command table).
    pub cmd: &'static str,
    pub args: OwnedArgs,
    /// Other keys serving touches (BLMOVE's destination).
    pub extra: Vec<Vec<u8>>,
}

/// The waiters of one keyspace, by key.
#[derive(Default)]
pub struct BlockedKeys {
    queues: HashMap<Box<[u8]>, VecDeque<Arc<Waiter>>>,
    /// Keys whose first waiter needs another shard locked to be served.
    pub deferred: Vec<Vec<u8>>,
}

impl BlockedKeys {
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.deferred.is_empty()
    }
    pub fn has(&self, key: &[u8]) -> bool {
        self.queues.contains_key(key)
    }
    /// The first waiter of `key` whose command has not ended (stale ones are dropped).
    pub fn front(&mut self, key: &[u8]) -> Option<Arc<Waiter>> {
        let q = self.queues.get_mut(key)?;
        while q.front().is_some_and(|w| w.ticket.is_done()) {
            q.pop_front();
        }
        let front = q.front().cloned();
        if front.is_none() {
            self.queues.remove(key);
        }
        front
    }
    /// Drops the first waiter of `key`.
    pub fn pop_front(&mut self, key: &[u8]) {
        if let Some(q) = self.queues.get_mut(key) {
            q.pop_front();
            if q.is_empty() {
                self.queues.remove(key);
            }
        }
    }
    /// Queues `waiter` under `key`, once per ticket.
    pub fn push(&mut self, key: &[u8], waiter: &Arc<Waiter>) {
        let q = self.queues.entry(key.into()).or_default();
        if !q.iter().any(|w| Arc::ptr_eq(&w.ticket, &waiter.ticket)) {
            q.push_back(Arc::clone(waiter));
        }
    }
    /// The shards whose locks serving the first live waiter of `key` needs (besides
    /// the key's own). None when nobody waits on it any more.
    pub fn shards_to_serve(&mut self, key: &[u8], shards: usize) -> Option<Vec<ShardId>> {
        let w = self.front(key)?;
        Some(w.extra.iter().map(|k| shard_of(k, shards)).collect())
    }

    /// Drops registrations whose command has ended.
    pub fn sweep(&mut self) {
        self.queues.retain(|_, q| {
            q.retain(|w| !w.ticket.is_done());
            !q.is_empty()
        });
    }
    /// Number of keys with waiters.
    pub fn keys(&self) -> usize {
        self.queues.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_serve_once() {
        let t = Ticket::default();
        assert!(t.claim());
        assert!(!t.claim());
        assert!(!t.cancel());
        t.release();
        assert!(t.cancel());
        assert!(!t.claim());
        assert!(t.is_done());
    }
}
