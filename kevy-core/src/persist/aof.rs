//! The append-only file, one per shard (`appendonly-<id>.aof`): every applied write,
//! as RESP commands, in the order the shard applied them.
//!
//! What is logged (`record`, called by the effect stage of `dispatch::run`) follows
//! each row's `Propagate` declaration:
//! - a write whose keys live on one shard: the command as sent, plus `PEXPIREAT key
//!   <unix ms>` after commands that set relative TTLs (so a replay a day later gives
//!   the same deadline), and what the handler reported for commands whose effect is
//!   not their line (SPOP as SREM, a blocking pop as the pop that happened);
//! - a write whose keys spread over shards: the resulting state of each key, logged to
//!   its own shard's file (`DEL` and a re-creation), so each file replays on its own
//!   whatever order the files are read in;
//! - scripts, custom commands and EXEC are not logged themselves: the commands they
//!   run are, as they run (effects, not the script).
//!
//! Failed commands (error replies) and commands that blocked are not logged.
//! Durability: bytes go to a per-shard buffer under the shard's lock; the thread that
//! runs the shard's event loop writes them (and with `appendfsync always` fsyncs) once
//! per turn, before any reply of that turn leaves; a thread writing to another shard's
//! keys (a multi-shard command, an in-process call) flushes that shard's log before it
//! releases the locks. `everysec` is fsynced by a background thread.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::commands::effects::Propagate;
use crate::commands::{flags, Ctx};
use crate::resp::Args;
use crate::commands::call::Call;
use crate::store::routing::{shard_of, ShardId};
use crate::config::LiveConfig;
use crate::store::{Keyspace, ValueRef};

pub use crate::config::fsync::Fsync;

/// The AOF file of shard `id`.
pub fn shard_file(dir: &Path, id: usize) -> PathBuf {
    dir.join(format!("appendonly-{id}.aof"))
}

/// One shard's log: what is waiting to be written, and the file.
pub struct AofLog {
    pending: Vec<u8>,
    file: Arc<File>,
    pub path: PathBuf,
    /// Bytes in the file (written, not counting `pending`).
    pub size: u64,
    /// The size right after the last rewrite (auto-aof-rewrite compares against it).
    pub base_size: u64,
    /// Written since the last fsync.
    unsynced: bool,
    /// While a rewrite runs: a copy of everything appended, for the new file's tail.
    pub rewrite_tail: Option<Vec<u8>>,
}

impl AofLog {
    /// Opens (creating) a shard's file for appending.
    pub fn open(path: PathBuf) -> io::Result<AofLog> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(AofLog::from_file(file, path, size))
    }

    /// A log over `file` (open for appending at `path`, `size` bytes long).
    pub fn from_file(file: File, path: PathBuf, size: u64) -> AofLog {
        AofLog { pending: Vec::with_capacity(4096), file: Arc::new(file), path, size, base_size: size, unsynced: false, rewrite_tail: None }
    }

    /// Takes over a freshly rewritten file (already renamed into place).
    pub fn replace_file(&mut self, file: File, size: u64) {
        // What was pending is in the new file (it was copied into the rewrite tail).
        self.pending.clear();
        self.rewrite_tail = None;
        self.file = Arc::new(file);
        self.size = size;
        self.base_size = size;
        self.unsynced = false;
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Appends one command of `n` arguments (as a RESP multibulk).
    pub fn append<A: AsRef<[u8]>>(&mut self, n: usize, argv: impl Iterator<Item = A>) {
        let start = self.pending.len();
        encode_n(&mut self.pending, n, argv);
        if let Some(tail) = &mut self.rewrite_tail {
            tail.extend_from_slice(&self.pending[start..]);
        }
    }

    /// Writes what is pending; fsyncs too when `sync`. An I/O error is logged and
    /// returned (the bytes stay pending, to be retried).
    pub fn flush(&mut self, sync: bool) -> io::Result<()> {
        if !self.pending.is_empty() {
            (&*self.file).write_all(&self.pending).inspect_err(|e| crate::log_warning!("writing {}: {e}", self.path.display()))?;
            self.size += self.pending.len() as u64;
            self.pending.clear();
            self.unsynced = true;
        }
        if sync && self.unsynced {
            self.file.sync_data().inspect_err(|e| crate::log_warning!("fsync {}: {e}", self.path.display()))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// The file, for the background fsync of `everysec`.
    pub fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }
}

/// Appends a RESP multibulk.
pub fn encode<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: impl ExactSizeIterator<Item = A>) {
    encode_n(out, argv.len(), argv)
}

