//! Start-up from append-only files: each shard file is an optional RDB preamble (the
//! state at its last rewrite) followed by RESP commands, replayed with the server's
//! own handlers before any shard thread starts.
//!
//! Replay runs with the clock at 0, as Redis replays with expiry off: nothing expires
//! while the history is rebuilt (keys logged with deadlines get them back through the
//! PEXPIREAT lines), and the ones already past their deadline go when first touched.
//! A file written in another layout (shard count) replays all the same: every command
//! runs with all shards held and homes its keys by the current count.

use std::fs;
use std::path::Path;

use crate::persist::rdb;
use crate::persist::aof_record::{frame, is_framing, record_inside, Frame};
use crate::commands::{flags, Command, Ctx};
use crate::resp::{ArgSpans, Args, ReplyWriter};
use crate::commands::client::Client;
use crate::store::db::Db;
use crate::commands::call::{resolve, Call};
use super::dispatch::{run, Wake};
use crate::store::routing::{shard_of, ShardId};
use super::Shared;

/// What replaying one file did.
#[derive(Debug, Default)]
pub struct Replayed {
    pub preamble_keys: u64,
    pub commands: u64,
    /// Commands that replied with an error on replay (the first one is logged).
    pub failed: u64,
    /// Bytes cut off a truncated last command (`aof-load-truncated yes`).
    pub truncated: u64,
}

/// Replays `path`, written by shard `old_id` of a layout of `old_shards` shards, into
/// the server's keyspaces. An incomplete last command is cut off (with a log line)
/// when `truncated_ok`, refused otherwise; a malformed one anywhere else refuses, with
/// the file and offset in the error.
pub fn replay(shared: &Shared, path: &Path, old_id: ShardId, old_shards: usize, truncated_ok: bool) -> Result<Replayed, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut done = Replayed::default();
    let mut pos = 0;
    if bytes.starts_with(b"REDIS") {
        let preamble = load_preamble(shared, &bytes).map_err(|e| format!("{}: RDB preamble: {e}", path.display()))?;
        (done.preamble_keys, pos) = preamble;
    }
    let mut spans = ArgSpans::with_capacity(16);
    let (mut client, mut reply) = (Client { resp3: true, ..Client::default() }, Vec::new());
    while pos < bytes.len() {
        let input = &bytes[pos..];
        let consumed = match frame(input, &mut spans) {
            Frame::Record { consumed } => consumed,
            Frame::Annotation { consumed } => {
                pos += consumed;
                continue;
            }
            Frame::Torn => {
                done.truncated = torn_tail(shared, path, &bytes, pos, truncated_ok)?;
                break;
            }
            Frame::Bad { at, why } => {
                return Err(format!("{}: corrupt record at offset {pos} ({why} at offset {})", path.display(), pos + at));
            }
        };
        let args = Args::new(input, &spans);
        let bad = |e: &str| format!("{}: corrupt record at offset {pos}: {e}", path.display());
        let cmd = resolve(&shared.table, args).map_err(|e| bad(&e))?;
        if !cmd.has(flags::WRITE) && !is_framing(cmd) {
            return Err(bad(&format!("'{}' is not a write command", cmd.name)));
        }
        run_record(shared, cmd, args, (old_id, old_shards), &mut client, &mut reply);
        if reply.first() == Some(&b'-') && done.failed == 0 {
            // Not a refusal: a logged command can fail on replay without corruption
            // (expired keys replay as present, as no DEL is logged when they expire).
            let text = String::from_utf8_lossy(&reply[1..]).trim_end().to_string();
            crate::log_warning!("{}: the record at offset {pos} failed on replay: {text}", path.display());
        }
        done.failed += u64::from(reply.first() == Some(&b'-'));
        done.commands += 1;
        pos += consumed;
    }
    Ok(done)
}

/// Loads an RDB preamble (its checksum checked): the keys and where the commands start.
fn load_preamble(shared: &Shared, bytes: &[u8]) -> Result<(u64, usize), rdb::RdbError> {
    let n = shared.shard_count();
    let ids: Vec<ShardId> = (0..n).collect();
    let mut locks = shared.lock_shards(&ids);
    let summary = rdb::read(bytes, |key, value, at| {
        locks[shard_of(&key, n)].insert(&key, value, at);
    })?;
    Ok((summary.keys, summary.end))
}

/// A record torn by the end of the file at `pos`: the torn last write of a crash is cut
/// off (`aof-load-truncated yes`; the bytes cut are returned), refused otherwise. A
/// record whose length swallowed whole records after it is corruption, refused always.
fn torn_tail(shared: &Shared, path: &Path, bytes: &[u8], pos: usize, truncated_ok: bool) -> Result<u64, String> {
    let is_command = |rec: &[u8], spans: &ArgSpans| resolve(&shared.table, Args::new(rec, spans)).is_ok();
    if let Some(at) = record_inside(&bytes[pos..], is_command) {
        return Err(format!(
            "{}: corrupt record at offset {pos}: its length runs past a whole record at offset {}",
            path.display(),
            pos + at
        ));
    }
    if !truncated_ok {
        return Err(format!("{}: truncated at offset {pos} (aof-load-truncated is no)", path.display()));
    }
    crate::log_warning!(
        "{}: the last command is incomplete (offset {pos}); cutting the file there (aof-load-truncated yes)",
        path.display()
    );
    cut(path, pos as u64)?;
    Ok((bytes.len() - pos) as u64)
}

