//! Lua scripting as Redis 7 does it: EVAL/EVALSHA run a Lua 5.1 chunk with `KEYS` and
//! `ARGV`, `redis.call` runs commands on the keys the script holds, replies convert both
//! ways with Redis's rules.
//!
//! - [`Scripts`] (here): the server's script cache (SHA-1 -> body), shared by every
//!   shard, and the registry of running scripts that SCRIPT KILL reaches.
//! - `engine`: one Lua state per thread, created on first use; sandbox, the `redis`
//!   library, the error handler that gives Redis's error texts, the kill hook.
//! - `convert`: RESP replies to Lua values and Lua values to replies.
//! - `library`, `functions`: FUNCTION LOAD libraries (shared registry) and their
//!   loading and calling on a thread's state.
//! - `cjson`, `bit`: the libraries Redis bundles, written in Rust.
//! - `sha1`: script names.
//!
//! A script runs like any other command: on the shard that owns its KEYS, or with the
//! shards of all its KEYS locked in shard order, so it is atomic across shards. Past
//! `busy-reply-threshold` its hook serves the shard's other connections (`busy`): they
//! get `-BUSY` except for the commands allowed while busy (SCRIPT KILL...); other
//! shards keep serving their keys.

pub mod bit;
pub mod busy;
pub mod cjson;
pub mod convert;
pub mod engine;
pub mod functions;
pub mod function_rows;
pub mod library;
pub mod rows;
pub mod reach;
mod sandbox;
pub mod sha1;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

pub use sha1::sha1_hex;

use crate::commands::call::Target;
use crate::commands::runtime::Runtime;
use crate::commands::Command;
use crate::config::LiveConfig;

// SCRIPT KILL's replies and the -BUSY texts (EVAL, FCALL): commands/errors.rs.
use crate::commands::errors::{BUSY, BUSY_FUNCTION, NOTBUSY, UNKILLABLE};

/// The script and function rows, contributed to the command table by this layer
/// (which owns the engine they run).
pub const ROWS: &[&[crate::commands::Command]] = &[function_rows::COMMANDS, rows::COMMANDS];

/// The server's scripts, as the runtime a command runs in holds them.
pub fn of(rt: &dyn Runtime) -> &Scripts {
    rt.scripts().downcast_ref().expect("the runtime holds scripting::Scripts")
}

/// Should `cmd` get `-BUSY` instead of running? Yes when it needs a shard (`shards`)
/// that a script has held for longer than `busy-reply-threshold`, unless it is allowed
/// while busy (SCRIPT KILL). Some(the reply text). One atomic load while no script runs.
pub fn busy_for(scripts: &Scripts, config: &LiveConfig, cmd: &Command, shards: &[usize]) -> Option<&'static str> {
    if !scripts.any_running() || cmd.has(crate::commands::flags::ALLOW_BUSY) {
        return None;
    }
    scripts.busy(shards, threshold_ms(config))
}

/// The `-BUSY` text for a command when any script anywhere is past the threshold
/// (SHUTDOWN without NOSAVE, commands queued in MULTI, EXEC: as Redis, a busy server
/// refuses them whatever their keys). One atomic load while no script runs.
pub fn busy_anywhere(scripts: &Scripts, config: &LiveConfig, shard_count: usize) -> Option<&'static str> {
    if !scripts.any_running() {
        return None;
    }
    let all: Vec<usize> = (0..shard_count).collect();
    scripts.busy(&all, threshold_ms(config))
}

/// `busy-reply-threshold` (alias `lua-time-limit`), in milliseconds.
pub fn threshold_ms(config: &LiveConfig) -> u64 {
    config.matching(b"busy-reply-threshold").first().and_then(|(_, v)| v.parse().ok()).unwrap_or(5000)
}

/// [`busy_for`] with the shards of a routing decision, for the dispatcher.
pub fn busy_for_target(scripts: &Scripts, config: &LiveConfig, cmd: &Command, target: &Target, me: usize) -> Option<&'static str> {
    let needs = match target {
        Target::Local => std::slice::from_ref(&me),
        Target::Remote(s) => std::slice::from_ref(s),
        Target::Multi(ids) => &ids[..],
    };
    busy_for(scripts, config, cmd, needs)
}

/// [`busy_for_target`], and for a command that names no keys (PING, INFO, CONFIG,
/// PUBLISH, EVAL with 0 keys...) on any shard: it acts on the server as a whole, which
/// is busy while any script is past the threshold, as on Redis. Commands on keys of
/// shards no script holds keep running. `call` is the routed command, `shard_count`
/// the server's.
pub fn busy_for_command(
    scripts: &Scripts,
    config: &LiveConfig,
    shard_count: usize,
    call: &crate::commands::call::Call<'_>,
    target: &Target,
    me: usize,
) -> Option<&'static str> {
    if !scripts.any_running() {
        return None;
    }
    let cmd = call.cmd;
    busy_for_target(scripts, config, cmd, target, me).or_else(|| {
        let keyed_route = matches!(cmd.route, crate::commands::Route::Keys | crate::commands::Route::KeyPositions(_) | crate::commands::Route::KeysOrAll(..));
        let keyless = keyed_route && cmd.key_positions(call.args).is_empty();
        if keyless && !cmd.has(crate::commands::flags::ALLOW_BUSY) {
            busy_anywhere(scripts, config, shard_count)
        } else {
            None
        }
    })
}

