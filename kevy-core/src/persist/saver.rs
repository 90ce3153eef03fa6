//! When snapshots are taken: SAVE (now, all shards locked), BGSAVE (a consistent copy
//! taken under the locks, written by a background thread while the shards serve), the
//! `save "<secs> <changes>"` rules checked every tick, and the final save at stop.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::dump;
use crate::store::routing::ShardId;
use super::Host;

/// Snapshot bookkeeping shared by the shards.
#[derive(Default)]
pub struct SaveState {
    /// A background save is running.
    pub in_progress: Arc<AtomicBool>,
    /// Unix seconds of the last successful save (LASTSAVE), or the start time.
    pub last_save_s: Arc<AtomicU64>,
    /// Did the last save succeed? (`rdb_last_bgsave_status`)
    pub last_ok: Arc<AtomicBool>,
    /// Write commands counted at the last save, against the shards' running totals.
    pub dirty_at_save: AtomicU64,
    /// The background writer, joined before a new one starts and at stop.
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// How SHUTDOWN asked to stop.
pub mod shutdown {
    /// Save if save rules are configured (Redis's default).
    pub const DEFAULT: u8 = 0;
    pub const SAVE: u8 = 1;
    pub const NOSAVE: u8 = 2;
}

/// The data directory.
pub fn dir<H: Host + ?Sized>(shared: &H) -> PathBuf {
    PathBuf::from(shared.config().snapshot().get("dir").unwrap_or(".").to_string())
}

/// The configured save rules as (seconds, changes) pairs; empty when saving is off.
pub fn rules<H: Host + ?Sized>(shared: &H) -> Vec<(u64, u64)> {
    let text = shared.config().snapshot().get("save").unwrap_or("").to_string();
    let nums: Vec<u64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    nums.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect()
}

/// Writes every shard now. The caller must hold no shard lock: this takes them all.
pub fn save_now<H: Host + ?Sized>(shared: &H) -> std::io::Result<usize> {
    let ids: Vec<ShardId> = (0..shared.shard_count()).collect();
    let locks = shared.lock_shards(&ids);
    let views: Vec<&crate::store::Keyspace> = locks.iter().map(|g| &**g).collect();
    save_locked(shared, &views)
}

/// Writes the shards the caller holds locked (SAVE runs on every shard at once).
pub fn save_locked<H: Host + ?Sized>(shared: &H, views: &[&crate::store::Keyspace]) -> std::io::Result<usize> {
    let now_ms = shared.now_ms();
    let dirty = shared.dirty_total();
    let result = dump::save_all(&dir(shared), views, now_ms);
    record(shared, result.is_ok(), dirty, now_ms);
    result
}

fn record<H: Host + ?Sized>(shared: &H, ok: bool, dirty: u64, now_ms: u64) {
    let state = &shared.save_state();
    state.last_ok.store(ok, Ordering::Release);
    if ok {
        state.last_save_s.store(now_ms / 1000, Ordering::Release);
        state.dirty_at_save.store(dirty, Ordering::Release);
    }
}

/// Starts a background save of a copy the caller took under the shards' locks (one
/// consistent cut). False when one is already running.
pub fn start_background<H: Host + ?Sized>(shared: &H, copies: Vec<Vec<dump::KeyRecord>>) -> bool {
    let state = &shared.save_state();
    if state.in_progress.swap(true, Ordering::AcqRel) {
        return false;
    }
    let mut slot = state.thread.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(old) = slot.take() {
        let _ = old.join();
    }
    let (dir, now_ms, dirty) = (dir(shared), shared.now_ms(), shared.dirty_total());
    let (in_progress, last_save, last_ok) =
        (Arc::clone(&state.in_progress), Arc::clone(&state.last_save_s), Arc::clone(&state.last_ok));
    state.dirty_at_save.store(dirty, Ordering::Release);
    let spawned = std::thread::Builder::new().name("kevy-bgsave".into()).spawn(move || {
        let result = dump::save_copies(&dir, &copies, now_ms);
        match &result {
            Ok(n) => crate::log_notice!("background saving terminated with success ({n} keys)"),
            Err(e) => crate::log_warning!("background saving failed: {e}"),
        }
        last_ok.store(result.is_ok(), Ordering::Release);
        if result.is_ok() {
            last_save.store(now_ms / 1000, Ordering::Release);
        }
        in_progress.store(false, Ordering::Release);
    });
    match spawned {
        Ok(handle) => *slot = Some(handle),
        Err(e) => {
            crate::log_warning!("cannot start background save: {e}");
            state.in_progress.store(false, Ordering::Release);
            return false;
        }
    }
    true
}

/// Takes the consistent copy (all shards locked at once) and starts writing it.
pub fn background_save<H: Host + ?Sized>(shared: &H) -> bool {
    if shared.save_state().in_progress.load(Ordering::Acquire) {
        return false;
    }
    let ids: Vec<ShardId> = (0..shared.shard_count()).collect();
    let now_ms = shared.now_ms();
    let copies: Vec<_> = shared.lock_shards(&ids).iter().map(|ks| dump::copy_shard(ks, now_ms)).collect();
    start_background(shared, copies)
}

/// Waits for a running background save.
pub fn wait_background<H: Host + ?Sized>(shared: &H) {
    if let Some(t) = shared.save_state().thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = t.join();
    }
}

/// Called every reaper tick by shard 0: starts a background save when a save rule is
/// met (at least `changes` writes within the last `secs` seconds since the last save).
pub fn check_rules<H: Host + ?Sized>(shared: &H, now_ms: u64) {
    let state = &shared.save_state();
    if state.in_progress.load(Ordering::Acquire) {
        return;
    }
    let changes = shared.dirty_total().saturating_sub(state.dirty_at_save.load(Ordering::Acquire));
    if changes == 0 {
        return;
    }
    let elapsed = (now_ms / 1000).saturating_sub(state.last_save_s.load(Ordering::Acquire));
    if rules(shared).iter().any(|&(secs, min)| changes >= min && elapsed >= secs) {
        crate::log_notice!("{changes} changes in {elapsed} seconds. Saving...");
        background_save(shared);
    }
}

/// At stop: waits for a background save, then saves if SHUTDOWN asked to, or by
/// default when save rules are configured.
pub fn final_save<H: Host + ?Sized>(shared: &H) {
    wait_background(shared);
    let mode = shared.shutdown_mode();
    if mode == shutdown::SAVE || (mode == shutdown::DEFAULT && !rules(shared).is_empty()) {
        match save_now(shared) {
            Ok(n) => crate::log_notice!("DB saved on disk ({n} keys)"),
            Err(e) => crate::log_warning!("error saving the DB at shutdown: {e}"),
        }
    }
}
