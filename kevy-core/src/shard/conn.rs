//! One client connection: its socket, read buffer, output buffer, and the queue that
//! keeps replies in request order when some of them are computed on other shards.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;

use std::sync::Arc;

use super::blocking::Ticket;
use super::client::Client;
use crate::commands::Command;
use crate::resp::ArgSpans;

/// Read granularity; the buffer grows past it only for large commands.
const READ_CHUNK: usize = 16 * 1024;

/// The blocking command a connection waits on.
pub struct BlockedOn {
    pub ticket: Arc<Ticket>,
    /// Its reply slot.
    pub seq: u64,
    pub cmd: &'static Command,
}

/// A reply position in the pipeline, while an earlier reply is still awaited.
pub enum Slot {
    /// Computed on another shard; not here yet.
    Waiting(u64),
    /// Ready: `held[start..end]`.
    Ready(usize, usize),
    /// Local replies being written now: `held[start..]` (only ever the last slot).
    Open(usize),
}

pub struct Conn {
    pub stream: TcpStream,
    pub generation: u32,
    pub client: Client,
    /// Receive buffer: `rbuf[rpos..rlen]` holds bytes read but not yet parsed.
    pub rbuf: Vec<u8>,
    pub rpos: usize,
    pub rlen: usize,
    /// Bytes to send; `wpos` is how much of it has been sent.
    pub wbuf: Vec<u8>,
    pub wpos: usize,
    /// Replies not yet in `wbuf`, oldest first. Empty in the common case, where every
    /// reply is written straight into `wbuf`.
    pub pending: VecDeque<Slot>,
    /// Bytes of replies that are ready but wait behind an awaited one.
    held: Vec<u8>,
    pub next_seq: u64,
    /// A command spanning shards waits until every earlier reply is back.
    pub barrier: bool,
    /// Set while a blocking command waits for data.
    pub blocked: Option<BlockedOn>,
    /// The open transaction (after MULTI): its queued commands.
    pub multi: Option<Box<super::txn::Multi>>,
    /// The keys this connection WATCHes.
    pub watching: Option<Box<super::watch::Watching>>,
    /// Close once everything queued is written (QUIT, protocol error).
    pub closing: bool,
    /// Is write readiness registered with the reactor?
    pub watching_writable: bool,
    pub spans: ArgSpans,
    pub scratch: Vec<u8>,
    /// Since when (unix ms) the output has been over the pub/sub soft limit.
    soft_since: Option<u64>,
}

/// What a read found.
pub enum ReadOutcome {
    Data,
    Closed,
    WouldBlock,
}

impl Conn {
    pub fn new(stream: TcpStream, generation: u32, client: Client) -> Self {
        Conn {
            stream,
            generation,
            client,
            rbuf: Vec::new(),
            rpos: 0,
            rlen: 0,
            wbuf: Vec::new(),
            wpos: 0,
            pending: VecDeque::new(),
            held: Vec::new(),
            next_seq: 0,
            barrier: false,
            blocked: None,
            multi: None,
            watching: None,
            closing: false,
            watching_writable: false,
            spans: ArgSpans::default(),
            scratch: Vec::new(),
            soft_since: None,
        }
    }

