//! What a script reaches beyond its KEYS, so it can run as on one redis-server.
//!
//! Redis (outside cluster mode) lets a script touch any key and run KEYS or SCAN. A
//! kevy script holds shard locks, so the dispatcher must know before the script starts
//! which shards to lock:
//!
//! - A script runs holding the shards of its KEYS (the fast path, unchanged).
//! - When it reaches another shard before its first write, on a connection's thread,
//!   the run is abandoned (every later `redis.call` of it fails, so it writes nothing)
//!   and the dispatcher reruns it holding every shard ([`take_retry`]). Otherwise (it
//!   already wrote; on another shard's thread, in EXEC, from a host thread) it takes
//!   the locks it lacks with try-lock ([`grow`]): two-phase locking keeps it atomic.
//! - Either way the script (by EVAL body, EVALSHA SHA-1, FCALL function name) is
//!   remembered ([`NEEDS_ALL`]): its next runs hold every shard up front.
//!
//! Keys written by nested commands are recorded too ([`note_written`]): clients blocked
//! on them are served after the script, like after any write.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::commands::{flags, Command};
use crate::resp::Args;
use crate::commands::runtime::Runtime;
use crate::store::routing::shard_of;
use crate::store::Keyspace;

/// The most scripts remembered as reaching out; past it the set starts afresh (the
/// cost of forgetting is one more rerun or lock growth).
const MAX_REMEMBERED: usize = 10_000;

/// Ids ([`id_of`]) of the scripts known to reach shards beyond their KEYS'. Process
/// wide: it is a hint, and a wrong one is caught by the run itself.
static NEEDS_ALL: OnceLock<RwLock<HashSet<u64>>> = OnceLock::new();
/// Set once a script is in [`NEEDS_ALL`]: until then `spans` is one atomic load.
static ANY_NEEDS_ALL: AtomicBool = AtomicBool::new(false);

fn needs_all() -> &'static RwLock<HashSet<u64>> {
    NEEDS_ALL.get_or_init(|| RwLock::new(HashSet::new()))
}