/// Runs one replayed command with every shard held; its reply is left in `reply`.
fn run_record(
    shared: &Shared,
    cmd: &'static Command,
    args: Args<'_>,
    (old_id, old_shards): (ShardId, usize),
    client: &mut Client,
    reply: &mut Vec<u8>,
) {
    let n = shared.shard_count();
    let ids: Vec<ShardId> = (0..n).collect();
    let mut locks = shared.lock_shards(&ids);
    reply.clear();
    if cmd.has(flags::WRITE) && matches!(cmd.route, crate::commands::Route::AllShards) {
        // Logged to every shard's file: it empties what this file's shard owned.
        for ks in locks.iter_mut() {
            let doomed: Vec<Vec<u8>> =
                ks.live_entries(0).map(|(k, _)| k.to_vec()).filter(|k| shard_of(k, old_shards) == old_id).collect();
            doomed.iter().for_each(|k| drop(ks.remove(k)));
        }
    } else {
        let db = Db::locked(&mut locks, &ids, n);
        let mut ctx = Ctx::new(db, ReplyWriter::new(reply, true), 0, Some(client), shared, 0);
        run(shared, &Call::new(cmd, args), &mut ctx, Wake::Never);
    }
}

/// Truncates a file to `len` bytes, durably.
fn cut(path: &Path, len: u64) -> Result<(), String> {
    let f = fs::OpenOptions::new().write(true).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.set_len(len).and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Number of shard files a directory holds in its recorded layout (or, without a
/// layout file, up to the highest `appendonly-<id>.aof` found). 0: none.
pub fn existing_files(dir: &Path) -> Result<usize, String> {
    let n = match crate::persist::dump::read_layout(dir)? {
        Some(n) => n,
        None => highest_file(dir).map_or(0, |id| id + 1),
    };
    let any = (0..n).any(|i| crate::persist::aof::shard_file(dir, i).exists());
    Ok(if any { n } else { 0 })
}

/// The highest shard id of the `appendonly-<id>.aof` files in `dir`.
fn highest_file(dir: &Path) -> Option<usize> {
    let names = fs::read_dir(dir).ok()?.filter_map(|e| e.ok()?.file_name().into_string().ok());
    names.filter_map(|name| name.strip_prefix("appendonly-")?.strip_suffix(".aof")?.parse::<usize>().ok()).max()
}

/// Refuses a directory that lacks some of the `old` shard files its layout records
/// (their keys would be gone without a word), unless `aof-load-missing yes`: then each
/// missing file is logged as a warning and the start goes on without its keys.
fn check_complete(shared: &Shared, dir: &Path, old: usize) -> Result<(), String> {
    let files = (0..old).map(|id| crate::persist::aof::shard_file(dir, id));
    let missing: Vec<String> = files.filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if shared.config.snapshot().get("aof-load-missing") != Some("yes") {
        return Err(format!(
            "{}: missing; the data directory holds {old} shard files and their keys would be lost \
             (restore the file, or set aof-load-missing yes to start without it)",
            missing.join(", ")
        ));
    }
    for path in &missing {
        crate::log_warning!("{path}: MISSING; starting without the keys it held (aof-load-missing yes)");
    }
    Ok(())
}

/// With `appendonly yes`, at start-up, before the shard threads: replays the shard
/// files found (any layout), then leaves one open file per current shard. Files of
/// another layout, or none at all (the data came from snapshots), are rewritten from
/// the loaded keys first, so the directory ends up in the current layout.
pub fn setup(shared: &Shared, dir: &Path, truncated_ok: bool) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let n = shared.shard_count();
    let old = existing_files(dir)?;
    check_complete(shared, dir, old)?;
    for id in 0..old {
        let path = crate::persist::aof::shard_file(dir, id);
        if path.exists() {
            let r = replay(shared, &path, id, old, truncated_ok)?;
            crate::log_notice!(
                "{}: {} keys from the preamble, {} commands replayed ({} failed)",
                path.display(),
                r.preamble_keys,
                r.commands,
                r.failed
            );
        }
    }
    let fresh = old != n;
    for id in 0..n {
        let log = if fresh {
            crate::persist::aof_rewrite::rewrite_now(shared, dir, id)
        } else {
            crate::persist::aof::AofLog::open(crate::persist::aof::shard_file(dir, id))
        }
        .map_err(|e| format!("{}: {e}", crate::persist::aof::shard_file(dir, id).display()))?;
        *shared.aof.shards[id].lock().unwrap_or_else(|e| e.into_inner()) = Some(log);
    }
    if fresh {
        for id in n..old.max(n) {
            let _ = std::fs::remove_file(crate::persist::aof::shard_file(dir, id));
        }
        crate::persist::dump::write_layout(dir, n).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    shared.aof.on.store(true, std::sync::atomic::Ordering::Release);
    Ok(())
}
