//! AOF rewrite: a shard's file replaced by a compact one, an RDB preamble holding the
//! shard's keys (what Redis's `aof-use-rdb-preamble` writes) followed by the commands
//! that arrived while it was written.
//!
//! The copy is taken under the shard's lock, and from that instant every append is
//! also kept in the log's rewrite tail. The new file is written without any lock;
//! then, holding the log's lock (so no append slips between), the tail is added, the
//! file fsynced and renamed over the old one, and the log switches to it. Writes
//! during the rewrite are in the tail, so none is lost.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::aof::{shard_file, AofLog};
use super::dump::{commit, copy_shard, tmp_path, write_rdb_tmp, KeyRecord};
use crate::store::ValueRef;
use crate::store::routing::ShardId;
use super::Host;

/// Writes a preamble-only AOF at `path` from `records` (the snapshot writer's
/// temporary-file-and-rename), open for appending: the file and its size.
fn write_base(path: &Path, records: &[KeyRecord], now_ms: u64) -> io::Result<(File, u64)> {
    let tmp = tmp_path(path);
    let file = write_rdb_tmp(&tmp, entries_of(records), now_ms)?;
    commit(&file, &tmp, path).inspect_err(|_| drop(std::fs::remove_file(&tmp)))?;
    let size = file.metadata()?.len();
    Ok((file, size))
}

fn entries_of(records: &[KeyRecord]) -> impl ExactSizeIterator<Item = (&[u8], ValueRef<'_>, u64)> + Clone {
    records.iter().map(|(k, v, at)| (k.as_slice(), v.as_ref(), *at))
}

/// At start-up (no shard thread running): writes shard `id`'s file afresh from its
/// keyspace and opens its log.
pub fn rewrite_now<H: Host + ?Sized>(shared: &H, dir: &Path, id: ShardId) -> io::Result<AofLog> {
    base_from(&shared.lock(id), dir, id, shared.now_ms())
}

/// Writes shard `id`'s file afresh from `ks` (whose lock the caller holds) and opens
/// its log.
pub fn base_from(ks: &crate::store::Keyspace, dir: &Path, id: ShardId, now_ms: u64) -> io::Result<AofLog> {
    let records = copy_shard(ks, now_ms);
    let path = shard_file(dir, id);
    let (file, size) = write_base(&path, &records, now_ms)?;
    Ok(AofLog::from_file(file, path, size))
}

/// Rewrites shard `id`'s file while the shard keeps serving (see the module docs).
pub fn rewrite_live<H: Host + ?Sized>(shared: &H, id: ShardId) -> io::Result<u64> {
    let now_ms = shared.now_ms();
    let slot = std::sync::Arc::clone(&shared.logs().shards[id]);
    let (records, path) = {
        let ks = shared.lock(id);
        let mut log = slot.lock().unwrap_or_else(|e| e.into_inner());
        let Some(log) = log.as_mut() else { return Ok(0) };
        log.rewrite_tail = Some(Vec::new());
        (copy_shard(&ks, now_ms), log.path.clone())
    };
    // The preamble is written with no lock held; the tail under the log's lock.
    let tmp = tmp_path(&path);
    let base = write_rdb_tmp(&tmp, entries_of(&records), now_ms);
    let mut log = slot.lock().unwrap_or_else(|e| e.into_inner());
    let Some(log) = log.as_mut() else {
        let _ = std::fs::remove_file(&tmp);
        return Ok(0);
    };
    let finished = base.and_then(|mut file| {
        let tail = log.rewrite_tail.take().unwrap_or_default();
        file.write_all(&tail)?;
        commit(&file, &tmp, &path)?;
        let size = file.metadata()?.len();
        Ok((file, size))
    });
    match finished {
        Ok((file, size)) => {
            log.replace_file(file, size);
            Ok(size)
        }
        Err(e) => {
            log.rewrite_tail = None;
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