/// What a script is known by: EVAL its body, EVALSHA its SHA-1 (any case), FCALL its
/// function name.
#[derive(Clone, Copy)]
pub enum Name<'a> {
    Body(&'a [u8]),
    Sha(&'a [u8]),
    Function(&'a [u8]),
}

/// A 64-bit id of a script name (a collision only makes the hint wrong once).
fn id_of(name: Name<'_>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match name {
        Name::Body(b) => (0u8, b).hash(&mut h),
        Name::Sha(s) => {
            1u8.hash(&mut h);
            s.iter().for_each(|c| c.to_ascii_lowercase().hash(&mut h));
        }
        Name::Function(f) => (2u8, f).hash(&mut h),
    }
    h.finish()
}

/// The name an EVAL-family or FCALL-family call runs by.
fn name_of_call(args: Args<'_>) -> Option<Name<'_>> {
    let cmd = args.get(0);
    let arg = args.opt(1)?;
    let is = |n: &str| cmd.eq_ignore_ascii_case(n.as_bytes());
    if is("eval") || is("eval_ro") {
        Some(Name::Body(arg))
    } else if is("evalsha") || is("evalsha_ro") {
        Some(Name::Sha(arg))
    } else {
        Some(Name::Function(arg))
    }
}

/// The route's `spans` of EVAL, EVALSHA and FCALL (and their _RO forms): does this
/// call hold every shard? Yes when the script reached other shards before.
pub fn spans(args: Args<'_>) -> bool {
    if !ANY_NEEDS_ALL.load(Ordering::Acquire) {
        return false;
    }
    match name_of_call(args) {
        Some(name) => needs_all().read().unwrap_or_else(|e| e.into_inner()).contains(&id_of(name)),
        None => false,
    }
}

/// Is `cmd` one that runs a script (EVAL, EVALSHA, FCALL and their _RO forms)?
pub fn is_script(cmd: &Command) -> bool {
    cmd.has(flags::NOSCRIPT) && matches!(cmd.name, "eval" | "eval_ro" | "evalsha" | "evalsha_ro" | "fcall" | "fcall_ro")
}

/// Remembers that the scripts `names` reach shards beyond their KEYS'.
fn remember_wide(names: &[Name<'_>]) {
    let mut set = needs_all().write().unwrap_or_else(|e| e.into_inner());
    if set.len() >= MAX_REMEMBERED {
        set.clear();
    }
    names.iter().for_each(|&name| {
        set.insert(id_of(name));
    });
    ANY_NEEDS_ALL.store(true, Ordering::Release);
}

/// Forgets which scripts reach out (SCRIPT FLUSH, a FUNCTION library changed).
pub fn forget_all() {
    if ANY_NEEDS_ALL.load(Ordering::Acquire) {
        needs_all().write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The run of one script on this thread.
struct Run {
    /// declared[s]: a KEYS entry lives on shard s.
    declared: Vec<bool>,
    reached_out: bool,
}

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
    /// Set when a run was abandoned to be rerun holding every shard.
    static RETRY: Cell<bool> = const { Cell::new(false) };
    /// Set by the dispatcher while it runs a script it can run again.
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (a script run) tracking what it reaches; remembers afterwards whether the
/// script stayed on the shards of `keys`.
pub fn scoped<R>(names: &[Name<'_>], keys: &[&[u8]], shards: usize, f: impl FnOnce() -> R) -> R {
    if shards == 1 {
        return f(); // every key is held: nothing to track
    }
    let mut declared = vec![false; shards];
    keys.iter().for_each(|k| declared[shard_of(k, shards)] = true);
    RETRY.with(|r| r.set(false));
    RUN.with(|r| *r.borrow_mut() = Some(Run { declared, reached_out: false }));
    let out = f();
    let run = RUN.with(|r| r.borrow_mut().take());
    if RETRY.with(Cell::get) || run.is_some_and(|run| run.reached_out) {
        remember_wide(names);
    }
    out
}

/// What a nested command may do about the shards it needs.
pub enum Check {
    Run,
    /// Abandon the run (nothing written yet, and the dispatcher can run it again).
    Retry,
    /// Lock these shards too before running it ([`grow`]).
    Grow(Vec<usize>),
}

/// Called by `redis.call` with the shards a command needs and whether each is held.
pub fn check(needed: &[usize], mut held: impl FnMut(usize) -> bool, wrote: bool) -> Check {
    if RETRY.with(Cell::get) {
        return Check::Retry;
    }
    RUN.with(|r| {
        if let Some(run) = r.borrow_mut().as_mut() {
            if needed.iter().any(|&s| !run.declared.get(s).copied().unwrap_or(true)) {
                run.reached_out = true;
            }
        }
    });
    let mut missing: Vec<usize> = needed.iter().copied().filter(|&s| !held(s)).collect();
    if missing.is_empty() {
        return Check::Run;
    }
    if !wrote && ARMED.with(Cell::get) {
        RETRY.with(|r| r.set(true));
        return Check::Retry;
    }
    missing.sort_unstable();
    missing.dedup();
    Check::Grow(missing)
}

/// Locks taken during a run, past the shards the dispatcher locked.
pub type Grown<'s> = Vec<(usize, MutexGuard<'s, Keyspace>)>;

/// How long a script waits for the shards it reaches before giving up: it may wait on
/// a thread that waits on a shard the script holds, so it only tries the locks.
const GROW_WAIT: Duration = Duration::from_secs(1);

/// Takes the locks of `missing` without waiting on any (two-phase locking keeps the
/// script atomic; trying instead of waiting avoids a deadlock with threads that lock
/// in shard order). False when one stayed busy for [`GROW_WAIT`] (the locks taken
/// stay held until the run ends).
pub fn grow<'s>(shared: &'s dyn Runtime, missing: &[usize], grown: &mut Grown<'s>) -> bool {
    let deadline = Instant::now() + GROW_WAIT;
    for &id in missing {
        loop {
            match shared.try_lock(id) {
                Some(g) => break grown.push((id, g)),
                None if Instant::now() < deadline => std::thread::yield_now(),
                None => return false,
            }
        }
    }
    true
}

/// Marks the run the dispatcher is about to start as one it can run again.
pub fn arm(on: bool) {
    ARMED.with(|a| a.set(on));
}

/// Was the last script run abandoned to be rerun holding every shard? Clears it and
/// disarms.
pub fn take_retry() -> bool {
    ARMED.with(|a| a.set(false));
    RETRY.with(|r| r.replace(false))
}

/// Drops a pending rerun (the script was killed).
pub fn cancel_retry() {
    RETRY.with(|r| r.set(false));
}

/// Before the locks a script took are released: the keys it wrote on those shards
/// (the command around it holds only its own) are handed to their shards' deferred
/// waiters, which those shards serve on their next turn.
pub fn defer_grown_wakeups(shared: &dyn Runtime, grown: &mut Grown<'_>) {
    if grown.is_empty() {
        return;
    }
    let shards = shared.shard_count();
    crate::commands::nested::retain_written(|key| {
            let owner = shard_of(key, shards);
            let Some((_, ks)) = grown.iter_mut().find(|(id, _)| *id == owner) else { return true };
            if !ks.blocked.deferred.contains(key) {
                ks.blocked.deferred.push(key.clone());
            }
            shared.wake_shard(owner);
            false
    });
}
