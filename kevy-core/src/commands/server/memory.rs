//! MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP, and the memory figures
//! INFO memory shares with MEMORY STATS.
//!
//! Allocated bytes come from the counting allocator when the program installed one
//! (kevy-server); in a host process, whose allocator kevy does not own, used_memory
//! is the keys' estimated cost (MEMORY USAGE over a bounded sample of keys per shard).

use crate::alloc_count;
use crate::commands::{errors, flags::*, Command, Ctx, KeySpec, Route};
use crate::resp::Args;
use crate::store::usage::DEFAULT_SAMPLES;

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, route: Route, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).route(route).group("server").summary(summary)
}

pub const COMMANDS: &[Command] = &[Command::new("memory", -2, 0, KeySpec::NONE, crate::commands::container).group("server").summary("A container for memory diagnostics commands").subcommands(SUBCOMMANDS)];

const SUBCOMMANDS: &[Command] = &[
    cmd("memory|usage", -3, READONLY, KeySpec::new(2, 2, 1), Route::Keys, usage, "Estimate the memory usage of a key"),
    cmd("memory|stats", 2, 0, KeySpec::NONE, Route::AllShards, stats, "Show memory usage details"),
    cmd("memory|doctor", 2, 0, KeySpec::NONE, Route::AllShards, doctor, "Outputs memory problems report"),
    cmd("memory|malloc-stats", 2, 0, KeySpec::NONE, Route::Keys, malloc_stats, "Show allocator internal stats"),
    cmd("memory|purge", 2, 0, KeySpec::NONE, Route::Keys, purge, "Ask the allocator to release memory"),
    cmd("memory|help", 2, LOADING | STALE, KeySpec::NONE, Route::Keys, help, "Show helpful text about the different subcommands"),
];

const HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

/// What INFO memory and MEMORY STATS report.
pub struct Figures {
    pub used: usize,
    pub peak: usize,
    pub startup: usize,
    pub rss: usize,
    /// The keyspaces' own tables: records' hash table and object table, and the
    /// volatile list (Redis's `overhead.hashtable.main` / `.expires`).
    pub tables_main: usize,
    pub tables_expires: usize,
    pub keys: usize,
}

impl Figures {
    /// Redis's `overhead.total`: startup memory plus the keyspaces' tables.
    pub fn overhead(&self) -> usize {
        self.startup + self.tables_main + self.tables_expires
    }
    /// Redis's `dataset.bytes`: what is not overhead.
    pub fn dataset(&self) -> usize {
        self.used.saturating_sub(self.overhead())
    }
    /// Redis's `mem_fragmentation_ratio`: resident over allocated.
    pub fn fragmentation(&self) -> f64 {
        if self.used == 0 {
            0.0
        } else {
            self.rss as f64 / self.used as f64
        }
    }
}

/// Resident memory of the process, from /proc.
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Keys per shard sized for INFO's estimate inside a host process.
const ESTIMATE_KEYS: usize = 1000;

/// The figures now, over the keyspaces this command holds (all shards for INFO and
/// MEMORY STATS, which run on every shard).
pub fn figures(ctx: &mut Ctx<'_>) -> Figures {
    let counting = alloc_count::is_counting();
    let mut f = Figures { used: 0, peak: 0, startup: alloc_count::startup_bytes(), rss: rss_bytes(), tables_main: 0, tables_expires: 0, keys: 0 };
    let mut estimate = 0;
    for (_, ks) in ctx.db.all() {
        let (main, expires) = ks.table_overhead();
        f.tables_main += main;
        f.tables_expires += expires;
        f.keys += ks.len();
        if !counting {
            estimate += ks.estimated_bytes(ESTIMATE_KEYS);
        }
    }
    (f.used, f.peak) = if counting { alloc_count::note_peak() } else { alloc_count::note_peak_of(estimate) };
    f
}

/// MEMORY USAGE key [SAMPLES count]
fn usage(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut samples = DEFAULT_SAMPLES;
    let mut i = 3;
    while i < args.len() {
        if !crate::commands::is(args.get(i), "SAMPLES") || i + 1 >= args.len() {
            return ctx.out.error(errors::SYNTAX);
        }
        match crate::num::parse_i64(args.get(i + 1)) {
            None => return ctx.out.error(errors::NOT_INTEGER),
            Some(n) if n < 0 => return ctx.out.error(errors::SYNTAX),
            // 0 samples every element (Redis: LLONG_MAX samples).
            Some(n) => samples = usize::try_from(n).unwrap_or(usize::MAX),
        }
        i += 2;
    }
    let key = args.get(2);
    match ctx.db.ks(key).memory_usage(key, ctx.now_ms, samples) {
        Some(bytes) => ctx.out.int(bytes as i64),
        None => ctx.out.null(),
    }
}

