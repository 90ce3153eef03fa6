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

use super::rdb;
use crate::commands::Ctx;
use crate::resp::{parse, ArgSpans, Limits, Parsed, ReplyWriter};
use crate::shard::client::Client;
use crate::shard::db::Db;
use crate::shard::dispatch::{resolve, run, Call, Wake};
use crate::shard::routing::{shard_of, ShardId};
use crate::shard::Shared;

/// What replaying one file did.
#[derive(Debug, Default)]
pub struct Replayed {
    pub preamble_keys: u64,
    pub commands: u64,
    /// Bytes cut off a truncated last command (`aof-load-truncated yes`).
    pub truncated: u64,
}

/// Replays `path`, written by shard `old_id` of a layout of `old_shards` shards, into
/// the server's keyspaces. An incomplete last command is cut off (with a log line)
/// when `truncated_ok`, refused otherwise; a malformed one anywhere else refuses, with
/// the file and offset in the error.
pub fn replay(shared: &Shared, path: &Path, old_id: ShardId, old_shards: usize, truncated_ok: bool) -> Result<Replayed, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let n = shared.shard_count();
    let ids: Vec<ShardId> = (0..n).collect();
    let mut done = Replayed::default();
    let mut pos = 0;
    if bytes.starts_with(b"REDIS") {
        let mut locks = shared.lock_shards(&ids);
        let summary = rdb::read(&bytes, |key, value, at| {
            locks[shard_of(&key, n)].insert(&key, value, at);
        })
        .map_err(|e| format!("{}: RDB preamble: {e}", path.display()))?;
        done.preamble_keys = summary.keys;
        pos = summary.end;
    }
    let limits = Limits { max_bulk_len: u64::MAX, ..Limits::default() };
    let (mut spans, mut scratch) = (ArgSpans::with_capacity(16), Vec::new());
    let mut client = Client { resp3: true, ..Client::default() };
    let mut reply = Vec::new();
    while pos < bytes.len() {
        let input = &bytes[pos..];
        let consumed = match parse(input, &limits, &mut spans, &mut scratch) {
            Parsed::Command { consumed, inline: false } => consumed,
            Parsed::Empty { consumed } => {
                pos += consumed;
                continue;
            }
            Parsed::Incomplete { .. } if truncated_ok => {
                crate::log_warning!(
                    "{}: the last command is incomplete (offset {pos}); cutting the file there (aof-load-truncated yes)",
                    path.display()
                );
                cut(path, pos as u64)?;
                done.truncated = (bytes.len() - pos) as u64;
                break;
            }
            Parsed::Incomplete { .. } => {
                return Err(format!("{}: truncated at offset {pos} (aof-load-truncated is no)", path.display()));
            }
            Parsed::Command { .. } | Parsed::Error(_) => {
                return Err(format!("{}: bad command at offset {pos}", path.display()));
            }
        };
        let args = crate::resp::Args::new(input, &spans);
        let cmd = resolve(&shared.table, args).map_err(|e| format!("{}: offset {pos}: {e}", path.display()))?;
        let mut locks = shared.lock_shards(&ids);
        if cmd.has(crate::commands::flags::WRITE) && matches!(cmd.route, crate::commands::Route::AllShards) {
            // Logged to every shard's file: it empties what this file's shard owned.
            for ks in locks.iter_mut() {
                let doomed: Vec<Vec<u8>> =
                    ks.live_entries(0).map(|(k, _)| k.to_vec()).filter(|k| shard_of(k, old_shards) == old_id).collect();
                doomed.iter().for_each(|k| drop(ks.remove(k)));
            }
        } else {
            reply.clear();
            let db = Db::locked(&mut locks, &ids, n);
            let mut ctx = Ctx::new(db, ReplyWriter::new(&mut reply, true), 0, Some(&mut client), shared, 0);
            run(&Call::new(cmd, args), &mut ctx, Wake::Never);
        }
        done.commands += 1;
        pos += consumed;
    }
    Ok(done)
}

/// Truncates a file to `len` bytes, durably.
fn cut(path: &Path, len: u64) -> Result<(), String> {
    let f = fs::OpenOptions::new().write(true).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.set_len(len).and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Number of shard files a directory holds in its recorded layout (or, without a
/// layout file, the run of `appendonly-0.aof`, `appendonly-1.aof`...). 0: none.
pub fn existing_files(dir: &Path) -> Result<usize, String> {
    let n = match super::dump::read_layout(dir)? {
        Some(n) => n,
        None => (0..).take_while(|&i| super::aof::shard_file(dir, i).exists()).count(),
    };
    let any = (0..n).any(|i| super::aof::shard_file(dir, i).exists());
    Ok(if any { n } else { 0 })
}

/// With `appendonly yes`, at start-up, before the shard threads: replays the shard
/// files found (any layout), then leaves one open file per current shard. Files of
/// another layout, or none at all (the data came from snapshots), are rewritten from
/// the loaded keys first, so the directory ends up in the current layout.
pub fn setup(shared: &Shared, dir: &Path, truncated_ok: bool) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let n = shared.shard_count();
    let old = existing_files(dir)?;
    for id in 0..old {
        let path = super::aof::shard_file(dir, id);
        if path.exists() {
            let r = replay(shared, &path, id, old, truncated_ok)?;
            crate::log_notice!("{}: {} keys from the preamble, {} commands replayed", path.display(), r.preamble_keys, r.commands);
        }
    }
    let fresh = old != n;
    for id in 0..n {
        let log = if fresh {
            super::aof_rewrite::rewrite_now(shared, dir, id)
        } else {
            super::aof::AofLog::open(super::aof::shard_file(dir, id))
        }
        .map_err(|e| format!("{}: {e}", super::aof::shard_file(dir, id).display()))?;
        *shared.aof.shards[id].lock().unwrap_or_else(|e| e.into_inner()) = Some(log);
    }
    if fresh {
        for id in n..old.max(n) {
            let _ = std::fs::remove_file(super::aof::shard_file(dir, id));
        }
        super::dump::write_layout(dir, n).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    shared.aof.on.store(true, std::sync::atomic::Ordering::Release);
    Ok(())
}
