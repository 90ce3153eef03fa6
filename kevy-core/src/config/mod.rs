//! Configuration: one table of parameters under Redis's names. `kevy-server --name value`,
//! redis.conf-style files, the C and Python bindings and `CONFIG GET/SET` all read and
//! write this one table.

pub mod fsync;
pub mod notify;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

/// What values a parameter takes.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// An integer in [min, max].
    Int { min: i64, max: i64 },
    /// A byte count with optional unit (k, kb, m, mb, g, gb), at least `min`.
    Memory { min: u64 },
    /// Free text.
    Text,
    /// A listen address list (one or more space-separated addresses).
    Addresses,
    /// `notify-keyspace-events` letters (shown in Redis's canonical order).
    NotifyFlags,
    /// `client-output-buffer-limit`: `<class> <hard> <soft> <seconds>` groups.
    OutputLimits,
    /// `save` rules: pairs of non-negative integers, or empty.
    SaveRules,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// One configuration parameter.
struct Param {
    name: &'static str,
    default: &'static str,
    kind: Kind,
    /// Can `CONFIG SET` change it on a running server?
    mutable: bool,
}

/// Every parameter kevy knows. Add a knob here and it is reachable everywhere.
const PARAMS: &[Param] = &[
    Param { name: "port", default: "6379", kind: Kind::Int { min: 0, max: 65535 }, mutable: false },
    Param { name: "bind", default: "127.0.0.1", kind: Kind::Addresses, mutable: false },
    Param { name: "shards", default: "0", kind: Kind::Int { min: 0, max: 1024 }, mutable: false },
    Param { name: "tcp-backlog", default: "511", kind: Kind::Int { min: 0, max: i32::MAX as i64 }, mutable: false },
    Param { name: "databases", default: "1", kind: Kind::Int { min: 1, max: 1 }, mutable: false },
    Param { name: "maxclients", default: "10000", kind: Kind::Int { min: 1, max: u32::MAX as i64 }, mutable: true },
    Param { name: "hz", default: "10", kind: Kind::Int { min: 0, max: i32::MAX as i64 }, mutable: true },
    // Seconds a client may stay idle before it is closed; 0 never. Subscribers and
    // clients blocked in a command are exempt, as in Redis.
    Param { name: "timeout", default: "0", kind: Kind::Int { min: 0, max: i32::MAX as i64 }, mutable: true },
    // Milliseconds a script may run before commands needing its shard get -BUSY
    // (SCRIPT KILL works at any time). `lua-time-limit` is its old name.
    Param { name: "busy-reply-threshold", default: "5000", kind: Kind::Int { min: 0, max: i64::MAX }, mutable: true },
    Param {
        name: "proto-max-bulk-len",
        default: "536870912",
        kind: Kind::Memory { min: 1024 * 1024 },
        mutable: true,
    },
    Param {
        name: "client-query-buffer-limit",
        default: "1073741824",
        kind: Kind::Memory { min: 1024 * 1024 },
        mutable: true,
    },
    Param { name: "dir", default: ".", kind: Kind::Text, mutable: true },
    // Redis's file name for a single snapshot: kevy imports it when the directory has
    // no kevy layout yet (its own snapshots are dump-<shard>.rdb).
    Param { name: "dbfilename", default: "dump.rdb", kind: Kind::Text, mutable: true },
    // `<seconds> <changes>` pairs; empty (kevy's default, unlike Redis's) saves only on
    // SAVE/BGSAVE/SHUTDOWN SAVE, so an embedded server writes no files unasked.
    Param { name: "save", default: "", kind: Kind::SaveRules, mutable: true },
    // The append-only file per shard (appendonly-<id>.aof). CONFIG SET switches it: the
    // AOF thread then writes every shard's file from its keys, with all shards locked.
    Param { name: "notify-keyspace-events", default: "", kind: Kind::NotifyFlags, mutable: true },
    // `<class> <hard> <soft> <soft-seconds>` groups; normal and pubsub are enforced,
    // the slave (replica) class is kept for replication.
    Param {
        name: "client-output-buffer-limit",
        default: OUTPUT_LIMITS_DEFAULT,
        kind: Kind::OutputLimits,
        mutable: true,
    },
    Param { name: "appendonly", default: "no", kind: Kind::Choice(&["no", "yes"]), mutable: true },
    Param { name: "appendfsync", default: "everysec", kind: Kind::Choice(&["always", "everysec", "no"]), mutable: true },
    Param { name: "aof-load-truncated", default: "yes", kind: Kind::Choice(&["yes", "no"]), mutable: true },
    // kevy's own: `yes` starts even when shard files the layout records are missing
    // (logging each one); `no` refuses to start, naming them.
    Param { name: "aof-load-missing", default: "no", kind: Kind::Choice(&["yes", "no"]), mutable: true },
    Param { name: "auto-aof-rewrite-percentage", default: "100", kind: Kind::Int { min: 0, max: i32::MAX as i64 }, mutable: true },
    Param { name: "auto-aof-rewrite-min-size", default: "67108864", kind: Kind::Memory { min: 0 }, mutable: true },
    // The longest a sparse HyperLogLog grows (header included) before PFADD/PFMERGE
    // turn it dense.
    Param { name: "hll-sparse-max-bytes", default: "3000", kind: Kind::Memory { min: 0 }, mutable: true },
    // Microseconds a command must take to enter SLOWLOG (-1: off, 0: every command),
    // and how many entries the log keeps.
    Param { name: "slowlog-log-slower-than", default: "10000", kind: Kind::Int { min: -1, max: i64::MAX }, mutable: true },
    Param { name: "slowlog-max-len", default: "128", kind: Kind::Int { min: 0, max: i64::MAX }, mutable: true },
    // Milliseconds a command must take to be a LATENCY event (0: the monitor is off).
    Param { name: "latency-monitor-threshold", default: "0", kind: Kind::Int { min: 0, max: i64::MAX }, mutable: true },
    // kevy's own: the shard reactor. `auto` uses io_uring where the kernel allows it
    // and falls back to epoll with a log line; `on` refuses to start without it. The
    // KEVY_IO_URING environment variable overrides it.
    Param { name: "io-uring", default: "auto", kind: Kind::Choice(&["auto", "on", "off"]), mutable: false },
    // kevy's own: `manual` freezes the server's clock until the host advances it
    // (Server::advance), so TTLs and blocking timeouts are tested without sleeping.
    Param { name: "clock", default: "system", kind: Kind::Choice(&["system", "manual"]), mutable: false },
    // How full a list node grows: -1..-5 a size of 4..64 KB, positive a count of
    // elements (within 8 KB). Read when a node is written, so a change governs the
    // nodes written from then on. `list-max-ziplist-size` is its old name.
    Param {
        name: "list-max-listpack-size",
        default: "-2",
        kind: Kind::Int { min: i32::MIN as i64, max: i32::MAX as i64 },
        mutable: true,
    },
    // The default user's password; empty: none (every connection is authenticated).
    // Changing it keeps existing connections authenticated, as Redis.
    Param { name: "requirepass", default: "", kind: Kind::Text, mutable: true },
    // The password a replica gives its master: kept for configuration files (kevy has
    // no replication yet).
    Param { name: "masterauth", default: "", kind: Kind::Text, mutable: true },
    // With no password, connections from outside loopback are refused (DENIED).
    Param { name: "protected-mode", default: "yes", kind: Kind::Choice(&["yes", "no"]), mutable: true },
    // Who may CONFIG SET the protected configs (`PROTECTED_CONFIGS`): `no` nobody over
    // a connection, `local` loopback clients, `yes` anyone. The host always may.
    Param { name: "enable-protected-configs", default: "no", kind: Kind::Choice(ALLOW_LEVELS), mutable: false },
    // Accepted as Redis 7.0 (kevy has no DEBUG or MODULE command to gate yet).
    Param { name: "enable-debug-command", default: "no", kind: Kind::Choice(ALLOW_LEVELS), mutable: false },
    Param { name: "enable-module-command", default: "no", kind: Kind::Choice(ALLOW_LEVELS), mutable: false },
];

