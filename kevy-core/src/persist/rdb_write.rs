//! Writes Redis's RDB format (version 10, what redis-server 7.0 writes and loads), so
//! `redis-check-rdb` accepts kevy's snapshots and redis-server can load one.
//!
//! kevy writes each type in its plain RDB encoding (string, set, hash, zset with
//! binary scores): every redis-server since 4.0 loads those and re-encodes compactly
//! itself. Lists go as quicklist 2 (type 18, Redis 7.0's own form): their nodes are
//! listpacks already. Strings are not LZF-compressed.

use std::io::{self, Write};

mod stream; // streams (type 19), kept apart

use super::crc64::crc64;
use super::rdb::{opcode, rdb_type, RDB_VERSION};
use crate::store::ValueRef;
use crate::types::list::LISTPACK_END;

/// A quicklist-2 node holding a listpack (1 would be one plain element).
const QUICKLIST_NODE_PACKED: u64 = 2;

/// An RDB file being written; the CRC is kept as bytes go out.
pub struct RdbWriter<W: Write> {
    out: W,
    crc: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a file: magic, version and the usual AUX fields.
    pub fn new(out: W, ctime_s: u64) -> io::Result<Self> {
        let mut w = RdbWriter { out, crc: 0 };
        w.raw(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        w.aux(b"redis-ver", crate::REDIS_VERSION.as_bytes())?;
        w.aux(b"redis-bits", b"64")?;
        w.aux(b"ctime", ctime_s.to_string().as_bytes())?;
        w.aux(b"used-mem", b"0")?;
        w.aux(b"aof-base", b"0")?;
        w.aux(b"kevy-ver", crate::VERSION.as_bytes())?;
        Ok(w)
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc = crc64(self.crc, bytes);
        self.out.write_all(bytes)
    }

    fn len(&mut self, n: u64) -> io::Result<()> {
        if n < 1 << 6 {
            self.raw(&[n as u8])
        } else if n < 1 << 14 {
            self.raw(&[0x40 | (n >> 8) as u8, n as u8])
        } else if n <= u32::MAX as u64 {
            self.raw(&[0x80])?;
            self.raw(&(n as u32).to_be_bytes())
        } else {
            self.raw(&[0x81])?;
            self.raw(&n.to_be_bytes())
        }
    }

    fn string(&mut self, s: &[u8]) -> io::Result<()> {
        self.len(s.len() as u64)?;
        self.raw(s)
    }

    fn aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.raw(&[opcode::AUX])?;
        self.string(key)?;
        self.string(value)
    }

    /// Opens database 0 with size hints (keys, keys with a deadline).
    pub fn begin_db(&mut self, keys: u64, expires: u64) -> io::Result<()> {
        self.raw(&[opcode::SELECTDB, 0])?;
        self.raw(&[opcode::RESIZEDB])?;
        self.len(keys)?;
        self.len(expires)
    }

    /// One key: its deadline (unix ms, 0 for none), type, name and value.
    pub fn entry(&mut self, key: &[u8], value: ValueRef<'_>, expire_at: u64) -> io::Result<()> {
        if expire_at != 0 {
            self.raw(&[opcode::EXPIRETIME_MS])?;
            self.raw(&expire_at.to_le_bytes())?;
        }
        match value {
            ValueRef::Str(s) => {
                self.raw(&[rdb_type::STRING])?;
                self.string(key)?;
                self.string(s)
            }
            ValueRef::List(l) => {
                // Quicklist 2: each node as a packed listpack (container 2).
                self.raw(&[rdb_type::LIST_QUICKLIST_2])?;
                self.string(key)?;
                self.len(l.listpacks().count() as u64)?;
                l.listpacks().try_for_each(|lp| {
                    self.len(QUICKLIST_NODE_PACKED)?;
                    self.len((lp.header.len() + lp.entries.len() + 1) as u64)?;
                    self.raw(&lp.header)?;
                    self.raw(lp.entries)?;
                    self.raw(&[LISTPACK_END])
                })
            }
            ValueRef::Set(s) => {
                self.raw(&[rdb_type::SET])?;
                self.string(key)?;
                self.len(s.len() as u64)?;
                s.iter().try_for_each(|m| m.with_bytes(|b| self.string(b)))
            }
            ValueRef::Hash(h) => {
                self.raw(&[rdb_type::HASH])?;
                self.string(key)?;
                self.len(h.len() as u64)?;
                h.iter().try_for_each(|(f, v)| {
                    self.string(f)?;
                    self.string(v)
                })
            }
            ValueRef::ZSet(z) => {
                self.raw(&[rdb_type::ZSET_2])?;
                self.string(key)?;
                self.len(z.len() as u64)?;
                z.iter().try_for_each(|(m, score)| {
                    self.string(m)?;
                    self.raw(&score.to_le_bytes())
                })
            }
            ValueRef::Stream(s) => self.stream(key, s),
        }
    }

    /// Ends the file (EOF opcode and checksum) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.raw(&[opcode::EOF])?;
        let crc = self.crc;
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}
