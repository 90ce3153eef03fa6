//! The keys a command may touch: one shard's keyspace, or several shards' keyspaces
//! locked together for a command whose keys spread over shards. Handlers are written
//! once against [`Db`] and work either way.

use super::routing::{shard_of, ShardId};
use super::Keyspace;

enum Parts<'a> {
    /// The command's keys all live on this shard.
    One(ShardId, &'a mut Keyspace),
    /// Indexed by shard id; `Some` for the shards locked for this command.
    Many(Vec<Option<&'a mut Keyspace>>),
}

/// The keyspaces a command runs against.
pub struct Db<'a> {
    parts: Parts<'a>,
    shards: usize,
}

impl<'a> Db<'a> {
    /// A command whose keys all belong to shard `id`.
    pub fn one(id: ShardId, ks: &'a mut Keyspace, shards: usize) -> Self {
        Db { parts: Parts::One(id, ks), shards }
    }
    /// A command spanning shards: `locked[i]` is shard i's keyspace when locked.
    pub fn many(locked: Vec<Option<&'a mut Keyspace>>) -> Self {
        let shards = locked.len();
        Db { parts: Parts::Many(locked), shards }
    }
    /// The same keyspaces, borrowed again for a shorter time (to run a nested command).
    pub fn reborrow(&mut self) -> Db<'_> {
        let parts = match &mut self.parts {
            Parts::One(id, ks) => Parts::One(*id, ks),
            Parts::Many(v) => Parts::Many(v.iter_mut().map(|k| k.as_deref_mut()).collect()),
        };
        Db { parts, shards: self.shards }
    }

    /// These keyspaces and those of `extra` (locks a script took while it ran).
    pub fn grown<'b>(&'b mut self, extra: &'b mut [(ShardId, std::sync::MutexGuard<'_, Keyspace>)]) -> Db<'b> {
        let mut parts: Vec<Option<&mut Keyspace>> = match &mut self.parts {
            Parts::One(id, ks) => {
                let mut v: Vec<Option<&mut Keyspace>> = (0..self.shards).map(|_| None).collect();
                v[*id] = Some(&mut **ks);
                v
            }
            Parts::Many(v) => v.iter_mut().map(|k| k.as_deref_mut()).collect(),
        };
        for (id, guard) in extra.iter_mut() {
            parts[*id] = Some(&mut **guard);
        }
        Db::many(parts)
    }

    /// A command spanning shards: `guards` are the locks of shards `ids` (in order).
    pub fn locked(guards: &'a mut [std::sync::MutexGuard<'_, Keyspace>], ids: &[ShardId], shards: usize) -> Self {
        let mut locked: Vec<Option<&mut Keyspace>> = (0..shards).map(|_| None).collect();
        for (guard, &id) in guards.iter_mut().zip(ids) {
            locked[id] = Some(&mut **guard);
        }
        Db::many(locked)
    }

    /// Number of shards in the server.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The keyspace that owns `key`. The dispatcher locked it from the key spec, so a
    /// handler touching only its declared keys always finds it.
    #[inline(always)]
    pub fn ks(&mut self, key: &[u8]) -> &mut Keyspace {
        match &mut self.parts {
            Parts::One(_, ks) => ks,
            Parts::Many(v) => owner_of(v, key),
        }
    }

    /// Shard `id`'s keyspace, when this command holds it.
    pub fn shard(&mut self, id: ShardId) -> Option<&mut Keyspace> {
        match &mut self.parts {
            Parts::One(own, ks) => (*own == id).then_some(&mut **ks),
            Parts::Many(v) => v.get_mut(id).and_then(|k| k.as_deref_mut()),
        }
    }

    /// Does any keyspace this command holds satisfy `f`? (No allocation: this runs
    /// after every write.)
    #[inline]
    pub fn any(&self, f: impl Fn(&Keyspace) -> bool) -> bool {
        match &self.parts {
            Parts::One(_, ks) => f(ks),
            Parts::Many(v) => v.iter().flatten().any(|ks| f(ks)),
        }
    }

    /// Every keyspace this command holds, with its shard id, in shard order.
    pub fn all(&mut self) -> Vec<(ShardId, &mut Keyspace)> {
        match &mut self.parts {
            Parts::One(id, ks) => vec![(*id, &mut **ks)],
            Parts::Many(v) => v.iter_mut().enumerate().filter_map(|(i, k)| k.as_deref_mut().map(|k| (i, k))).collect(),
        }
    }
}

/// The locked keyspace that owns `key`, among several (kept out of [`Db::ks`]'s
/// one-shard path).
#[inline(never)]
fn owner_of<'k>(locked: &'k mut [Option<&mut Keyspace>], key: &[u8]) -> &'k mut Keyspace {
    let owner = shard_of(key, locked.len());
    locked[owner].as_deref_mut().expect("key's shard is locked")
}