/// The values of the `enable-*` settings.
const ALLOW_LEVELS: &[&str] = &["no", "local", "yes"];

/// Redis 7.0's PROTECTED_CONFIG parameters: where files are written. Changing them
/// over a connection is what the write-a-file-anywhere attack needs.
const PROTECTED_CONFIGS: &[&str] = &["dir", "dbfilename"];

/// Who is changing the configuration, for the protected configs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Origin {
    /// The embedding host (Server::call, kevy_call, Server.call): full control.
    Host,
    /// A client connection; `local`: from loopback.
    Client { local: bool },
}

fn param(name: &str) -> Option<&'static Param> {
    let name = if name.eq_ignore_ascii_case("lua-time-limit") {
        "busy-reply-threshold"
    } else if name.eq_ignore_ascii_case("list-max-ziplist-size") {
        "list-max-listpack-size"
    } else {
        name
    };
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// A configuration error, with Redis's wording for the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Unknown(String),
    Invalid { name: String, reason: String },
    Immutable(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unknown(n) => write!(f, "unknown config parameter '{n}'"),
            ConfigError::Invalid { name, reason } => write!(f, "invalid value for '{name}': {reason}"),
            ConfigError::Immutable(n) => write!(f, "'{n}' can't be changed on a running server"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Parses a Redis memory value: digits with an optional unit (case-insensitive).
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    // Like Redis's memtoull, an empty number reads as 0 (then fails the range check).
    let n: u64 = if digits.is_empty() && unit.is_empty() { 0 } else { digits.parse().ok()? };
    let mult = unit_multiplier(unit)?;
    n.checked_mul(mult)
}

/// Checks `value` for `p` and returns its canonical text (what CONFIG GET shows).
fn validate(p: &Param, value: &str) -> Result<String, String> {
    match p.kind {
        Kind::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if n >= min && n <= max => Ok(n.to_string()),
            Ok(_) => Err(format!("argument must be between {min} and {max} inclusive")),
            Err(_) => Err("argument couldn't be parsed into an integer".into()),
        },
        Kind::Memory { min } => match parse_memory(value) {
            Some(n) if n >= min && n <= i64::MAX as u64 => Ok(n.to_string()),
            Some(_) => Err(format!("argument must be between {min} and {} inclusive", i64::MAX)),
            None => Err("argument must be a memory value".into()),
        },
        Kind::Text => Ok(value.to_string()),
        Kind::NotifyFlags => notify::parse_flags(value)
            .map(notify::format_flags)
            .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmd'.".to_string()),
        // Needs the current value (a group changes only its class): see `merge_output_limits`.
        Kind::OutputLimits => merge_output_limits(OUTPUT_LIMITS_DEFAULT, value),
        Kind::SaveRules => {
            let words: Vec<&str> = value.split_whitespace().collect();
            if words.len() % 2 != 0 || words.iter().any(|w| w.parse::<u64>().is_err()) {
                return Err("Invalid save parameters".into());
            }
            Ok(words.join(" "))
        }
        Kind::Choice(words) => words
            .iter()
            .find(|w| w.eq_ignore_ascii_case(value))
            .map(|w| w.to_string())
            .ok_or_else(|| format!("argument must be one of: {}", words.join(", "))),
        Kind::Addresses => {
            let addrs: Vec<&str> = value.split_whitespace().collect();
            if addrs.is_empty() || addrs.iter().any(|a| a.parse::<std::net::IpAddr>().is_err()) {
                return Err("Invalid bind address".into());
            }
            Ok(addrs.join(" "))
        }
    }
}