/// Appends a RESP multibulk of `n` arguments.
fn encode_n<A: AsRef<[u8]>>(out: &mut Vec<u8>, n: usize, argv: impl Iterator<Item = A>) {
    out.push(b'*');
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The per-shard logs of a server, and whether logging is on.
#[derive(Default)]
pub struct Logs {
    /// `appendonly yes` and the files are open (false while loading).
    pub on: AtomicBool,
    /// Index = shard id; None when appendonly is off. (Arc: the rewrite thread holds
    /// one while it finishes a new file.)
    pub shards: Vec<Arc<Mutex<Option<AofLog>>>>,
    /// Set by appenders, cleared by the shard's loop when it flushes (no lock needed to
    /// know there is nothing to do).
    pub dirty: Vec<AtomicBool>,
}

impl Logs {
    pub fn new(shards: usize) -> Logs {
        Logs {
            on: AtomicBool::new(false),
            shards: (0..shards).map(|_| Arc::new(Mutex::new(None))).collect(),
            dirty: (0..shards).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Runs `f` on shard `id`'s log, if it has one.
    pub fn with<R>(&self, id: ShardId, f: impl FnOnce(&mut AofLog) -> R) -> Option<R> {
        let mut g = self.shards[id].lock().unwrap_or_else(|e| e.into_inner());
        g.as_mut().map(f)
    }

    fn append<A: AsRef<[u8]>>(&self, id: ShardId, argv: impl ExactSizeIterator<Item = A>) {
        self.append_n(id, argv.len(), argv)
    }

    fn append_args(&self, id: ShardId, args: Args<'_>) {
        self.append_n(id, args.len(), args.iter())
    }

    fn append_n<A: AsRef<[u8]>>(&self, id: ShardId, n: usize, argv: impl Iterator<Item = A>) {
        if self.with(id, |log| log.append(n, argv)).is_some() {
            self.dirty[id].store(true, Ordering::Release);
        }
    }

    /// Writes shard `id`'s pending bytes, fsyncing when the policy is `always`.
    pub fn flush(&self, id: ShardId, policy: Fsync) {
        if self.dirty[id].swap(false, Ordering::AcqRel) {
            let _ = self.with(id, |log| log.flush(policy == Fsync::Always));
        }
    }
}

/// Flushes the logs of the shards `db` holds other than `me` (per the fsync policy).
pub fn flush_others(logs: &Logs, config: &LiveConfig, db: &mut crate::store::db::Db<'_>, me: ShardId) {
    let policy = Fsync::current(config);
    for (id, _) in db.all() {
        if id != me {
            logs.flush(id, policy);
        }
    }
}

/// Flushes every shard's log (at stop, and after an in-process call).
pub fn flush_all(logs: &Logs, config: &LiveConfig, shards: usize, sync: bool) {
    let policy = if sync { Fsync::Always } else { Fsync::current(config) };
    for id in 0..shards {
        logs.flush(id, policy);
    }
}

/// Logs a write that just ran in `ctx`, as its row's `propagate` declares (`reply`
/// is its encoded reply, given only to `Propagate::Custom`). Called by the effect
/// stage of `dispatch::run` when the AOF is on.
pub fn record(logs: &Logs, call: &Call<'_>, ctx: &mut Ctx<'_>, reply: &[u8]) {
    let (cmd, args) = (call.cmd, call.args);
    if !cmd.has(flags::WRITE) || !logs.on.load(Ordering::Acquire) || ctx.block.is_some() || ctx.effects.failed {
        return;
    }
    let n = ctx.db.shards();
    match cmd.propagate {
        Propagate::None => return,
        Propagate::Reported => {
            // The effect that happened (SREM for SPOP, the pop a blocking pop did),
            // each line in the log of its key's shard (which the command holds).
            for line in ctx.effects.take_reported().propagated {
                let id = line.get(1).map_or(ctx.shard, |key| shard_of(key, n));
                logs.append(id, line.iter());
            }
            return;
        }
        _ => {}
    }
    let positions: Vec<usize> = call.key_positions().collect();
    let Some(&first) = positions.first() else {
        // Keyless writes (FLUSHALL, FLUSHDB) apply to every shard they hold.
        for (id, _) in ctx.db.all() {
            logs.append_args(id, args);
        }
        return;
    };
    let home = shard_of(args.get(first), n);
    if positions.iter().any(|&p| shard_of(args.get(p), n) != home) {
        return log_states(logs, ctx, args, &positions);
    }
    if let Propagate::Custom(lines_of) = cmd.propagate {
        let (now, ks) = (ctx.now_ms, ctx.db.ks(args.get(first)));
        if let Some(lines) = lines_of(args, ks, now, reply) {
            return lines.into_iter().for_each(|l| logs.append(home, l.iter()));
        }
    }
    logs.append_args(home, args);
    if let Propagate::AbsoluteTtl = cmd.propagate {
        log_deadlines(logs, ctx, args, &positions, home);
    }
}

/// `PEXPIREAT key <ms>` for each key that now has a deadline.
fn log_deadlines(logs: &Logs, ctx: &mut Ctx<'_>, args: Args<'_>, positions: &[usize], home: ShardId) {
    let now = ctx.now_ms;
    for &p in positions {
        let key = args.get(p);
        let Some(ks) = ctx.db.shard(home) else { return };
        if let Some(at) = ks.expire_of(key, now).filter(|&at| at != 0) {
            let at = at.to_string();
            logs.append(home, [b"PEXPIREAT".as_slice(), key, at.as_bytes()].into_iter());
        }
    }
}

/// A multi-shard write: each touched key's resulting state, in its own shard's log.
fn log_states(logs: &Logs, ctx: &mut Ctx<'_>, args: Args<'_>, positions: &[usize]) {
    let n = ctx.db.shards();
    let now = ctx.now_ms;
    let mut seen: Vec<&[u8]> = Vec::new();
    for &p in positions {
        let key = args.get(p);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let id = shard_of(key, n);
        let Some(ks) = ctx.db.shard(id) else { continue };
        let mut lines = Vec::new();
        state_commands(ks, key, now, &mut lines);
        for line in lines {
            logs.append(id, line.iter());
        }
    }
}

/// Commands that turn whatever `key` held into its current state: DEL, then the value
/// (if any) and its deadline. Also what an AOF rewrite writes for every key.
pub fn state_commands(ks: &mut Keyspace, key: &[u8], now_ms: u64, out: &mut Vec<Vec<Vec<u8>>>) {
    out.push(vec![b"DEL".to_vec(), key.to_vec()]);
    let Some(e) = ks.get(key, now_ms) else { return };
    let (value, at) = (e.value, e.expire_at());
    value_commands(key, value, out);
    if at != 0 {
        out.push(vec![b"PEXPIREAT".to_vec(), key.to_vec(), at.to_string().into_bytes()]);
    }
}

/// Commands that create `key` holding `value` (large collections in several commands).
pub fn value_commands(key: &[u8], value: ValueRef<'_>, out: &mut Vec<Vec<Vec<u8>>>) {
    const CHUNK: usize = 64;
    let k = key.to_vec();
    let mut chunked = |verb: &[u8], items: Vec<Vec<u8>>, per: usize| {
        for c in items.chunks(CHUNK * per) {
            let mut argv = vec![verb.to_vec(), k.clone()];
            argv.extend(c.iter().cloned());
            out.push(argv);
        }
    };
    match value {
        ValueRef::Str(s) => chunked(b"SET", vec![s.to_vec()], 1),
        ValueRef::List(l) => chunked(b"RPUSH", l.iter().map(|e| e.to_vec()).collect(), 1),
        ValueRef::Set(s) => chunked(b"SADD", s.iter().map(|m| m.to_vec()).collect(), 1),
        ValueRef::Hash(h) => chunked(b"HSET", h.iter().flat_map(|(f, v)| [f.to_vec(), v.to_vec()]).collect(), 2),
        ValueRef::ZSet(z) => chunked(
            b"ZADD",
            z.iter().flat_map(|(m, s)| [crate::resp::float::fmt_g17(s).into_bytes(), m.to_vec()]).collect(),
            2,
        ),
        ValueRef::Stream(s) => crate::commands::stream::rewrite::commands(key, s, out),
    }
}
