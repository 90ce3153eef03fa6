//! The bytes the process has allocated, for INFO memory and MEMORY STATS, counted by a
//! global allocator that calls [`allocated`]/[`freed`] (kevy-server's does; see
//! `bin/kevy-server.rs`). In a host process (libkevy.so, the Python module) the host
//! owns the global allocator, nothing feeds these counters, and [`is_counting`] says so:
//! INFO then reports an estimate of what the keys cost.
//!
//! The count costs a few instructions per allocation and no shared cache line: each
//! thread adds to its own padded slot with a plain load and store (only it writes
//! there); readers sum the slots. Allocations freed on another thread leave one slot
//! positive and another negative; the sum is right. Threads past [`SLOTS`] share one
//! last slot through atomic adds.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};

use crate::heap_cost::alloc_cost;

/// Threads with a slot of their own.
const SLOTS: usize = 63;

/// One thread's net bytes, alone on its cache line.
#[repr(align(64))]
struct Slot(AtomicIsize);

static COUNTS: [Slot; SLOTS + 1] = [const { Slot(AtomicIsize::new(0)) }; SLOTS + 1];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static STARTUP: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot index (usize::MAX until its first allocation).
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline(always)]
fn add(delta: isize) {
    let slot = MY_SLOT.with(|s| {
        let mut i = s.get();
        if i == usize::MAX {
            i = NEXT_SLOT.fetch_add(1, Relaxed).min(SLOTS);
            s.set(i);
        }
        i
    });
    let count = &COUNTS[slot].0;
    if slot < SLOTS {
        count.store(count.load(Relaxed) + delta, Relaxed);
    } else {
        count.fetch_add(delta, Relaxed);
    }
}

/// A global allocator handed out a block of `size` bytes.
#[inline(always)]
pub fn allocated(size: usize) {
    add(alloc_cost(size) as isize);
}

/// A global allocator took back a block of `size` bytes.
#[inline(always)]
pub fn freed(size: usize) {
    add(-(alloc_cost(size) as isize));
}

/// Says that a counting allocator feeds [`allocated`]/[`freed`]; called once by the
/// program that installs it, before it starts a server.
pub fn start_counting() {
    COUNTING.store(true, Relaxed);
}

/// Whether a counting allocator is installed.
pub fn is_counting() -> bool {
    COUNTING.load(Relaxed)
}

/// The bytes allocated now (glibc chunks), and the peak as sampled by [`note_peak`].
pub fn used_bytes() -> usize {
    let sum: isize = COUNTS.iter().map(|s| s.0.load(Relaxed)).sum();
    sum.max(0) as usize
}

/// Samples the peak (INFO, MEMORY STATS and the server's cron call this, as Redis
/// samples `stat_peak_memory` in its cron): returns (used, peak).
pub fn note_peak() -> (usize, usize) {
    let used = used_bytes();
    let peak = PEAK.fetch_max(used, Relaxed).max(used);
    (used, peak)
}

/// [`note_peak`] for a figure that does not come from the counters (the estimate
/// INFO uses in a host process): returns (used, peak).
pub fn note_peak_of(used: usize) -> (usize, usize) {
    (used, PEAK.fetch_max(used, Relaxed).max(used))
}

/// Records the memory a started, empty server uses (Redis's `used_memory_startup`).
pub fn mark_startup() {
    STARTUP.store(used_bytes(), Relaxed);
}

/// Redis's `used_memory_startup`.
pub fn startup_bytes() -> usize {
    STARTUP.load(Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_net_bytes_across_threads() {
        let before = used_bytes() as isize;
        allocated(100);
        let t = std::thread::spawn(|| freed(100));
        t.join().unwrap();
        allocated(1000);
        assert_eq!(used_bytes() as isize - before, alloc_cost(1000) as isize);
        freed(1000);
        let (used, peak) = note_peak();
        assert!(peak >= used);
    }
}