/// `client-output-buffer-limit` as Redis starts with it (normal clients unlimited).
const OUTPUT_LIMITS_DEFAULT: &str = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/// The client classes of `client-output-buffer-limit`, in the order CONFIG GET shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputClass {
    /// Every client not subscribed to anything (MONITOR too, as in Redis).
    Normal = 0,
    /// Replicas (`slave` or `replica`): parsed and kept for replication.
    Replica = 1,
    /// Clients subscribed to at least one channel or pattern.
    Pubsub = 2,
}

const OUTPUT_CLASS_NAMES: [&str; 3] = ["normal", "slave", "pubsub"];

/// One class's output buffer limit; 0 turns a limit off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLimit {
    /// Unsent bytes at which the client is closed at once.
    pub hard: u64,
    /// Unsent bytes the client may stay at or over for `soft_secs` seconds.
    pub soft: u64,
    pub soft_secs: u64,
}

/// Reads a canonical `client-output-buffer-limit` value (three groups, bytes).
fn output_limits(canonical: &str) -> [OutputLimit; 3] {
    let mut out = [OutputLimit::default(); 3];
    let words: Vec<&str> = canonical.split_whitespace().collect();
    for g in words.chunks_exact(4) {
        if let Some(class) = OUTPUT_CLASS_NAMES.iter().position(|n| *n == g[0]) {
            let num = |w: &str| w.parse::<u64>().unwrap_or(0);
            out[class] = OutputLimit { hard: num(g[1]), soft: num(g[2]), soft_secs: num(g[3]) };
        }
    }
    out
}

