//! Lua scripting as Redis 7 does it: EVAL/EVALSHA run a Lua 5.1 chunk with `KEYS` and
//! `ARGV`, `redis.call` runs commands on the keys the script holds, replies convert both
//! ways with Redis's rules.
//!
//! - [`Scripts`] (here): the server's script cache (SHA-1 -> body), shared by every
//!   shard, and the registry of running scripts that SCRIPT KILL reaches.
//! - `engine`: one Lua state per thread, created on first use; sandbox, the `redis`
//!   library, the error handler that gives Redis's error texts, the kill hook.
//! - `convert`: RESP replies to Lua values and Lua values to replies.
//! - `cjson`, `bit`: the libraries Redis bundles, written in Rust.
//! - `sha1`: script names.
//!
//! A script runs like any other command: on the shard that owns its KEYS, or with the
//! shards of all its KEYS locked in shard order, so it is atomic across shards. While it
//! runs, its shard thread serves nothing else; other shards keep serving their keys.

pub mod bit;
pub mod cjson;
pub mod convert;
pub mod engine;
pub mod sha1;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

pub use sha1::sha1_hex;

/// SCRIPT KILL found no script running.
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
/// SCRIPT KILL found a script that already wrote.
pub const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
/// The reply of a command that needs a shard busy with a script past the threshold.
pub const BUSY: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or FUNCTION KILL or SHUTDOWN NOSAVE.";
/// EVALSHA of an unknown script.
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// One script being run, as SCRIPT KILL sees it.
pub struct Running {
    pub started: Instant,
    /// Set by SCRIPT KILL; the engine's hook stops the script when it sees it.
    pub kill: AtomicBool,
    /// Set when the script ran a write command: it can no longer be killed.
    pub wrote: AtomicBool,
    /// The shard running it.
    pub shard: usize,
}

/// The server's scripts: bodies by SHA-1, and the scripts running now.
#[derive(Default)]
pub struct Scripts {
    bodies: RwLock<HashMap<String, Arc<[u8]>>>,
    /// Bumped by SCRIPT FLUSH: each thread's Lua state starts afresh when it sees a new
    /// value, dropping its compiled functions.
    generation: AtomicU64,
    running: Mutex<Vec<Arc<Running>>>,
}

impl Scripts {
    /// Caches `body`; returns its SHA-1 (lower-case hex).
    pub fn insert(&self, body: &[u8]) -> String {
        let sha = sha1_hex(body);
        self.insert_named(&sha, body);
        sha
    }

    /// Caches `body` under its already computed SHA-1.
    pub fn insert_named(&self, sha: &str, body: &[u8]) {
        let mut map = self.bodies.write().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(sha) {
            map.insert(sha.to_string(), Arc::from(body));
        }
    }

    /// The body of script `sha` (any case), when cached.
    pub fn get(&self, sha: &[u8]) -> Option<(String, Arc<[u8]>)> {
        if sha.len() != 40 {
            return None;
        }
        let lower = std::str::from_utf8(sha).ok()?.to_ascii_lowercase();
        let body = self.bodies.read().unwrap_or_else(|e| e.into_inner()).get(&lower).cloned()?;
        Some((lower, body))
    }

    /// Is script `sha` cached?
    pub fn contains(&self, sha: &[u8]) -> bool {
        self.get(sha).is_some()
    }

    /// Number of cached scripts (INFO's `number_of_cached_scripts`).
    pub fn len(&self) -> usize {
        self.bodies.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SCRIPT FLUSH: forgets every script; Lua states are rebuilt on their next use.
    pub fn flush(&self) {
        self.bodies.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records a script starting on `shard`; it is listed until the guard drops.
    pub fn start(&self, shard: usize) -> RunGuard<'_> {
        let run = Arc::new(Running {
            started: Instant::now(),
            kill: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            shard,
        });
        self.running.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&run));
        RunGuard { scripts: self, run }
    }

    /// SCRIPT KILL: asks every running script to stop. Refused (nothing is killed) when
    /// one of them already wrote. The error is the reply text.
    pub fn kill(&self) -> Result<(), &'static str> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.is_empty() {
            return Err(NOTBUSY);
        }
        if running.iter().any(|r| r.wrote.load(Ordering::Acquire)) {
            return Err(UNKILLABLE);
        }
        running.iter().for_each(|r| r.kill.store(true, Ordering::Release));
        Ok(())
    }

    /// Is a script running on one of `shards` for longer than `threshold_ms`? (Commands
    /// that need such a shard get `-BUSY` instead of waiting behind it.)
    pub fn busy(&self, shards: &[usize], threshold_ms: u64) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .iter()
            .any(|r| shards.contains(&r.shard) && r.started.elapsed().as_millis() as u64 >= threshold_ms)
    }
}

/// Keeps a script listed as running; unlisted on drop (also when the script panics).
pub struct RunGuard<'s> {
    scripts: &'s Scripts,
    pub run: Arc<Running>,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        let mut running = self.scripts.running.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|r| !Arc::ptr_eq(r, &self.run));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_and_kill() {
        let s = Scripts::default();
        let sha = s.insert(b"return 1");
        assert!(s.contains(sha.to_ascii_uppercase().as_bytes()));
        assert!(!s.contains(b"nope"));
        assert_eq!(s.kill(), Err(NOTBUSY));
        {
            let g = s.start(0);
            assert!(s.busy(&[0], 0));
            assert!(!s.busy(&[1], 0));
            assert_eq!(s.kill(), Ok(()));
            assert!(g.run.kill.load(Ordering::Acquire));
            g.run.wrote.store(true, Ordering::Release);
            assert_eq!(s.kill(), Err(UNKILLABLE));
        }
        assert_eq!(s.kill(), Err(NOTBUSY));
        let g0 = s.generation();
        s.flush();
        assert!(s.is_empty());
        assert_ne!(s.generation(), g0);
    }
}