/// MEMORY STATS: Redis 7.0's fields in its order; kevy has no replication backlog,
/// cluster links or AOF buffer, and counts client buffers and scripts in the total.
fn stats(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let f = figures(ctx);
    let out = &mut ctx.out;
    let dbs = usize::from(f.keys > 0);
    out.map(27 + dbs);
    let ints: [(&str, usize); 10] = [
        ("peak.allocated", f.peak),
        ("total.allocated", f.used),
        ("startup.allocated", f.startup),
        ("replication.backlog", 0),
        ("clients.slaves", 0),
        ("clients.normal", 0),
        ("cluster.links", 0),
        ("aof.buffer", 0),
        ("lua.caches", 0),
        ("functions.caches", 0),
    ];
    for (name, value) in ints {
        out.bulk(name.as_bytes());
        out.int(value as i64);
    }
    if dbs > 0 {
        out.bulk(b"db.0");
        out.map(3);
        for (name, value) in [("overhead.hashtable.main", f.tables_main), ("overhead.hashtable.expires", f.tables_expires), ("overhead.hashtable.slot-to-keys", 0)] {
            out.bulk(name.as_bytes());
            out.int(value as i64);
        }
    }
    let percent = |part: usize, whole: usize| if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 };
    let net = f.used.saturating_sub(f.startup);
    let rss_extra = f.rss as i64 - f.used as i64;
    let fields: [(&str, Stat); 17] = [
        ("overhead.total", Stat::Int(f.overhead() as i64)),
        ("keys.count", Stat::Int(f.keys as i64)),
        ("keys.bytes-per-key", Stat::Int(net.checked_div(f.keys).unwrap_or(0) as i64)),
        ("dataset.bytes", Stat::Int(f.dataset() as i64)),
        ("dataset.percentage", Stat::Float(percent(f.dataset(), net))),
        ("peak.percentage", Stat::Float(percent(f.used, f.peak))),
        ("allocator.allocated", Stat::Int(f.used as i64)),
        ("allocator.active", Stat::Int(f.used as i64)),
        ("allocator.resident", Stat::Int(f.rss as i64)),
        ("allocator-fragmentation.ratio", Stat::Float(1.0)),
        ("allocator-fragmentation.bytes", Stat::Int(0)),
        ("allocator-rss.ratio", Stat::Float(f.fragmentation())),
        ("allocator-rss.bytes", Stat::Int(rss_extra)),
        ("rss-overhead.ratio", Stat::Float(1.0)),
        ("rss-overhead.bytes", Stat::Int(0)),
        ("fragmentation", Stat::Float(f.fragmentation())),
        ("fragmentation.bytes", Stat::Int(rss_extra)),
    ];
    for (name, value) in fields {
        out.bulk(name.as_bytes());
        match value {
            Stat::Int(n) => out.int(n),
            Stat::Float(x) => out.double(x),
        }
    }
}

enum Stat {
    Int(i64),
    Float(f64),
}

/// Redis's doctor speaks only above 5 MB allocated.
const DOCTOR_MIN_BYTES: usize = 5 * 1024 * 1024;

const DOCTOR_EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.";
const DOCTOR_FINE: &str = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.";

/// MEMORY DOCTOR: Redis's report. kevy has none of the problems Redis looks for
/// (replica buffers, big client buffers, jemalloc fragmentation) to report.
fn doctor(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let f = figures(ctx);
    let text = if f.used < DOCTOR_MIN_BYTES { DOCTOR_EMPTY } else { DOCTOR_FINE };
    ctx.out.verbatim(text.as_bytes());
}

/// MEMORY MALLOC-STATS: what Redis answers when not built with jemalloc.
fn malloc_stats(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.bulk(b"Stats not supported for the current allocator");
}

/// MEMORY PURGE: glibc keeps no dirty pages to purge on request; OK as Redis on libc.
fn purge(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.ok();
}

/// MEMORY HELP
fn help(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.array(HELP.len());
    for line in HELP {
        ctx.out.simple(line);
    }
}