/// One script being run, as SCRIPT KILL sees it.
pub struct Running {
    pub started: Instant,
    /// Set by SCRIPT KILL; the engine's hook stops the script when it sees it.
    pub kill: AtomicBool,
    /// Set when the script ran a write command: it can no longer be killed.
    pub wrote: AtomicBool,
    /// The shards it holds: the one running it, or all those of its KEYS.
    pub shards: Vec<usize>,
    /// A function (FCALL) rather than an EVAL: FUNCTION KILL stops it, not SCRIPT KILL.
    pub function: bool,
    /// The command that started it (FUNCTION STATS's `running_script`).
    pub name: String,
    pub command: Vec<Vec<u8>>,
}

impl Running {
    /// The `-BUSY` text while this script is past the threshold.
    pub fn busy_text(&self) -> &'static str {
        if self.function {
            BUSY_FUNCTION
        } else {
            BUSY
        }
    }
}

/// The server's scripts: bodies by SHA-1, and the scripts running now.
#[derive(Default)]
pub struct Scripts {
    bodies: RwLock<HashMap<String, Arc<[u8]>>>,
    /// Bumped by SCRIPT FLUSH: each thread's Lua state starts afresh when it sees a new
    /// value, dropping its compiled functions.
    generation: AtomicU64,
    running: Mutex<Vec<Arc<Running>>>,
    /// How many scripts run now: the dispatcher's BUSY check costs one load when 0.
    running_count: AtomicUsize,
    /// Function libraries (FUNCTION LOAD, FCALL).
    pub libraries: library::Libraries,
}

impl Scripts {
    /// Caches `body`; returns its SHA-1 (lower-case hex).
    #[cfg(test)]
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
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.bodies.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SCRIPT FLUSH: forgets every script; Lua states are rebuilt on their next use.
    pub fn flush(&self) {
        reach::forget_all();
        self.bodies.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records a script starting, holding `shards`; it is listed until the guard drops.
    pub fn start(&self, shards: Vec<usize>, function: bool, name: &str, command: Vec<Vec<u8>>) -> RunGuard<'_> {
        let run = Arc::new(Running {
            started: Instant::now(),
            kill: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            shards,
            function,
            name: name.to_string(),
            command,
        });
        self.running.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&run));
        self.running_count.fetch_add(1, Ordering::AcqRel);
        RunGuard { scripts: self, run }
    }

    /// SCRIPT KILL (`function` false) or FUNCTION KILL: asks every running script to
    /// stop. Refused (nothing is killed) when one of them already wrote, or is of the
    /// other kind (an FCALL for SCRIPT KILL: Redis answers that one's -BUSY text). The
    /// error is the reply text.
    pub fn kill(&self, function: bool) -> Result<(), &'static str> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.is_empty() {
            return Err(NOTBUSY);
        }
        if let Some(other) = running.iter().find(|r| r.function != function) {
            return Err(other.busy_text());
        }
        if running.iter().any(|r| r.wrote.load(Ordering::Acquire)) {
            return Err(UNKILLABLE);
        }
        running.iter().for_each(|r| r.kill.store(true, Ordering::Release));
        Ok(())
    }

    /// Is a script holding one of `shards` running for longer than `threshold_ms`?
    /// (Commands that need such a shard get `-BUSY` instead of waiting behind it.)
    /// Some(the -BUSY text of that script).
    pub fn busy(&self, shards: &[usize], threshold_ms: u64) -> Option<&'static str> {
        if self.running_count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .iter()
            .find(|r| {
                r.shards.iter().any(|s| shards.contains(s)) && r.started.elapsed().as_millis() as u64 >= threshold_ms
            })
            .map(|r| r.busy_text())
    }

    /// The running scripts (FUNCTION STATS).
    pub fn running(&self) -> Vec<Arc<Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Is any script running? (One atomic load.)
    pub fn any_running(&self) -> bool {
        self.running_count.load(Ordering::Acquire) > 0
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
        self.scripts.running_count.fetch_sub(1, Ordering::AcqRel);
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
        assert_eq!(s.kill(false), Err(NOTBUSY));
        {
            let g = s.start(vec![0, 2], false, &sha, Vec::new());
            assert_eq!(s.busy(&[0], 0), Some(BUSY));
            assert!(s.busy(&[2, 3], 0).is_some());
            assert!(s.busy(&[1], 0).is_none());
            assert!(s.busy(&[0], 60_000).is_none());
            assert_eq!(s.kill(true), Err(BUSY));
            assert_eq!(s.kill(false), Ok(()));
            assert!(g.run.kill.load(Ordering::Acquire));
            g.run.wrote.store(true, Ordering::Release);
            assert_eq!(s.kill(false), Err(UNKILLABLE));
        }
        {
            let _g = s.start(vec![1], true, "f", Vec::new());
            assert_eq!(s.busy(&[1], 0), Some(BUSY_FUNCTION));
            assert_eq!(s.kill(false), Err(BUSY_FUNCTION));
            assert_eq!(s.kill(true), Ok(()));
        }
        assert_eq!(s.kill(false), Err(NOTBUSY));
        assert!(!s.any_running());
        let g0 = s.generation();
        s.flush();
        assert!(s.is_empty());
        assert_ne!(s.generation(), g0);
    }
}