/// Redis's `memtoull` exactly: digits and a unit; an overflowing number saturates and
/// the unit's multiplication wraps, as in C.
fn memtoull(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let mult = unit_multiplier(&unit.to_ascii_lowercase())?;
    if digits.len() >= 128 {
        return None;
    }
    let n = if digits.is_empty() { 0 } else { digits.parse::<u64>().unwrap_or(u64::MAX) };
    Some(n.wrapping_mul(mult))
}

/// Soft seconds as Redis reads them: `strtoll` (saturating) stored in a C `int`,
/// refused when that is negative.
fn soft_seconds(s: &str) -> Option<u64> {
    use std::num::IntErrorKind;
    let n = match s.parse::<i64>() {
        Ok(n) => n,
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => i64::MAX,
        Err(e) if *e.kind() == IntErrorKind::NegOverflow => i64::MIN,
        Err(_) => return None,
    };
    let secs = n as i32;
    (secs >= 0).then_some(secs as u64)
}

/// Applies `<class> <hard> <soft> <seconds>` groups to the `current` value: each group
/// changes only its class, the whole value is refused if one group is wrong, and an
/// empty value changes nothing (Redis's rules and error texts). Returns the new value.
fn merge_output_limits(current: &str, value: &str) -> Result<String, String> {
    const BAD_NUMBER: &str = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = output_limits(current);
    for g in words.chunks_exact(4) {
        let class = match g[0].to_ascii_lowercase().as_str() {
            "normal" => OutputClass::Normal,
            "slave" | "replica" => OutputClass::Replica,
            "pubsub" => OutputClass::Pubsub,
            _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
        };
        let (Some(hard), Some(soft), Some(soft_secs)) = (memtoull(g[1]), memtoull(g[2]), soft_seconds(g[3])) else {
            return Err(BAD_NUMBER.into());
        };
        limits[class as usize] = OutputLimit { hard, soft, soft_secs };
    }
    let groups = OUTPUT_CLASS_NAMES.iter().zip(limits);
    Ok(groups.map(|(name, l)| format!("{name} {} {} {}", l.hard, l.soft, l.soft_secs)).collect::<Vec<_>>().join(" "))
}

/// Checks `value` for `p` against the parameter's current value `current` (which
/// `client-output-buffer-limit` groups change in part); returns the canonical text.
fn validate_over(p: &Param, current: Option<&str>, value: &str) -> Result<String, String> {
    match p.kind {
        Kind::OutputLimits => merge_output_limits(current.unwrap_or(OUTPUT_LIMITS_DEFAULT), value),
        _ => validate(p, value),
    }
}

