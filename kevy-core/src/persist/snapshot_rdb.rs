//! Keys in memory (an in-memory snapshot's entries) as Redis RDB bytes, both ways: a
//! host can keep a dataset as a file made once (by kevy or redis-server) and load it
//! into any server, or pickle a snapshot as those bytes.

use super::dump::KeyRecord;
use super::rdb::{self, RdbError};
use super::rdb_write::RdbWriter;
use crate::store::ValueRef;

/// The keys as one RDB file (version 10, database 0), what SAVE would write:
/// (key, value, deadline in unix ms or 0).
pub fn to_rdb<'a>(entries: impl ExactSizeIterator<Item = (&'a [u8], ValueRef<'a>, u64)> + Clone, now_ms: u64) -> Vec<u8> {
    let write = || -> std::io::Result<Vec<u8>> {
        let mut w = RdbWriter::new(Vec::new(), now_ms / 1000)?;
        let expires = entries.clone().filter(|e| e.2 != 0).count();
        w.begin_db(entries.len() as u64, expires as u64)?;
        for (key, value, expire_at) in entries.clone() {
            w.entry(key, value, expire_at)?;
        }
        w.finish()
    };
    // Writing into a Vec cannot fail.
    write().unwrap_or_default()
}

/// The keys of database 0 of an RDB file (kevy's or redis-server's). Keys already past
/// their deadline at `now_ms` are left out, as a server's start-up leaves them out.
pub fn from_rdb(bytes: &[u8], now_ms: u64) -> Result<Vec<KeyRecord>, RdbError> {
    let mut entries = Vec::new();
    rdb::read(bytes, |key, value, expire_at| {
        if expire_at == 0 || expire_at > now_ms {
            entries.push((key, value, expire_at));
        }
    })?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    fn bytes_of(entries: &[KeyRecord], now_ms: u64) -> Vec<u8> {
        to_rdb(entries.iter().map(|(k, v, at)| (k.as_slice(), v.as_ref(), *at)), now_ms)
    }

    #[test]
    fn keys_survive_rdb_bytes() {
        let entries = vec![
            (b"s".to_vec(), Value::Str(b"v".to_vec()), 0),
            (b"t".to_vec(), Value::Str(b"later".to_vec()), 5_000),
            (b"gone".to_vec(), Value::Str(b"x".to_vec()), 1_000),
        ];
        let bytes = bytes_of(&entries, 2_000);
        assert!(bytes.starts_with(b"REDIS0010"));
        let back = from_rdb(&bytes, 2_000).unwrap();
        let keys: Vec<(Vec<u8>, u64)> = back.iter().map(|(k, _, at)| (k.clone(), *at)).collect();
        assert_eq!(keys, vec![(b"s".to_vec(), 0), (b"t".to_vec(), 5_000)]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(from_rdb(b"not an rdb file", 0).is_err());
        let mut bytes = bytes_of(&[], 0);
        bytes.truncate(bytes.len() - 3);
        assert!(from_rdb(&bytes, 0).is_err());
    }
}
