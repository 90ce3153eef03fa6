//! The bounded fuzz run (no nightly needed): for each target of fuzz_support/targets.rs
//! it replays the committed corpus (fuzz/corpus/<target>/), then feeds structure-aware
//! random inputs (fuzz_support/gen.rs) for a time budget. Every input runs on a worker
//! thread under a time limit (a hang fails the run) and with its allocation counted (a
//! peak past a bound tied to the input's size fails it).
//!
//! KEVY_FUZZ_SECONDS: the budget of all targets together, shared by weight (default
//! 20; test.sh gives it about 3 minutes). KEVY_FUZZ_SEED: the generator's seed (printed
//! at the start, so a failing run can be repeated). A failing input is printed escaped
//! and written to target/fuzz-findings/.

#[path = "fuzz_support/alloc.rs"]
mod alloc;
#[path = "fuzz_support/gen.rs"]
mod gen;
#[path = "fuzz_support/targets.rs"]
mod targets;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gen::Rng;
use kevy_core::{Reply, Server};

#[global_allocator]
static COUNTING: alloc::Counting = alloc::Counting;

/// Generous: the machine running this may be loaded; a real hang never returns.
const HANG_LIMIT: Duration = Duration::from_secs(20);

fn budget(weight: u32) -> Duration {
    let total: f64 = std::env::var("KEVY_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20.0);
    Duration::from_secs_f64(total * weight as f64 / 10.0)
}

fn seed() -> u64 {
    std::env::var("KEVY_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x6b65_7679)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = repo_root().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).expect("corpus file")).collect()
}

/// Runs inputs of one target on a worker thread, each under [`HANG_LIMIT`], and
/// checks the peak allocation of each against `bound(input length)`.
struct Runner {
    name: &'static str,
    jobs: mpsc::Sender<Vec<u8>>,
    done: mpsc::Receiver<Result<usize, String>>,
    bound: fn(usize) -> usize,
    inputs: u64,
    busy: Duration,
}

impl Runner {
    fn new(name: &'static str, bound: fn(usize) -> usize, target: impl FnMut(&[u8]) + Send + 'static) -> Runner {
        count_panics();
        let (jobs, inbox) = mpsc::channel::<Vec<u8>>();
        let (outbox, done) = mpsc::channel();
        let mut target = target;
        std::thread::Builder::new()
            .name(format!("fuzz-{name}"))
            .spawn(move || {
                for input in inbox {
                    alloc::watch_input(&input);
                    let (base, panics) = (alloc::reset_peak(), PANICS.with(Cell::get));
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&input)));
                    let peak = alloc::peak_since(base);
                    let outcome = match outcome {
                        Err(e) => Err(panic_text(&e)),
                        // kevy catches a handler's panic (an error reply): a bug all the same.
                        Ok(()) if PANICS.with(Cell::get) != panics => Err("a panic inside kevy, caught there".into()),
                        Ok(()) => Ok(peak),
                    };
                    let sent = outbox.send(outcome);
                    if sent.is_err() {
                        return;
                    }
                }
            })
            .expect("worker thread");
        Runner { name, jobs, done, bound, inputs: 0, busy: Duration::ZERO }
    }

    fn run(&mut self, input: &[u8]) {
        let started = Instant::now();
        self.jobs.send(input.to_vec()).expect("worker alive");
        let outcome = match self.done.recv_timeout(HANG_LIMIT) {
            Ok(o) => o,
            Err(_) => {
                // The worker is stuck inside kevy and cannot be stopped: report and end.
                self.report(input, &format!("no answer within {HANG_LIMIT:?} (a hang)"));
                eprintln!("fuzz {}: exiting: a hung input cannot be cancelled", self.name);
                std::process::exit(101);
            }
        };
        self.busy += started.elapsed();
        self.inputs += 1;
        match outcome {
            Err(msg) => self.fail(input, &format!("panicked: {msg}")),
            Ok(peak) if peak > (self.bound)(input.len()) => {
                let bound = (self.bound)(input.len());
                self.fail(input, &format!("allocated {peak} bytes at its peak (bound {bound} for {} bytes)", input.len()))
            }
            Ok(_) => {}
        }
    }

    fn report(&self, input: &[u8], what: &str) {
        let dir = repo_root().join("target/fuzz-findings");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{}-{:016x}", self.name, kevy_core::persist::crc64::crc64(0, input)));
        let _ = std::fs::write(&file, input);
        eprintln!("fuzz {}: {what}\n  input ({} bytes, saved as {}): b\"{}\"", self.name, input.len(), file.display(), input.escape_ascii());
    }

    fn fail(&self, input: &[u8], what: &str) -> ! {
        self.report(input, what);
        panic!("fuzz {}: {what}", self.name);
    }

    /// The corpus, then generated inputs until the budget is spent.
    fn campaign(mut self, weight: u32, mut generate: impl FnMut(&mut Rng) -> Vec<u8>) {
        for input in corpus(self.name) {
            self.run(&input);
        }
        let replayed = self.inputs;
        let mut rng = Rng::new(seed() ^ kevy_core::persist::crc64::crc64(0, self.name.as_bytes()));
        let deadline = Instant::now() + budget(weight);
        while Instant::now() < deadline {
            let input = generate(&mut rng);
            self.run(&input);
        }
        let per_s = self.inputs as f64 / self.busy.as_secs_f64().max(1e-9);
        eprintln!(
            "fuzz {}: {replayed} corpus inputs, {} generated in {:.1?} ({per_s:.0} inputs/s), seed {}",
            self.name,
            self.inputs - replayed,
            budget(weight),
            seed()
        );
    }
}

