//! Pub/sub across shards.
//!
//! A subscriber stays on the shard that accepted its connection. Each shard keeps, in
//! its `Local` table, which of its connections listen to which channel or pattern; the
//! server-wide [`Registry`] keeps only counts per shard, so PUBLISH knows the number of
//! receivers and which shards to send to without touching any connection. A message
//! travels to each of those shards through their host inbox (an MPSC queue), so the
//! messages of one publisher reach every shard in publish order; the shard's loop then
//! writes it to its subscribers (`deliver`).
//!
//! The registry is read-mostly (changed only by (un)subscribes) and never held across
//! I/O, as the design asks of shared state.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::mailbox::Msg;
use crate::store::blocked::ConnRef;
use crate::store::routing::ShardId;
use super::Shared;
use crate::commands::client::{Kind, Subscriptions};
use crate::glob;

/// Subscriber counts per shard, by channel and by pattern.
pub struct Registry {
    shards: usize,
    by_kind: [RwLock<HashMap<Vec<u8>, Vec<u32>>>; 3],
}

impl Registry {
    pub fn new(shards: usize) -> Self {
        Registry { shards, by_kind: Default::default() }
    }

    fn table(&self, kind: Kind) -> &RwLock<HashMap<Vec<u8>, Vec<u32>>> {
        &self.by_kind[kind.idx()]
    }

    /// One more subscriber to `name` on `shard`.
    pub fn add(&self, kind: Kind, name: &[u8], shard: ShardId) {
        let mut t = self.table(kind).write().unwrap_or_else(|e| e.into_inner());
        t.entry(name.to_vec()).or_insert_with(|| vec![0; self.shards])[shard] += 1;
    }

    /// One subscriber fewer.
    pub fn remove(&self, kind: Kind, name: &[u8], shard: ShardId) {
        let mut t = self.table(kind).write().unwrap_or_else(|e| e.into_inner());
        if let Some(counts) = t.get_mut(name) {
            counts[shard] = counts[shard].saturating_sub(1);
            if counts.iter().all(|&c| c == 0) {
                t.remove(name);
            }
        }
    }

    /// Receivers of a message on `channel` and the shards that have some. For a shard
    /// channel only its subscribers count; for a channel, matching patterns too.
    pub fn targets(&self, kind: Kind, channel: &[u8]) -> (i64, Vec<ShardId>) {
        let mut per_shard = vec![0u32; self.shards];
        if let Some(c) = self.table(kind).read().unwrap_or_else(|e| e.into_inner()).get(channel) {
            per_shard.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        }
        if kind == Kind::Channel {
            let patterns = self.table(Kind::Pattern).read().unwrap_or_else(|e| e.into_inner());
            for (p, c) in patterns.iter() {
                if glob::matches(p, channel, false) {
                    per_shard.iter_mut().zip(c).for_each(|(a, b)| *a += b);
                }
            }
        }
        let total = per_shard.iter().map(|&c| c as i64).sum();
        (total, (0..self.shards).filter(|&s| per_shard[s] > 0).collect())
    }

    /// Names with subscribers, matching `pattern` when given (PUBSUB CHANNELS).
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let t = self.table(kind).read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<Vec<u8>> = t.keys().filter(|n| pattern.is_none_or(|p| glob::matches(p, n, false))).cloned().collect();
        v.sort();
        v
    }

    /// Subscribers of one name (PUBSUB NUMSUB).
    pub fn count(&self, kind: Kind, name: &[u8]) -> i64 {
        let t = self.table(kind).read().unwrap_or_else(|e| e.into_inner());
        t.get(name).map_or(0, |c| c.iter().map(|&n| n as i64).sum())
    }

    /// Distinct patterns with subscribers (PUBSUB NUMPAT).
    pub fn patterns(&self) -> i64 {
        self.table(Kind::Pattern).read().unwrap_or_else(|e| e.into_inner()).len() as i64
    }
}

/// One shard's subscribers: which of its connections listen to what.
#[derive(Default)]
pub struct Local {
    by_kind: [HashMap<Vec<u8>, Vec<ConnRef>>; 3],
}

