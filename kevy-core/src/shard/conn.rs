//! One client connection: its socket, read buffer, output buffer, and the queue that
//! keeps replies in request order when some of them are computed on other shards.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;

use super::client::Client;
use crate::resp::ArgSpans;

/// Read granularity; the buffer grows past it only for large commands.
const READ_CHUNK: usize = 16 * 1024;

/// A reply position in the pipeline: computed elsewhere and awaited, or ready.
pub enum Slot {
    Waiting(u64),
    Ready(Vec<u8>),
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
    pub next_seq: u64,
    /// A command spanning shards waits until every earlier reply is back.
    pub barrier: bool,
    /// Close once everything queued is written (QUIT, protocol error).
    pub closing: bool,
    /// Is write readiness registered with the reactor?
    pub watching_writable: bool,
    pub spans: ArgSpans,
    pub scratch: Vec<u8>,
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
            next_seq: 0,
            barrier: false,
            closing: false,
            watching_writable: false,
            spans: ArgSpans::default(),
            scratch: Vec::new(),
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

    /// The buffer the next local reply goes to (`wbuf` when nothing is awaited, else a
    /// ready slot at the back of the queue), together with the session state.
    pub fn reply_parts(&mut self) -> (&mut Vec<u8>, &mut Client) {
        if self.pending.is_empty() {
            return (&mut self.wbuf, &mut self.client);
        }
        if !matches!(self.pending.back(), Some(Slot::Ready(_))) {
            self.pending.push_back(Slot::Ready(Vec::new()));
        }
        match self.pending.back_mut() {
            Some(Slot::Ready(v)) => (v, &mut self.client),
            _ => unreachable!("a ready slot was just ensured"),
        }
    }

    /// Reserves the next position in the pipeline for a reply computed elsewhere.
    pub fn await_reply(&mut self) -> u64 {
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
        } else if let Some(slot) = self.pending.iter_mut().find(|s| matches!(s, Slot::Waiting(q) if *q == seq)) {
            *slot = Slot::Ready(bytes.to_vec());
        }
        while let Some(Slot::Ready(_)) = self.pending.front() {
            if let Some(Slot::Ready(b)) = self.pending.pop_front() {
                self.wbuf.extend_from_slice(&b);
            }
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
}