thread_local! {
    /// Panics on this thread so far, caught or not.
    static PANICS: Cell<u64> = const { Cell::new(0) };
}

/// Counts every panic on the thread it happens (then reports it as usual), so the
/// ones kevy catches and turns into error replies are seen too.
fn count_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            report(info);
        }));
    });
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

/// Parsers hold spans (8 bytes per argument) and inline copies: a few times the input.
fn parser_bound(len: usize) -> usize {
    64 * 1024 + 32 * len
}

/// Loaders build values from compact encodings (a 1-byte listpack integer becomes an
/// element); a server start has fixed costs besides.
fn loader_bound(len: usize) -> usize {
    64 * 1024 * 1024 + 256 * len
}

/// Dispatch runs with proto-max-bulk-len 1mb: no command needs much more than that.
fn dispatch_bound(len: usize) -> usize {
    32 * 1024 * 1024 + 64 * len
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kevy-fuzz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The RDB seeds: the committed rdb_load corpus files that start as RDB files do.
fn rdb_seeds() -> Vec<Vec<u8>> {
    corpus("rdb_load").into_iter().filter(|f| f.starts_with(b"REDIS")).collect()
}

/// A server for the command grammar: what COMMAND INFO says of every command.
type Grammar = Vec<gen::CommandSpec>;

fn grammar() -> Grammar {
    let server = targets::start_in(&scratch_dir("grammar"), 1, false).expect("server");
    let Reply::Array(infos) = server.call(&["COMMAND", "INFO"]) else { panic!("COMMAND INFO") };
    let mut out = Vec::new();
    for info in infos {
        let Reply::Array(fields) = info else { continue };
        let (Some(Reply::Bulk(name)), Some(Reply::Int(arity))) = (fields.first(), fields.get(1)) else { continue };
        let subs = match fields.get(9) {
            Some(Reply::Array(subs)) => subs
                .iter()
                .filter_map(|s| match s {
                    Reply::Array(f) => match f.first() {
                        Some(Reply::Bulk(full)) => full.split(|&b| b == b'|').nth(1).map(<[u8]>::to_vec),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        if !targets::excluded(std::slice::from_ref(name)) {
            out.push((name.clone(), *arity, subs));
        }
    }
    server.stop();
    assert!(out.len() > 100, "COMMAND INFO listed {} commands", out.len());
    out
}

#[test]
fn fuzz_resp_multibulk() {
    Runner::new("resp_multibulk", parser_bound, targets::resp_multibulk).campaign(1, gen::multibulk);
}

#[test]
fn fuzz_resp_inline() {
    Runner::new("resp_inline", parser_bound, targets::resp_inline).campaign(1, gen::inline);
}

#[test]
fn fuzz_rdb_load() {
    let seeds = rdb_seeds();
    let dir = scratch_dir("rdb");
    // A file the reader takes is also loaded by a server and every key read back.
    let target = move |data: &[u8]| {
        if targets::rdb_load(data) {
            targets::rdb_server(&dir, data);
        }
    };
    Runner::new("rdb_load", loader_bound, target).campaign(2, move |rng| gen::rdb(rng, &seeds));
}

#[test]
fn fuzz_aof_load() {
    let (seeds, names) = (rdb_seeds(), grammar());
    let dir = scratch_dir("aof");
    Runner::new("aof_load", loader_bound, move |data: &[u8]| targets::aof_load(&dir, data))
        .campaign(2, move |rng| gen::aof(rng, &seeds, &names));
}

#[test]
fn fuzz_dispatch() {
    let names = grammar();
    let servers = std::sync::Arc::new([1, 3].map(|n| targets::dispatch_server(&scratch_dir(&format!("dispatch-{n}")), n)));
    let ports: Vec<u16> = servers.iter().map(Server::port).collect();
    let held = std::sync::Arc::clone(&servers);
    let target = move |data: &[u8]| {
        let commands = targets::decode_commands(data);
        for server in held.iter() {
            targets::dispatch(server, &commands);
        }
    };
    Runner::new("dispatch", dispatch_bound, target).campaign(4, move |rng| gen::dispatch_input(rng, &names));
    // The shard threads still serve sockets after everything the target ran.
    for port in ports {
        assert!(!servers.iter().any(Server::is_stopping));
        for _ in 0..6 {
            assert_eq!(tcp_ping(port), b"+PONG\r\n", "PING over TCP on port {port}");
        }
    }
}

fn tcp_ping(port: u16) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).expect("PONG");
    buf.to_vec()
}
