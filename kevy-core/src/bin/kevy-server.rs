//! `kevy-server`: runs a kevy server in the foreground, configured like redis-server
//! (`kevy-server [redis.conf] [--name value ...]`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// The system allocator, counting the bytes it hands out (INFO memory's used_memory,
/// known without a syscall). Only this binary installs it: libkevy.so and the Python
/// module run inside a host that owns the global allocator.
struct Counting;

// SAFETY: every call goes to `System` unchanged; the counting beside it allocates
// nothing and touches only atomics and a const-initialised thread-local.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            kevy_core::alloc_count::allocated(layout.size());
        }
        p
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            kevy_core::alloc_count::allocated(layout.size());
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        kevy_core::alloc_count::freed(layout.size());
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            kevy_core::alloc_count::freed(layout.size());
            kevy_core::alloc_count::allocated(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

const HELP: &str = "\
Usage: kevy-server [/path/to/redis.conf] [--name value ...]

A Redis-compatible server. Every parameter takes Redis's name, e.g.:
  --port 6379          TCP port (0: pick a free one and print it)
  --bind 127.0.0.1     listen address(es)
  --shards N           shard threads (default: number of cores)
  --proto-max-bulk-len 512mb
  --maxclients 10000
  --hz 10
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return;
    }
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("kevy-server v={} (redis {})", kevy_core::VERSION, kevy_core::REDIS_VERSION);
        return;
    }
    let config = match kevy_core::Config::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kevy-server: {e}");
            std::process::exit(1);
        }
    };
    kevy_core::alloc_count::start_counting();
    let server = match kevy_core::Server::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kevy-server: cannot start: {e}");
            std::process::exit(1);
        }
    };
    kevy_core::alloc_count::mark_startup();
    // SAFETY: installs an async-signal-safe handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    println!("kevy {} ready: port {} shards {}", kevy_core::VERSION, server.port(), server.shards());
    while !STOP.load(Ordering::SeqCst) && !server.is_stopping() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    server.stop();
    println!("kevy: stopped");
}