/// A validated set of parameter values. Build one, then start a server with it.
#[derive(Clone, Debug)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config { values: PARAMS.iter().map(|p| (p.name, p.default.to_string())).collect() }
    }
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a parameter by its Redis name, validating the value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<&mut Self, ConfigError> {
        let p = param(name).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        let current = self.values.get(p.name).map(String::as_str);
        let v = validate_over(p, current, value)
            .map_err(|reason| ConfigError::Invalid { name: p.name.into(), reason })?;
        self.values.insert(p.name, v);
        Ok(self)
    }

    /// The current value of a parameter, by its Redis name.
    pub fn get(&self, name: &str) -> Option<&str> {
        param(name).and_then(|p| self.values.get(p.name)).map(String::as_str)
    }

    fn int(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).expect("validated integer parameter")
    }

    pub fn port(&self) -> u16 {
        self.int("port") as u16
    }
    /// Shard count: the configured one, or the number of cores when 0.
    pub fn shards(&self) -> usize {
        match self.int("shards") {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n as usize,
        }
    }
    pub fn bind(&self) -> Vec<String> {
        self.get("bind").unwrap_or("127.0.0.1").split_whitespace().map(String::from).collect()
    }
    pub fn tcp_backlog(&self) -> i32 {
        self.int("tcp-backlog") as i32
    }
    /// Is the append-only file on?
    /// `list-max-listpack-size`.
    pub fn list_max_listpack_size(&self) -> i64 {
        self.int("list-max-listpack-size")
    }

    pub fn appendonly(&self) -> bool {
        self.get("appendonly") == Some("yes")
    }
    /// Does the server's clock only move when the host advances it?
    pub fn manual_clock(&self) -> bool {
        self.get("clock") == Some("manual")
    }

    /// Reads `--name value [value...]` pairs, as redis-server takes them. A first
    /// argument not starting with `--` names a redis.conf-style file read before them.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Config, ConfigError> {
        let args: Vec<String> = args.into_iter().collect();
        let mut cfg = Config::new();
        let mut i = 0;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                let text = std::fs::read_to_string(first)
                    .map_err(|e| ConfigError::Invalid { name: "config file".into(), reason: format!("{first}: {e}") })?;
                cfg.load_text(&text)?;
                i = 1;
            }
        }
        while i < args.len() {
            let name = args[i]
                .strip_prefix("--")
                .ok_or_else(|| ConfigError::Invalid { name: args[i].clone(), reason: "expected --name".into() })?;
            let mut values = Vec::new();
            i += 1;
            while i < args.len() && !args[i].starts_with("--") {
                values.push(args[i].as_str());
                i += 1;
            }
            cfg.set(name, &values.join(" "))?;
        }
        Ok(cfg)
    }

    /// Reads a redis.conf-style text: `name value...` per line, `#` comments.
    pub fn load_text(&mut self, text: &str) -> Result<&mut Self, ConfigError> {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let value = rest.trim().trim_matches('"');
            self.set(name, value)?;
        }
        Ok(self)
    }
}

