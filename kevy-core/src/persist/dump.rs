//! Snapshots on disk: one RDB file per shard (`dump-<id>.rdb`) plus a layout file
//! (`kevy-layout`) recording the shard count and routing, in the data directory.
//!
//! Start-up loads every shard file of the recorded layout and homes each key by the
//! current shard count, so a server restarted with another `--shards` re-homes every
//! key once, before serving, and rewrites the files in the new layout. A directory
//! with no layout but Redis's `dump.rdb` (the `dbfilename`) is imported the same way:
//! the migration path from redis-server.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::rdb::{self, RdbError};
use super::rdb_write::RdbWriter;
use crate::store::routing::shard_of;
use crate::store::{Keyspace, Value, ValueRef};

/// The layout file's name.
pub const LAYOUT_FILE: &str = "kevy-layout";
/// Bumped when the meaning of the files changes.
const LAYOUT_FORMAT: u32 = 1;
/// The routing function keys were homed with (`store::routing`).
const ROUTING: &str = "ahash-0.8.11-fixed-seeds";

/// The snapshot file of shard `id`.
pub fn shard_file(dir: &Path, id: usize) -> PathBuf {
    dir.join(format!("dump-{id}.rdb"))
}

/// One key as a snapshot file holds it: name, value, deadline (unix ms, 0 for none).
pub type KeyRecord = (Vec<u8>, Value, u64);

/// Writes keys as an RDB file at `path`, atomically: a temporary file beside it,
/// fsynced, then renamed over `path`. Returns the number of keys written. (Snapshots
/// and the AOF's RDB preamble are both written this way.)
pub fn write_shard<'a>(
    path: &Path,
    entries: impl ExactSizeIterator<Item = (&'a [u8], ValueRef<'a>, u64)> + Clone,
    now_ms: u64,
) -> io::Result<usize> {
    let (tmp, keys) = (tmp_path(path), entries.len());
    let file = write_rdb_tmp(&tmp, entries, now_ms)?;
    commit(&file, &tmp, path).inspect_err(|_| drop(fs::remove_file(&tmp)))?;
    Ok(keys)
}

/// The temporary file `path` is written as before its rename: `<path>.tmp-<pid>`.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(tmp)
}

/// Writes keys as an RDB file at the temporary `tmp` (created by `create_exclusive`),
/// not yet fsynced nor renamed: the file, open for appending. Removed on failure.
pub fn write_rdb_tmp<'a>(
    tmp: &Path,
    entries: impl ExactSizeIterator<Item = (&'a [u8], ValueRef<'a>, u64)> + Clone,
    now_ms: u64,
) -> io::Result<File> {
    let file = create_exclusive(tmp)?;
    let written = (|| {
        let mut w = RdbWriter::new(BufWriter::with_capacity(1 << 16, file), now_ms / 1000)?;
        let expires = entries.clone().filter(|e| e.2 != 0).count();
        w.begin_db(entries.len() as u64, expires as u64)?;
        for (key, value, expire_at) in entries {
            w.entry(key, value, expire_at)?;
        }
        w.finish()?.into_inner().map_err(|e| e.into_error())
    })();
    written.inspect_err(|_| drop(fs::remove_file(tmp)))
}

