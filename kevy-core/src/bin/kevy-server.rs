//! `kevy-server`: runs a kevy server in the foreground, configured like redis-server
//! (`kevy-server [redis.conf] [--name value ...]`).

use std::sync::atomic::{AtomicBool, Ordering};

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
    let server = match kevy_core::Server::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kevy-server: cannot start: {e}");
            std::process::exit(1);
        }
    };
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