/// The configuration of a running server: the table behind CONFIG GET/SET, plus the
/// values the hot path reads kept in atomics so no lock is taken per command.
pub struct LiveConfig {
    table: RwLock<Config>,
    pub proto_max_bulk_len: AtomicU64,
    pub client_query_buffer_limit: AtomicU64,
    pub maxclients: AtomicU64,
    pub hz: AtomicU64,
    /// `timeout`: idle seconds before a client is closed (0: never).
    pub timeout: AtomicU64,
    /// Are `save` rules configured? (Shard 0 then ticks to check them.)
    pub saving: std::sync::atomic::AtomicBool,
    /// `appendfsync` as `persist::aof::Fsync`.
    pub appendfsync: std::sync::atomic::AtomicU8,
    /// `notify-keyspace-events` as `shard::notify::class` bits.
    pub notify_flags: std::sync::atomic::AtomicU32,
    /// `hll-sparse-max-bytes`.
    pub hll_sparse_max_bytes: AtomicU64,
    /// `slowlog-log-slower-than` in µs (negative: the slow log is off).
    pub slowlog_slower_than: std::sync::atomic::AtomicI64,
    /// `slowlog-max-len`.
    pub slowlog_max_len: AtomicU64,
    /// `latency-monitor-threshold` in ms (0: off).
    pub latency_threshold_ms: AtomicU64,
    /// Do shards time each command (the slow log or the latency monitor is on)?
    pub time_commands: std::sync::atomic::AtomicBool,
    /// `client-output-buffer-limit` per `OutputClass`: hard, soft, soft seconds.
    output_limits: [[AtomicU64; 3]; 3],
    /// Is `requirepass` set? New connections then start unauthenticated.
    pub requirepass_set: std::sync::atomic::AtomicBool,
    /// `protected-mode yes`.
    pub protected_mode: std::sync::atomic::AtomicBool,
}

impl LiveConfig {
    pub fn new(cfg: Config) -> Self {
        let live = LiveConfig {
            proto_max_bulk_len: AtomicU64::new(0),
            client_query_buffer_limit: AtomicU64::new(0),
            maxclients: AtomicU64::new(0),
            hz: AtomicU64::new(0),
            timeout: AtomicU64::new(0),
            hll_sparse_max_bytes: AtomicU64::new(0),
            slowlog_slower_than: Default::default(),
            slowlog_max_len: AtomicU64::new(0),
            latency_threshold_ms: AtomicU64::new(0),
            time_commands: Default::default(),
            saving: Default::default(),
            appendfsync: Default::default(),
            output_limits: Default::default(),
            notify_flags: Default::default(),
            requirepass_set: Default::default(),
            protected_mode: Default::default(),
            table: RwLock::new(cfg),
        };
        live.refresh();
        live
    }

    fn refresh(&self) {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        let num = |n: &str| t.get(n).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        self.proto_max_bulk_len.store(num("proto-max-bulk-len"), Ordering::Relaxed);
        self.client_query_buffer_limit.store(num("client-query-buffer-limit"), Ordering::Relaxed);
        self.maxclients.store(num("maxclients"), Ordering::Relaxed);
        self.hz.store(num("hz"), Ordering::Relaxed);
        self.timeout.store(num("timeout"), Ordering::Relaxed);
        self.hll_sparse_max_bytes.store(num("hll-sparse-max-bytes"), Ordering::Relaxed);
        let slower_than = t.get("slowlog-log-slower-than").and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
        self.slowlog_slower_than.store(slower_than, Ordering::Relaxed);
        self.slowlog_max_len.store(num("slowlog-max-len"), Ordering::Relaxed);
        let latency_ms = num("latency-monitor-threshold");
        self.latency_threshold_ms.store(latency_ms, Ordering::Relaxed);
        self.time_commands.store(slower_than >= 0 || latency_ms > 0, Ordering::Relaxed);
        self.saving.store(!t.get("save").unwrap_or("").is_empty(), Ordering::Relaxed);
        self.requirepass_set.store(!t.get("requirepass").unwrap_or("").is_empty(), Ordering::Relaxed);
        self.protected_mode.store(t.get("protected-mode") != Some("no"), Ordering::Relaxed);
        let notify = notify::parse_flags(t.get("notify-keyspace-events").unwrap_or("")).unwrap_or(0);
        self.notify_flags.store(notify, Ordering::Relaxed);
        let limits = output_limits(t.get("client-output-buffer-limit").unwrap_or(OUTPUT_LIMITS_DEFAULT));
        for (slots, l) in self.output_limits.iter().zip(limits) {
            for (slot, v) in slots.iter().zip([l.hard, l.soft, l.soft_secs]) {
                slot.store(v, Ordering::Relaxed);
            }
        }
        let fsync = fsync::Fsync::parse(t.get("appendfsync").unwrap_or("everysec"));
        self.appendfsync.store(fsync.unwrap_or(fsync::Fsync::EverySec) as u8, Ordering::Relaxed);
    }