impl Local {
    pub fn add(&mut self, kind: Kind, name: &[u8], conn: ConnRef) {
        self.by_kind[kind.idx()].entry(name.to_vec()).or_default().push(conn);
    }
    pub fn remove(&mut self, kind: Kind, name: &[u8], conn: ConnRef) {
        let t = &mut self.by_kind[kind.idx()];
        if let Some(v) = t.get_mut(name) {
            v.retain(|c| *c != conn);
            if v.is_empty() {
                t.remove(name);
            }
        }
    }
}

/// A published message, on its way to the shards that have subscribers.
pub struct Publication {
    pub kind: Kind,
    pub channel: Vec<u8>,
    pub message: Vec<u8>,
}

/// Records a subscription of the connection `conn` of shard `shard`.
pub fn subscribe(shared: &Shared, shard: ShardId, kind: Kind, name: &[u8], conn: ConnRef) {
    shared.shards[shard].subscribers.lock().unwrap_or_else(|e| e.into_inner()).add(kind, name, conn);
    shared.pubsub.add(kind, name, shard);
}

/// Drops a subscription.
pub fn unsubscribe(shared: &Shared, shard: ShardId, kind: Kind, name: &[u8], conn: ConnRef) {
    shared.shards[shard].subscribers.lock().unwrap_or_else(|e| e.into_inner()).remove(kind, name, conn);
    shared.pubsub.remove(kind, name, shard);
}

/// Drops every subscription of a closing connection.
pub fn forget(shared: &Shared, shard: ShardId, subs: &Subscriptions, conn: ConnRef) {
    for (kind, set) in [(Kind::Channel, &subs.channels), (Kind::Pattern, &subs.patterns), (Kind::Shard, &subs.shard_channels)] {
        for name in set {
            unsubscribe(shared, shard, kind, name, conn);
        }
    }
}

/// PUBLISH / SPUBLISH: sends the message to every shard with receivers; returns their
/// number.
pub fn publish(shared: &Shared, kind: Kind, channel: &[u8], message: &[u8]) -> i64 {
    let (receivers, shards) = shared.pubsub.targets(kind, channel);
    if shards.is_empty() {
        return 0;
    }
    let p = Arc::new(Publication { kind, channel: channel.to_vec(), message: message.to_vec() });
    for s in shards {
        shared.rings.push_host(s, Msg::Publish(Arc::clone(&p)));
        shared.shards[s].waker.wake_if_parked();
    }
    receivers
}

/// The frames a shard writes for a publication: (connection, encoded frame) for every
/// local subscriber, patterns included. `resp3_of` tells each connection's protocol.
pub fn frames(shared: &Shared, shard: ShardId, p: &Publication, mut emit: impl FnMut(ConnRef, &dyn Fn(bool) -> Vec<u8>)) {
    let local = shared.shards[shard].subscribers.lock().unwrap_or_else(|e| e.into_inner());
    let direct = if p.kind == Kind::Shard { Kind::Shard } else { Kind::Channel };
    let verb: &[u8] = if p.kind == Kind::Shard { b"smessage" } else { b"message" };
    if let Some(conns) = local.by_kind[direct.idx()].get(&p.channel) {
        let frame = |resp3: bool| encode_push(resp3, &[verb, &p.channel, &p.message]);
        for &c in conns {
            emit(c, &frame);
        }
    }
    if p.kind == Kind::Channel {
        for (pattern, conns) in &local.by_kind[Kind::Pattern.idx()] {
            if glob::matches(pattern, &p.channel, false) {
                let frame = |resp3: bool| encode_push(resp3, &[b"pmessage", pattern, &p.channel, &p.message]);
                for &c in conns {
                    emit(c, &frame);
                }
            }
        }
    }
}

/// A push frame (RESP3) or array (RESP2) of bulk strings.
pub fn encode_push(resp3: bool, items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + items.iter().map(|i| i.len() + 16).sum::<usize>());
    let mut w = crate::resp::ReplyWriter::new(&mut out, resp3);
    w.push(items.len());
    for i in items {
        w.bulk(i);
    }
    out
}
