//! The AOF's background thread, one per server: fsyncs every second under
//! `appendfsync everysec`, and runs rewrites (BGREWRITEAOF, or automatically when a
//! file has grown `auto-aof-rewrite-percentage` past its size after the last rewrite
//! and is over `auto-aof-rewrite-min-size`). Shards never wait for it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::aof::Fsync;
use super::aof_rewrite::rewrite_live;
use crate::shard::Shared;

/// Requests to the worker, and a way to wake it.
#[derive(Default)]
pub struct Worker {
    state: Mutex<WorkerState>,
    wake: Condvar,
}

#[derive(Default)]
struct WorkerState {
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
    /// Tells the thread to finish.
    pub fn stop(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.wake.notify_all();
    }
}

/// Starts the worker thread for `shared` (appendonly on).
pub fn spawn(shared: Arc<Shared>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("kevy-aof".into()).spawn(move || run(&shared))
}

fn run(shared: &Shared) {
    let worker = &shared.aof_worker;
    loop {
        let rewrite = {
            let mut s = worker.state.lock().unwrap_or_else(|e| e.into_inner());
            if !s.stop && !s.rewrite_requested {
                s = worker.wake.wait_timeout(s, Duration::from_secs(1)).unwrap_or_else(|e| e.into_inner()).0;
            }
            if s.stop {
                return;
            }
            let r = s.rewrite_requested || due_for_rewrite(shared);
            s.rewrite_requested = false;
            s.rewriting = r;
            r
        };
        if Fsync::from_u8(shared.config.appendfsync.load(Ordering::Relaxed)) == Fsync::EverySec {
            for log in &shared.aof.shards {
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

/// Has any shard's file grown enough for an automatic rewrite?
fn due_for_rewrite(shared: &Shared) -> bool {
    let cfg = shared.config.snapshot();
    let pct: u64 = cfg.get("auto-aof-rewrite-percentage").and_then(|v| v.parse().ok()).unwrap_or(0);
    let min: u64 = cfg.get("auto-aof-rewrite-min-size").and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
    if pct == 0 {
        return false;
    }
    shared.aof.shards.iter().any(|log| {
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|l| l.size >= min && l.size > l.base_size + l.base_size * pct / 100)
    })
}