    /// The output buffer limit of a client class.
    pub fn output_limit(&self, class: OutputClass) -> OutputLimit {
        let [hard, soft, soft_secs] = &self.output_limits[class as usize];
        OutputLimit {
            hard: hard.load(Ordering::Relaxed),
            soft: soft.load(Ordering::Relaxed),
            soft_secs: soft_secs.load(Ordering::Relaxed),
        }
    }

    /// (name, value) of every parameter whose name matches the glob `pattern`. A
    /// pattern without glob characters names one parameter and is echoed as given.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(String, String)> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        if !pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
            let name = String::from_utf8_lossy(pattern).into_owned();
            return param(&name).map(|p| (name, t.get(p.name).unwrap_or_default().to_string())).into_iter().collect();
        }
        PARAMS
            .iter()
            .filter(|p| crate::glob::matches(pattern, p.name.as_bytes(), true))
            .map(|p| (p.name.to_string(), t.get(p.name).unwrap_or_default().to_string()))
            .collect()
    }

    /// Applies `CONFIG SET` pairs all or nothing, with the host's rights.
    pub fn set_many(&self, pairs: &[(&str, &str)]) -> Result<(), String> {
        self.set_many_from(pairs, Origin::Host)
    }

    /// May `origin` change the protected configs (`enable-protected-configs`)?
    fn allows_protected(&self, origin: Origin) -> bool {
        match origin {
            Origin::Host => true,
            Origin::Client { local } => match self.value("enable-protected-configs").as_str() {
                "yes" => true,
                "local" => local,
                _ => false,
            },
        }
    }

    /// Applies `CONFIG SET` pairs all or nothing, as `origin` may. Errors are Redis's
    /// reply texts.
    pub fn set_many_from(&self, pairs: &[(&str, &str)], origin: Origin) -> Result<(), String> {
        let protected_ok = self.allows_protected(origin);
        let fail = |name: &str, why: &str| format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}");
        let mut seen = Vec::new();
        let mut staged = self.table.read().unwrap_or_else(|e| e.into_inner()).clone();
        for &(name, value) in pairs {
            let Some(p) = param(name) else {
                return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'"));
            };
            if seen.contains(&p.name) {
                return Err(fail(name, "duplicate parameter"));
            }
            seen.push(p.name);
            if !p.mutable {
                return Err(fail(name, "can't set immutable config"));
            }
            if !protected_ok && PROTECTED_CONFIGS.contains(&p.name) {
                return Err(fail(name, "can't set protected config"));
            }
            let v = validate_over(p, staged.values.get(p.name).map(String::as_str), value).map_err(|why| fail(name, &why))?;
            staged.values.insert(p.name, v);
        }
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = staged;
        self.refresh();
        Ok(())
    }

    /// One parameter's current value (empty when unset).
    pub fn value(&self, name: &str) -> String {
        self.table.read().unwrap_or_else(|e| e.into_inner()).get(name).unwrap_or_default().to_string()
    }

    /// A copy of the whole table.
    pub fn snapshot(&self) -> Config {
        self.table.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// What a memory unit suffix (lower case) multiplies by, as Redis's memtoull reads it.
fn unit_multiplier(unit: &str) -> Option<u64> {
    Some(match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_and_validation() {
        let cfg = Config::from_args(["--port", "0", "--shards", "3", "--proto-max-bulk-len", "2mb"].map(String::from))
            .unwrap();
        assert_eq!(cfg.port(), 0);
        assert_eq!(cfg.shards(), 3);
        assert_eq!(cfg.get("proto-max-bulk-len"), Some("2097152"));
        assert!(Config::new().set("nosuch", "1").is_err());
        assert!(Config::new().set("port", "70000").is_err());
        assert!(Config::new().set("bind", "not-an-ip").is_err());
    }

    #[test]
    fn list_node_size_takes_its_old_name_and_any_int() {
        let mut cfg = Config::new();
        assert_eq!(cfg.list_max_listpack_size(), -2);
        cfg.set("list-max-ziplist-size", "5").unwrap();
        assert_eq!(cfg.get("list-max-listpack-size"), Some("5"));
        cfg.set("list-max-listpack-size", "-2147483648").unwrap();
        assert_eq!(cfg.list_max_listpack_size(), i32::MIN as i64);
        assert!(cfg.set("list-max-listpack-size", "2147483648").is_err());
        let live = LiveConfig::new(Config::new());
        live.set_many(&[("list-max-ziplist-size", "-3")]).unwrap();
        assert_eq!(live.matching(b"list-max-ziplist-size"), [("list-max-ziplist-size".to_string(), "-3".to_string())]);
    }

    #[test]
    fn config_set_is_all_or_nothing() {
        let live = LiveConfig::new(Config::new());
        let err = live.set_many(&[("hz", "20"), ("proto-max-bulk-len", "1")]).unwrap_err();
        assert!(err.contains("between 1048576"), "{err}");
        assert_eq!(live.hz.load(Ordering::Relaxed), 10);
        live.set_many(&[("hz", "20")]).unwrap();
        assert_eq!(live.hz.load(Ordering::Relaxed), 20);
        assert!(live.set_many(&[("port", "1")]).unwrap_err().contains("immutable"));
    }

    #[test]
    fn output_limit_groups_change_only_their_class() {
        let mut cfg = Config::new();
        cfg.set("client-output-buffer-limit", "normal 10mb 5mb 1").unwrap();
        cfg.set("client-output-buffer-limit", "REPLICA 1k 2KB 3").unwrap();
        let want = "normal 10485760 5242880 1 slave 1000 2048 3 pubsub 33554432 8388608 60";
        assert_eq!(cfg.get("client-output-buffer-limit"), Some(want));
        cfg.set("client-output-buffer-limit", "").unwrap();
        assert_eq!(cfg.get("client-output-buffer-limit"), Some(want));
        for (bad, why) in [
            ("normal 1 2", "Wrong number"),
            ("master 1 2 3", "Invalid client class"),
            ("normal 1 2 -1", "Error in hard"),
            ("normal 1 2 2147483648", "Error in hard"),
            ("normal 1tb 2 3", "Error in hard"),
        ] {
            let err = cfg.set("client-output-buffer-limit", bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        // Redis's C arithmetic: saturating digits, wrapping units, seconds in an int.
        cfg.set("client-output-buffer-limit", "normal 18446744073709551616 18446744073709551615k 99999999999").unwrap();
        assert!(cfg.get("client-output-buffer-limit").unwrap().starts_with("normal 18446744073709551615 18446744073709550616 1215752191 "));
        let live = LiveConfig::new(cfg);
        live.set_many(&[("client-output-buffer-limit", "pubsub 1 2 3")]).unwrap();
        assert_eq!(live.output_limit(OutputClass::Pubsub), OutputLimit { hard: 1, soft: 2, soft_secs: 3 });
        assert_eq!(live.output_limit(OutputClass::Normal).soft_secs, 1215752191);
    }

    #[test]
    fn timeout_and_bulk_len_bounds_are_redis_ones() {
        let live = LiveConfig::new(Config::new());
        assert_eq!(live.timeout.load(Ordering::Relaxed), 0);
        live.set_many(&[("timeout", "5")]).unwrap();
        assert_eq!(live.timeout.load(Ordering::Relaxed), 5);
        assert!(live.set_many(&[("timeout", "-1")]).is_err());
        // Redis 7.0 takes any proto-max-bulk-len up to LONG_MAX; the read path never
        // allocates from it, so kevy takes the same range.
        live.set_many(&[("proto-max-bulk-len", "9223372036854775807")]).unwrap();
    }
}

