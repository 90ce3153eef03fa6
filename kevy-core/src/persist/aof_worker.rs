//! The AOF's background thread, one per server: fsyncs every second under
//! `appendfsync everysec`, runs rewrites (BGREWRITEAOF, or automatically when a file
//! has grown `auto-aof-rewrite-percentage` past its size after the last rewrite and is
//! over `auto-aof-rewrite-min-size`), and switches the AOF on or off after CONFIG SET
//! appendonly. Shards never wait for it. With the AOF off it sleeps until asked.

use std::path::PathBuf;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::aof::Fsync;
use super::aof_rewrite::rewrite_live;
use super::Host;

/// Requests to the worker, and a way to wake it.
#[derive(Default)]
pub struct Worker {
    state: Mutex<WorkerState>,
    wake: Condvar,
}

#[derive(Default)]
struct WorkerState {
    /// CONFIG SET appendonly changed: bring the files in line.
    switch_requested: bool,
    rewrite_requested: bool,
    rewriting: bool,
    stop: bool,
}

impl Worker {
    /// Asks for a rewrite of every shard's file. False if one is already running.
    pub fn request_rewrite(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.rewriting || s.rewrite_requested {
            return false;
        }
        s.rewrite_requested = true;
        self.wake.notify_all();
        true
    }
    /// Is a rewrite running or about to?
    pub fn rewriting(&self) -> bool {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.rewriting || s.rewrite_requested
    }
    /// Asks for the AOF to follow the `appendonly` setting (after CONFIG SET).
    pub fn request_switch(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).switch_requested = true;
        self.wake.notify_all();
    }
    /// Tells the thread to finish.
    pub fn stop(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.wake.notify_all();
    }
}

/// Starts the worker thread for `shared`.
pub fn spawn<H: Host + Send + 'static>(shared: Arc<H>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("kevy-aof".into()).spawn(move || run(&*shared))
}

fn run<H: Host + ?Sized>(shared: &H) {
    let worker = &shared.aof_worker();
    loop {
        let (rewrite, switch) = {
            let mut s = worker.state.lock().unwrap_or_else(|e| e.into_inner());
            if !s.stop && !s.rewrite_requested && !s.switch_requested {
                s = if shared.logs().on.load(Ordering::Acquire) {
                    worker.wake.wait_timeout(s, Duration::from_secs(1)).unwrap_or_else(|e| e.into_inner()).0
                } else {
                    worker.wake.wait(s).unwrap_or_else(|e| e.into_inner())
                };
            }
            if s.stop {
                return;
            }
            let switch = std::mem::take(&mut s.switch_requested);
            let r = shared.logs().on.load(Ordering::Acquire) && (s.rewrite_requested || due_for_rewrite(shared));
            s.rewrite_requested = false;
            s.rewriting = r;
            (r, switch)
        };
        if switch {
            follow_setting(shared);
        }
        if Fsync::current(shared.config()) == Fsync::EverySec {
            for log in &shared.logs().shards {
                if let Some(file) = log.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|l| l.file()) {
                    let _ = file.sync_data();
                }
            }
        }
        if rewrite {
            for id in 0..shared.shard_count() {
                match rewrite_live(shared, id) {
                    Ok(size) => crate::log_notice!("shard {id}: append only file rewritten ({size} bytes)"),
                    Err(e) => crate::log_warning!("shard {id}: append only file rewrite failed: {e}"),
                }
            }
            worker.state.lock().unwrap_or_else(|e| e.into_inner()).rewriting = false;
        }
    }
}

/// Turns the AOF on or off to match `appendonly`. On: with every shard locked (so no
/// write slips between), each shard's file is written from its keys and its log
/// opened. Off: every log is flushed, fsynced and closed.
fn follow_setting<H: Host + ?Sized>(shared: &H) {
    let cfg = shared.config().snapshot();
    let want = cfg.appendonly();
    if want == shared.logs().on.load(Ordering::Acquire) {
        return;
    }
    let ids: Vec<usize> = (0..shared.shard_count()).collect();
    let locks = shared.lock_shards(&ids);
    if !want {
        super::aof::flush_all(shared.logs(), shared.config(), shared.shard_count(), true);
        shared.logs().on.store(false, Ordering::Release);
        shared.logs().shards.iter().for_each(|l| *l.lock().unwrap_or_else(|e| e.into_inner()) = None);
        crate::log_notice!("append only file switched off");
        return;
    }
    let dir = PathBuf::from(cfg.get("dir").unwrap_or("."));
    let now_ms = shared.now_ms();
    let opened: std::io::Result<Vec<_>> = std::fs::create_dir_all(&dir)
        .and_then(|_| ids.iter().map(|&id| super::aof_rewrite::base_from(&locks[id], &dir, id, now_ms)).collect());
    match opened.and_then(|logs| super::dump::write_layout(&dir, ids.len()).map(|_| logs)) {
        Ok(logs) => {
            for (slot, log) in shared.logs().shards.iter().zip(logs) {
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(log);
            }
            shared.logs().on.store(true, Ordering::Release);
            crate::log_notice!("append only file switched on in {}", dir.display());
        }
        Err(e) => crate::log_warning!("cannot switch the append only file on: {e}"),
    }
}

/// Has any shard's file grown enough for an automatic rewrite?
fn due_for_rewrite<H: Host + ?Sized>(shared: &H) -> bool {
    let cfg = shared.config().snapshot();
    let pct: u64 = cfg.get("auto-aof-rewrite-percentage").and_then(|v| v.parse().ok()).unwrap_or(0);
    let min: u64 = cfg.get("auto-aof-rewrite-min-size").and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
    if pct == 0 {
        return false;
    }
    shared.logs().shards.iter().any(|log| {
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|l| l.size >= min && l.size > l.base_size + l.base_size * pct / 100)
    })
}