    /// Reads what the socket has (up to a few chunks per call, for fairness).
    pub fn read(&mut self) -> io::Result<ReadOutcome> {
        let mut got = false;
        for _ in 0..4 {
            if self.rbuf.len() - self.rlen < READ_CHUNK / 2 {
                let grow = self.rbuf.len().max(READ_CHUNK);
                self.rbuf.resize(self.rbuf.len() + grow, 0);
            }
            match self.stream.read(&mut self.rbuf[self.rlen..]) {
                Ok(0) => return Ok(if got { ReadOutcome::Data } else { ReadOutcome::Closed }),
                Ok(n) => {
                    self.rlen += n;
                    got = true;
                    if self.rlen < self.rbuf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(if got { ReadOutcome::Data } else { ReadOutcome::WouldBlock })
    }

    /// Unparsed input.
    pub fn unparsed(&self) -> usize {
        self.rlen - self.rpos
    }

    /// Makes room for at least `total` bytes of one command (a large bulk).
    pub fn expect(&mut self, total: usize) {
        self.compact();
        if self.rbuf.len() < total {
            self.rbuf.resize(total, 0);
        }
    }

    /// Drops parsed bytes from the front of the read buffer.
    pub fn compact(&mut self) {
        if self.rpos == self.rlen {
            self.rpos = 0;
            self.rlen = 0;
            if self.rbuf.len() > 4 * READ_CHUNK {
                self.rbuf = Vec::new();
            }
        } else if self.rpos > 0 {
            self.rbuf.copy_within(self.rpos..self.rlen, 0);
            self.rlen -= self.rpos;
            self.rpos = 0;
        }
    }

    /// The buffer the next local reply goes to (`wbuf` when nothing is awaited, else the
    /// held buffer behind the awaited replies), together with the session state.
    pub fn reply_parts(&mut self) -> (&mut Vec<u8>, &mut Client) {
        if self.pending.is_empty() {
            return (&mut self.wbuf, &mut self.client);
        }
        if !matches!(self.pending.back(), Some(Slot::Open(_))) {
            self.pending.push_back(Slot::Open(self.held.len()));
        }
        (&mut self.held, &mut self.client)
    }

    /// Ends the open slot at the back, if any, so other bytes can follow in `held`.
    fn close_open(&mut self) {
        if let Some(Slot::Open(start)) = self.pending.back() {
            let start = *start;
            *self.pending.back_mut().expect("back exists") = Slot::Ready(start, self.held.len());
        }
    }

    /// Reserves the next position in the pipeline for a reply computed elsewhere.
    pub fn await_reply(&mut self) -> u64 {
        self.close_open();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back(Slot::Waiting(seq));
        seq
    }

    /// Fills awaited reply `seq` and moves every leading ready reply into `wbuf`.
    pub fn deliver(&mut self, seq: u64, bytes: &[u8]) {
        if matches!(self.pending.front(), Some(Slot::Waiting(q)) if *q == seq) {
            // The common case: the oldest awaited reply, straight to the output.
            self.pending.pop_front();
            self.wbuf.extend_from_slice(bytes);
        } else if let Some(at) = self.pending.iter().position(|s| matches!(s, Slot::Waiting(q) if *q == seq)) {
            self.close_open();
            let start = self.held.len();
            self.held.extend_from_slice(bytes);
            self.pending[at] = Slot::Ready(start, self.held.len());
        }
        loop {
            match self.pending.front() {
                Some(&Slot::Ready(start, end)) => self.wbuf.extend_from_slice(&self.held[start..end]),
                Some(&Slot::Open(start)) => self.wbuf.extend_from_slice(&self.held[start..]),
                _ => break,
            }
            self.pending.pop_front();
        }
        if self.pending.is_empty() {
            self.held.clear();
        }
    }

    /// Writes as much of `wbuf` as the socket takes. Ok(true) when all was written.
    pub fn write_out(&mut self) -> io::Result<bool> {
        while self.wpos < self.wbuf.len() {
            match self.stream.write(&self.wbuf[self.wpos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        if self.wbuf.capacity() > 1 << 20 {
            self.wbuf.shrink_to(READ_CHUNK);
        }
        Ok(true)
    }

    /// Nothing left to send or await.
    pub fn idle_output(&self) -> bool {
        self.wbuf.len() == self.wpos && self.pending.is_empty()
    }

    /// Appends an out-of-band frame (a pub/sub message): it goes after the replies
    /// already complete, never inside one.
    pub fn push_out(&mut self, frame: &[u8]) {
        self.wbuf.extend_from_slice(frame);
    }

    /// Bytes queued for this client and not yet sent.
    pub fn unsent(&self) -> usize {
        self.wbuf.len() - self.wpos + self.held.len()
    }

    /// Has the output stayed over `soft` bytes for more than `secs` seconds? (Redis's
    /// soft limit; 0 disables it.) Tracks when the output went over.
    pub fn soft_limit_exceeded(&mut self, soft: u64, secs: u64, queued: u64, now_ms: u64) -> bool {
        if soft == 0 || queued <= soft {
            self.soft_since = None;
            return false;
        }
        let since = *self.soft_since.get_or_insert(now_ms);
        now_ms.saturating_sub(since) > secs * 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        Conn::new(stream, 1, Client::default())
    }

    fn local(c: &mut Conn, text: &str) {
        c.reply_parts().0.extend_from_slice(text.as_bytes());
    }

    #[test]
    fn replies_leave_in_request_order() {
        let mut c = conn();
        local(&mut c, "A");
        let s0 = c.await_reply();
        local(&mut c, "B");
        let s1 = c.await_reply();
        local(&mut c, "C");
        let s2 = c.await_reply();
        c.deliver(s1, b"y");
        assert_eq!(c.wbuf, b"A");
        c.deliver(s0, b"x");
        assert_eq!(c.wbuf, b"AxByC");
        assert!(!c.idle_output() && c.pending.len() == 1);
        local(&mut c, "D");
        c.deliver(s2, b"z");
        assert_eq!(c.wbuf, b"AxByCzD");
        assert!(c.pending.is_empty() && c.held.is_empty());
    }
}
