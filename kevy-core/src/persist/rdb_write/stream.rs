//! Streams in RDB type 19 (`RDB_TYPE_STREAM_LISTPACKS_2`, what redis-server 7.0
//! writes): the nodes as listpacks keyed by their 16-byte master ID, the stream's
//! bookkeeping, then each group with its pending entries and consumers.

use std::io::{self, Write};

use super::RdbWriter;
use crate::types::stream::{listpack, Stream, StreamId};

/// The RDB type byte of a stream with Redis 7.0's bookkeeping.
pub const STREAM_LISTPACKS_2: u8 = 19;

impl<W: Write> RdbWriter<W> {
    fn id_lens(&mut self, id: StreamId) -> io::Result<()> {
        self.len(id.ms)?;
        self.len(id.seq)
    }

    /// Writes a stream value (after the key's deadline).
    pub(super) fn stream(&mut self, key: &[u8], s: &Stream) -> io::Result<()> {
        self.raw(&[STREAM_LISTPACKS_2])?;
        self.string(key)?;
        self.len(s.node_count() as u64)?;
        for (master, node) in s.nodes() {
            self.string(&master.to_be_bytes())?;
            self.string(&listpack::build(Stream::node_elems(*master, node)))?;
        }
        self.len(s.len())?;
        self.id_lens(s.last_id)?;
        self.id_lens(s.first_id)?;
        self.id_lens(s.max_deleted_id)?;
        self.len(s.entries_added)?;
        self.len(s.groups.len() as u64)?;
        for (name, g) in &s.groups {
            self.string(name)?;
            self.id_lens(g.last_id)?;
            self.len(g.entries_read as u64)?;
            self.len(g.pel.len() as u64)?;
            for (id, p) in &g.pel {
                self.raw(&id.to_be_bytes())?;
                self.raw(&p.delivery_time.to_le_bytes())?;
                self.len(p.delivery_count)?;
            }
            self.len(g.consumers.len() as u64)?;
            for (cname, c) in &g.consumers {
                self.string(cname)?;
                self.raw(&c.seen_time.to_le_bytes())?;
                self.len(c.pending.len() as u64)?;
                for id in &c.pending {
                    self.raw(&id.to_be_bytes())?;
                }
            }
        }
        Ok(())
    }
}
