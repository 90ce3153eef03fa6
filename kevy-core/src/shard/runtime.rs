//! `Shared` as the commands' [`Runtime`]: the server-wide operations handlers reach
//! through their `Ctx`, answered with the shard layer's state (pub/sub registry, the
//! persist layer's save state and AOF, the shards' wakers).

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::MutexGuard;

use super::dispatch::{run, Wake};
use super::{pubsub, Shared};
use crate::commands::call::Call;
use crate::commands::client::{Client, Kind, Subscriptions};
use crate::commands::runtime::{Counters, PersistInfo, Runtime, SaveError, Shutdown};
use crate::commands::{effects, CommandTable, Ctx};
use crate::config::LiveConfig;
use crate::persist::{dump, saver};
use crate::store::blocked::ConnRef;
use crate::store::routing::ShardId;
use crate::store::Keyspace;

impl Runtime for Shared {
    fn table(&self) -> &CommandTable {
        &self.table
    }
    fn config(&self) -> &LiveConfig {
        &self.config
    }
    fn slowlog(&self) -> &crate::commands::stats::slowlog::SlowLog {
        &self.slowlog
    }
    fn latency(&self) -> &crate::commands::stats::latency::Monitor {
        &self.latency
    }
    fn multiplexing_api(&self) -> &'static str {
        self.reactor.name()
    }
    fn shard_count(&self) -> usize {
        self.shards.len()
    }
    fn try_lock(&self, id: ShardId) -> Option<MutexGuard<'_, Keyspace>> {
        // A poisoned lock is taken over, as `lock` does: its panic became an error reply.
        match self.shards[id].keyspace.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
    fn wake_shard(&self, id: ShardId) {
        self.shards[id].waker.wake_if_parked();
    }
    fn client_list(&self) -> Vec<Client> {
        Shared::client_list(self)
    }
    fn counters(&self) -> Counters {
        Counters {
            port: self.port,
            started_ms: self.started_ms,
            connected_clients: self.connected_clients.load(Relaxed),
            blocked_clients: self.blocked_clients.load(Relaxed),
            total_connections: self.total_connections.load(Relaxed),
            rejected_connections: self.rejected_connections.load(Relaxed),
            commands: self.sum(|s| &s.commands),
        }
    }
    fn reset_stats(&self) {
        for s in &self.shards {
            s.stats.commands.store(0, Relaxed);
        }
        self.total_connections.store(0, Relaxed);
        self.rejected_connections.store(0, Relaxed);
    }
    fn config_changed(&self) {
        let config = self.config.snapshot();
        crate::types::list::set_max_listpack_size(config.list_max_listpack_size());
        if config.appendonly() != self.aof.on.load(Acquire) {
            // Writing the files takes every shard's lock: the AOF thread does it.
            self.aof_worker.request_switch();
        }
    }
    fn consumers_on(&self) -> u32 {
        Shared::consumers_on(self)
    }

    fn subscribe(&self, shard: ShardId, kind: Kind, name: &[u8], conn: ConnRef) {
        pubsub::subscribe(self, shard, kind, name, conn);
    }
    fn unsubscribe(&self, shard: ShardId, kind: Kind, name: &[u8], conn: ConnRef) {
        pubsub::unsubscribe(self, shard, kind, name, conn);
    }
    fn forget_subscriptions(&self, shard: ShardId, subs: &Subscriptions, conn: ConnRef) {
        pubsub::forget(self, shard, subs, conn);
    }
    fn publish(&self, kind: Kind, channel: &[u8], message: &[u8]) -> i64 {
        pubsub::publish(self, kind, channel, message)
    }
    fn channel_names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.pubsub.names(kind, pattern)
    }
    fn subscriber_count(&self, kind: Kind, name: &[u8]) -> i64 {
        self.pubsub.count(kind, name)
    }
    fn pattern_count(&self) -> i64 {
        self.pubsub.patterns()
    }

    fn persistence(&self) -> PersistInfo {
        let p = &self.persist;
        PersistInfo {
            changes_since_save: self.sum(|s| &s.dirty).saturating_sub(p.dirty_at_save.load(Acquire)),
            bgsave_in_progress: p.in_progress.load(Acquire),
            last_save_s: p.last_save_s.load(Acquire),
            last_save_ok: p.last_ok.load(Acquire),
            aof_on: self.aof.on.load(Acquire),
            aof_rewriting: self.aof_worker.rewriting(),
        }
    }
    fn save(&self, views: &[&Keyspace]) -> Result<(), SaveError> {
        if self.persist.in_progress.load(Acquire) {
            return Err(SaveError::InProgress);
        }
        saver::save_locked(self, views).map(|_| ()).map_err(|e| SaveError::Failed(e.to_string()))
    }
    fn bgsave(&self, views: &[&Keyspace], now_ms: u64) -> Result<(), SaveError> {
        if self.persist.in_progress.load(Acquire) {
            return Err(SaveError::InProgress);
        }
        let copies: Vec<_> = views.iter().map(|ks| dump::copy_shard(ks, now_ms)).collect();
        match saver::start_background(self, copies) {
            true => Ok(()),
            false => Err(SaveError::InProgress),
        }
    }
    fn rewrite_aof(&self) -> bool {
        self.aof_worker.request_rewrite()
    }
    fn shutdown(&self, mode: Shutdown) {
        let mode = match mode {
            Shutdown::Default => saver::shutdown::DEFAULT,
            Shutdown::Save => saver::shutdown::SAVE,
            Shutdown::NoSave => saver::shutdown::NOSAVE,
        };
        self.shutdown_mode.store(mode, Release);
        self.stop.store(true, Release);
        for s in &self.shards {
            s.waker.wake();
        }
    }

    fn scripts(&self) -> &(dyn std::any::Any + Send + Sync) {
        &self.scripts
    }
    fn busy_script(&self) -> Option<&'static str> {
        crate::scripting::busy_anywhere(&self.scripts, &self.config, self.shards.len())
    }

    fn run_nested(&self, call: &Call<'_>, ctx: &mut Ctx<'_>) {
        run(self, call, ctx, Wake::Never);
    }
}

impl Shared {
    /// The effect consumers on now (`effects::consumers`): the dispatcher reads this
    /// once per turn, so the common path tests one word.
    #[inline]
    pub fn consumers_on(&self) -> u32 {
        let mut on = 0;
        if self.aof.on.load(Relaxed) {
            on |= effects::consumers::AOF;
        }
        if self.config.notify_flags.load(Relaxed) != 0 {
            on |= effects::consumers::NOTIFY;
        }
        on
    }
}

impl crate::persist::Host for Shared {
    fn config(&self) -> &LiveConfig {
        &self.config
    }
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
    fn shard_count(&self) -> usize {
        self.shards.len()
    }
    fn lock(&self, id: ShardId) -> MutexGuard<'_, Keyspace> {
        Shared::lock(self, id)
    }
    fn lock_shards(&self, ids: &[ShardId]) -> Vec<MutexGuard<'_, Keyspace>> {
        Shared::lock_shards(self, ids)
    }
    fn dirty_total(&self) -> u64 {
        self.sum(|s| &s.dirty)
    }
    fn save_state(&self) -> &saver::SaveState {
        &self.persist
    }
    fn shutdown_mode(&self) -> u8 {
        self.shutdown_mode.load(Acquire)
    }
    fn logs(&self) -> &crate::persist::aof::Logs {
        &self.aof
    }
    fn aof_worker(&self) -> &crate::persist::aof_worker::Worker {
        &self.aof_worker
    }
}
