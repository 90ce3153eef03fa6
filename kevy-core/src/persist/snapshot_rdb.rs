//! In-memory snapshots (`shard::host::Snapshot`) as Redis RDB bytes, both ways: a host
//! can keep a dataset as a file made once (by kevy or redis-server) and load it into
//! any server, or pickle a snapshot as those bytes.

use super::rdb::{self, RdbError};
use super::rdb_write::RdbWriter;
use crate::shard::host::Snapshot;

/// The snapshot as one RDB file (version 10, database 0), what SAVE would write.
pub fn to_rdb(snap: &Snapshot, now_ms: u64) -> Vec<u8> {
    let write = || -> std::io::Result<Vec<u8>> {
        let mut w = RdbWriter::new(Vec::new(), now_ms / 1000)?;
        let expires = snap.entries().filter(|e| e.2 != 0).count();
        w.begin_db(snap.len() as u64, expires as u64)?;
        for (key, value, expire_at) in snap.entries() {
            w.entry(key, value, expire_at)?;
        }
        w.finish()
    };
    // Writing into a Vec cannot fail.
    write().unwrap_or_default()
}

/// The keys of database 0 of an RDB file (kevy's or redis-server's). Keys already past
/// their deadline at `now_ms` are left out, as a server's start-up leaves them out.
pub fn from_rdb(bytes: &[u8], now_ms: u64) -> Result<Snapshot, RdbError> {
    let mut entries = Vec::new();
    rdb::read(bytes, |key, value, expire_at| {
        if expire_at == 0 || expire_at > now_ms {
            entries.push((key, value, expire_at));
        }
    })?;
    Ok(Snapshot::from_entries(entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    #[test]
    fn a_snapshot_survives_rdb_bytes() {
        let snap = Snapshot::from_entries(vec![
            (b"s".to_vec(), Value::Str(b"v".to_vec()), 0),
            (b"t".to_vec(), Value::Str(b"later".to_vec()), 5_000),
            (b"gone".to_vec(), Value::Str(b"x".to_vec()), 1_000),
        ]);
        let bytes = to_rdb(&snap, 2_000);
        assert!(bytes.starts_with(b"REDIS0010"));
        let back = from_rdb(&bytes, 2_000).unwrap();
        let keys: Vec<(Vec<u8>, u64)> = back.entries().map(|(k, _, at)| (k.to_vec(), at)).collect();
        assert_eq!(keys, vec![(b"s".to_vec(), 0), (b"t".to_vec(), 5_000)]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(from_rdb(b"not an rdb file", 0).is_err());
        let mut bytes = to_rdb(&Snapshot::default(), 0);
        bytes.truncate(bytes.len() - 3);
        assert!(from_rdb(&bytes, 0).is_err());
    }
}
