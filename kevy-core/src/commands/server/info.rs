//! INFO: server, clients, memory, stats and keyspace sections, in Redis's layout.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use crate::commands::{flags::*, Command, Ctx, KeySpec, Route};
use crate::resp::Args;

pub const COMMANDS: &[Command] = &[Command::new("info", -1, LOADING | STALE, KeySpec::NONE, info).route(Route::AllShards).group("server").summary("Returns information and statistics about the server.")];

const SECTIONS: &[&str] = &["server", "clients", "memory", "persistence", "stats", "keyspace"];

/// INFO [section [section ...]]
fn info(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let wanted: Vec<String> = args.from(1).map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    let all = wanted.is_empty() || wanted.iter().any(|w| w == "all" || w == "everything" || w == "default");
    let mut text = String::new();
    for section in SECTIONS {
        if !all && !wanted.iter().any(|w| w == section) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        match *section {
            "server" => server(ctx, &mut text),
            "clients" => clients(ctx, &mut text),
            "memory" => memory(ctx, &mut text),
            "persistence" => persistence(ctx, &mut text),
            "stats" => stats(ctx, &mut text),
            _ => keyspace(ctx, &mut text),
        }
    }
    ctx.out.verbatim(text.as_bytes());
}

fn server(ctx: &Ctx<'_>, t: &mut String) {
    let counters = ctx.shared.counters();
    let uptime = ctx.now_ms.saturating_sub(counters.started_ms) / 1000;
    let _ = write!(
        t,
        "# Server\r\nredis_version:{}\r\nkevy_version:{}\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\n\
         multiplexing_api:{}\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\n\
         hz:{}\r\nshards:{}\r\nexecutable:{}\r\n",
        crate::REDIS_VERSION,
        crate::VERSION,
        std::env::consts::OS,
        std::env::consts::ARCH,
        ctx.shared.multiplexing_api(),
        std::process::id(),
        counters.port,
        uptime,
        uptime / 86400,
        ctx.shared.config().hz.load(Relaxed),
        ctx.shared.shard_count(),
        std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
    );
}

fn clients(ctx: &Ctx<'_>, t: &mut String) {
    let counters = ctx.shared.counters();
    let _ = write!(
        t,
        "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\n",
        counters.connected_clients,
        ctx.shared.config().maxclients.load(Relaxed),
        counters.blocked_clients,
    );
}

/// Bytes as Redis's `bytesToHuman` writes them (B, K, M, G, T with two decimals).
fn human(bytes: usize) -> String {
    let b = bytes as f64;
    const K: f64 = 1024.0;
    if b < K {
        format!("{bytes}B")
    } else if b < K * K {
        format!("{:.2}K", b / K)
    } else if b < K * K * K {
        format!("{:.2}M", b / (K * K))
    } else if b < K * K * K * K {
        format!("{:.2}G", b / (K * K * K))
    } else {
        format!("{:.2}T", b / (K * K * K * K))
    }
}

fn memory(ctx: &mut Ctx<'_>, t: &mut String) {
    let f = super::memory::figures(ctx);
    let percent = |part: usize, whole: usize| if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 };
    let (used, peak, rss, overhead, dataset) = (f.used, f.peak, f.rss, f.overhead(), f.dataset());
    let _ = write!(
        t,
        "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\n\
         used_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\n\
         used_memory_overhead:{overhead}\r\nused_memory_startup:{}\r\nused_memory_dataset:{dataset}\r\n\
         used_memory_dataset_perc:{:.2}%\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n\
         mem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_allocator:libc\r\n",
        human(used),
        human(rss),
        human(peak),
        percent(used, peak),
        f.startup,
        percent(dataset, used.saturating_sub(f.startup)),
        f.fragmentation(),
        rss as i64 - used as i64,
    );
}

fn persistence(ctx: &Ctx<'_>, t: &mut String) {
    let p = ctx.shared.persistence();
    let changes = p.changes_since_save;
    let _ = write!(
        t,
        "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:{changes}\r\nrdb_bgsave_in_progress:{}\r\n\
         rdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\n",
        p.bgsave_in_progress as u8,
        p.last_save_s,
        if p.last_save_ok { "ok" } else { "err" },
        p.aof_on as u8,
        p.aof_rewriting as u8,
    );
}

fn stats(ctx: &mut Ctx<'_>, t: &mut String) {
    let counters = ctx.shared.counters();
    let (mut hits, mut misses, mut expired) = (0, 0, 0);
    for (_, ks) in ctx.db.all() {
        hits += ks.stats.hits;
        misses += ks.stats.misses;
        expired += ks.stats.expired;
    }
    let _ = write!(
        t,
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nrejected_connections:{}\r\n\
         expired_keys:{expired}\r\nevicted_keys:0\r\nkeyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\n",
        counters.total_connections,
        counters.commands,
        counters.rejected_connections,
    );
}

fn keyspace(ctx: &mut Ctx<'_>, t: &mut String) {
    t.push_str("# Keyspace\r\n");
    let (mut keys, mut expires) = (0, 0);
    for (_, ks) in ctx.db.all() {
        keys += ks.len();
        expires += ks.volatile_len();
    }
    if keys > 0 {
        let _ = write!(t, "db0:keys={keys},expires={expires},avg_ttl=0\r\n");
    }
}