/// Creates the temporary file `tmp` for appending, exclusively and never through a
/// symbolic link (O_CREAT|O_EXCL|O_NOFOLLOW), so a link planted at its name cannot
/// make a save write over the link's target. A file or link left at that name (by a
/// run that crashed) is unlinked first: the name itself, never what a link points at.
pub fn create_exclusive(tmp: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    match fs::symlink_metadata(tmp) {
        Ok(m) if m.file_type().is_file() || m.file_type().is_symlink() => fs::remove_file(tmp)?,
        Ok(_) => return Err(io::Error::other(format!("{}: in the way, and not a file", tmp.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    OpenOptions::new().append(true).create_new(true).custom_flags(libc::O_NOFOLLOW).open(tmp)
}

/// Makes the temporary file `tmp` (open as `file`) the file `target`, durably: fsyncs
/// the file, renames it over `target`, fsyncs the directory (so the rename survives a
/// crash). `target` is either its old self or the whole new file.
pub fn commit(file: &File, tmp: &Path, target: &Path) -> io::Result<()> {
    file.sync_all()?;
    fs::rename(tmp, target)?;
    sync_dir(target.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// A copy of one shard's live keys, to be written without holding its lock.
pub fn copy_shard(ks: &Keyspace, now_ms: u64) -> Vec<KeyRecord> {
    ks.live_entries(now_ms).map(|(k, e)| (k.to_vec(), e.value.to_owned(), e.expire_at())).collect()
}

/// Writes `shards` snapshot files (`write(id, path)` writes shard id's), then the
/// layout, and removes the files of a larger former layout. Returns the key count.
fn save_shards(dir: &Path, shards: usize, mut write: impl FnMut(usize, &Path) -> io::Result<usize>) -> io::Result<usize> {
    fs::create_dir_all(dir)?;
    let mut keys = 0;
    for id in 0..shards {
        keys += write(id, &shard_file(dir, id))?;
    }
    write_layout(dir, shards)?;
    remove_stale(dir, shards);
    Ok(keys)
}

/// Saves every shard's copied keys (`shards[i]` is shard i) and the layout.
pub fn save_copies(dir: &Path, shards: &[Vec<KeyRecord>], now_ms: u64) -> io::Result<usize> {
    save_shards(dir, shards.len(), |id, path| {
        write_shard(path, shards[id].iter().map(|(k, v, e)| (k.as_slice(), v.as_ref(), *e)), now_ms)
    })
}

/// Saves every shard (`shards[i]` is shard i) and the layout, reading the keyspaces
/// in place (the caller holds their locks). Returns the key count.
pub fn save_all(dir: &Path, shards: &[&Keyspace], now_ms: u64) -> io::Result<usize> {
    save_shards(dir, shards.len(), |id, path| {
        let live: Vec<_> = shards[id].live_entries(now_ms).map(|(k, e)| (k, e.value, e.expire_at())).collect();
        write_shard(path, live.into_iter(), now_ms)
    })
}

/// Makes a rename durable (best effort: some filesystems refuse to fsync a directory).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

pub fn write_layout(dir: &Path, shards: usize) -> io::Result<()> {
    let text = format!(
        "# kevy data directory: written by kevy, read at start-up. Do not edit.\n\
         format {LAYOUT_FORMAT}\nshards {shards}\nrouting {ROUTING}\n"
    );
    let tmp = dir.join(format!("{LAYOUT_FILE}.tmp"));
    let mut file = create_exclusive(&tmp)?;
    file.write_all(text.as_bytes())
        .and_then(|_| commit(&file, &tmp, &dir.join(LAYOUT_FILE)))
        .inspect_err(|_| drop(fs::remove_file(&tmp)))
}

/// Removes shard files beyond the current shard count (left by a larger layout).
fn remove_stale(dir: &Path, shards: usize) {
    for id in shards.. {
        if fs::remove_file(shard_file(dir, id)).is_err() {
            break;
        }
    }
}

/// The shard count a layout file records.
pub fn read_layout(dir: &Path) -> Result<Option<usize>, String> {
    let path = dir.join(LAYOUT_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ').map(str::trim));
    if field("format").and_then(|f| f.parse::<u32>().ok()) != Some(LAYOUT_FORMAT) {
        return Err(format!("{}: unsupported layout format", path.display()));
    }
    if field("routing") != Some(ROUTING) {
        return Err(format!("{}: keys were routed by '{}', not {ROUTING}", path.display(), field("routing").unwrap_or("?")));
    }
    match field("shards").and_then(|s| s.parse::<usize>().ok()) {
        Some(n) if n > 0 => Ok(Some(n)),
        _ => Err(format!("{}: bad shard count", path.display())),
    }
}

/// What start-up found in the data directory.
#[derive(Debug, Default)]
pub struct Loaded {
    pub keys: u64,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// The files must be rewritten in the current layout (a different shard count,
    /// or an import from redis-server's dump).
    pub rewrite: bool,
}

/// Loads the data directory into `shards` (one keyspace per shard, empty), homing
/// every key by the current shard count. Keys already past their deadline are
/// dropped. An unreadable file stops the start with an error naming it and the offset.
pub fn load(dir: &Path, dbfilename: &str, shards: &mut [Keyspace], now_ms: u64) -> Result<Loaded, String> {
    let n = shards.len();
    let mut loaded = Loaded::default();
    let files: Vec<PathBuf> = match read_layout(dir)? {
        Some(old) => {
            loaded.rewrite = old != n;
            (0..old).map(|id| shard_file(dir, id)).filter(|p| p.exists()).collect()
        }
        None => {
            let import = dir.join(dbfilename);
            loaded.rewrite = import.exists();
            import.exists().then_some(import).into_iter().collect()
        }
    };
    for path in files {
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let summary = rdb::read(&bytes, |key, value, expire_at| {
            if expire_at == 0 || expire_at > now_ms {
                shards[shard_of(&key, n)].insert(&key, value, expire_at);
            }
        })
        .map_err(|e: RdbError| format!("{}: {e}", path.display()))?;
        if summary.skipped_other_db > 0 {
            crate::log_warning!(
                "{}: skipped {} keys of databases other than 0 (kevy has one database)",
                path.display(),
                summary.skipped_other_db
            );
        }
        if summary.skipped_functions {
            crate::log_warning!("{}: skipped the function libraries (not supported yet)", path.display());
        }
        loaded.keys += summary.keys;
        loaded.files.push(path);
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kevy-dump-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn filled(n: usize, keys: usize) -> Vec<Keyspace> {
        let mut shards: Vec<Keyspace> = (0..n).map(|_| Keyspace::new()).collect();
        for i in 0..keys {
            let k = format!("key:{i}");
            shards[shard_of(k.as_bytes(), n)].insert(k.as_bytes(), Value::Str(i.to_string().into_bytes()), 0);
        }
        shards
    }

    #[test]
    fn reshards_on_load_keeping_every_key_once() {
        let dir = scratch("reshard");
        let three = filled(3, 1000);
        save_all(&dir, &three.iter().collect::<Vec<_>>(), 0).unwrap();
        let mut two: Vec<Keyspace> = (0..2).map(|_| Keyspace::new()).collect();
        let loaded = load(&dir, "dump.rdb", &mut two, 0).unwrap();
        assert!(loaded.rewrite);
        assert_eq!(loaded.keys, 1000);
        assert_eq!(two.iter().map(Keyspace::len).sum::<usize>(), 1000);
        for (id, ks) in two.iter().enumerate() {
            assert!(ks.live_entries(0).all(|(k, _)| shard_of(k, 2) == id));
        }
        save_all(&dir, &two.iter().collect::<Vec<_>>(), 0).unwrap();
        assert!(!shard_file(&dir, 2).exists(), "the third shard's file is gone");
        let mut again: Vec<Keyspace> = (0..2).map(|_| Keyspace::new()).collect();
        assert!(!load(&dir, "dump.rdb", &mut again, 0).unwrap().rewrite);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_file_names_itself_and_the_offset() {
        let dir = scratch("corrupt");
        save_all(&dir, &filled(1, 10).iter().collect::<Vec<_>>(), 0).unwrap();
        let path = shard_file(&dir, 0);
        let mut bytes = fs::read(&path).unwrap();
        let len = bytes.len();
        bytes.truncate(len - 20);
        fs::write(&path, bytes).unwrap();
        let err = load(&dir, "dump.rdb", &mut [Keyspace::new()], 0).unwrap_err();
        assert!(err.contains("dump-0.rdb") && err.contains("offset"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
