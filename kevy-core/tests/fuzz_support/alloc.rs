//! A counting global allocator for the fuzz test binary: each thread keeps its live
//! bytes and their peak, so a target can check what one input cost. An allocation
//! past a hard limit is refused (the process aborts with the allocation's size),
//! so a runaway input ends the run instead of the machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::io::Write;

/// No single thread of the fuzz run may hold more than this.
pub const HARD_LIMIT: usize = 2 << 30;

pub struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// The input this thread is running, printed if it passes the hard limit.
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static REPORTED: Cell<bool> = const { Cell::new(false) };
}

/// Records the input this thread is about to run (see [`HARD_LIMIT`]).
pub fn watch_input(input: &[u8]) {
    INPUT.with(|i| {
        let mut i = i.borrow_mut();
        i.clear();
        i.extend_from_slice(input);
    });
}

/// The process is about to abort on a refused allocation: say which input did it.
/// Formatting into stderr does not allocate.
fn report_breach(size: usize) {
    if REPORTED.with(|r| r.replace(true)) {
        return;
    }
    INPUT.with(|i| {
        if let Ok(input) = i.try_borrow() {
            let mut err = std::io::stderr();
            let _ = writeln!(err, "fuzz: an input passed the hard allocation limit ({size} more bytes asked)");
            let _ = writeln!(err, "  input ({} bytes): b\"{}\"", input.len(), input.escape_ascii());
        }
    });
}

fn grow(n: usize) -> bool {
    LIVE.with(|live| {
        let now = live.get() + n as isize;
        if now > HARD_LIMIT as isize {
            report_breach(n);
            return false;
        }
        live.set(now);
        PEAK.with(|peak| peak.set(peak.get().max(now)));
        true
    })
}

fn shrink(n: usize) {
    LIVE.with(|live| live.set(live.get() - n as isize));
}

// SAFETY: every call is forwarded to the system allocator with the same layout and
// pointer; the counters are plain thread-local integers that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !grow(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same layout as the caller's, as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !grow(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as in alloc.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        // SAFETY: ptr came from System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() && !grow(new_size - layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: ptr came from System with this layout.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if new_size < layout.size() && !moved.is_null() {
            shrink(layout.size() - new_size);
        }
        moved
    }
}

/// Starts measuring this thread: the peak from now on, relative to what it holds now.
pub fn reset_peak() -> isize {
    let live = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(live));
    live
}

/// Bytes above `base` this thread held at its peak since [`reset_peak`].
pub fn peak_since(base: isize) -> usize {
    (PEAK.with(Cell::get) - base).max(0) as usize
}
