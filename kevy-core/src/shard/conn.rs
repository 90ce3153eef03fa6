//! One client connection: its socket, read buffer, output buffer, and the queue that
//! keeps replies in request order when some of them are computed on other shards.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::TcpStream;

use std::sync::Arc;

use crate::store::blocked::Ticket;
use crate::commands::client::Client;
use crate::config::{LiveConfig, OutputClass, OutputLimit};
use crate::resp::ArgSpans;

/// Read granularity; the buffer grows past it only for large commands.
const READ_CHUNK: usize = 16 * 1024;
/// The most one read call takes from the socket before other connections get a turn
/// (more when the buffer is already large, so a big value arrives in few turns).
const READ_BUDGET: usize = 4 * READ_CHUNK;

/// The blocking command a connection waits on.
pub struct BlockedOn {
    pub ticket: Arc<Ticket>,
    /// Its reply slot.
    pub seq: u64,
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
    /// Receive buffer: `rbuf[rpos..rlen]` holds bytes read but not yet parsed. Its
    /// length is always `rlen`: only bytes that arrived are in it, and its capacity
    /// grows geometrically with them, never to what a client merely announced.
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
    /// The output buffer limit of the client's class, armed for this turn.
    out_limit: OutputLimit,
    /// Unsent bytes at which the limit must be checked in full: the lower of the armed
    /// limits (0 while the soft limit's timer runs, usize::MAX with no limit). One
    /// comparison per command on the hot path.
    check_at: usize,
    /// Since when (unix seconds) the output has been at or over the soft limit.
    soft_since: Option<u64>,
    /// Over its output buffer limit: closed at the end of the turn without sending
    /// anything more (Redis's "close ASAP").
    pub close_asap: bool,
    /// When (unix ms) bytes last came in or went out: the `timeout` idle clock.
    pub last_io_ms: u64,
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
            out_limit: OutputLimit::default(),
            check_at: usize::MAX,
            soft_since: None,
            close_asap: false,
            last_io_ms: client.created_ms,
            client,
        }
    }

    /// Reads what the socket has, up to a budget per call (for fairness) and never
    /// past one byte over `limit` buffered (so the caller sees the limit was passed
    /// without the buffer growing further).
    pub fn read(&mut self, limit: u64) -> io::Result<ReadOutcome> {
        let room = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1).saturating_sub(self.rbuf.len());
        let want = room.min(READ_BUDGET.max(self.rbuf.len()));
        if want == 0 {
            return Ok(ReadOutcome::Data);
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.stream);
        let (before, mut res) = (self.rbuf.len(), Ok(0));
        // Reads until the budget is taken or a read comes back short (the socket is
        // drained: asking again would only find EAGAIN, a wasted system call).
        while self.rbuf.len() - before < want {
            if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 2 {
                // Doubling what arrived (or one chunk): capacity stays within about
                // twice the bytes received, and untouched capacity costs no memory.
                self.rbuf.reserve_exact(self.rbuf.len().max(READ_CHUNK));
            }
            let asked = (self.rbuf.capacity() - self.rbuf.len()).min(want - (self.rbuf.len() - before));
            res = crate::reactor::sys::read_spare(fd, &mut self.rbuf, asked);
            if !matches!(res, Ok(n) if n == asked) {
                break;
            }
        }
        let got = self.rbuf.len() - before;
        self.rlen = self.rbuf.len();
        match res {
            _ if got > 0 => Ok(ReadOutcome::Data),
            Ok(_) => Ok(ReadOutcome::Closed),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ReadOutcome::WouldBlock),
            Err(e) => Err(e),
        }
    }

    /// Unparsed input.
    pub fn unparsed(&self) -> usize {
        self.rlen - self.rpos
    }

    /// Called while a command of `total` bytes is incomplete (a large bulk): drops the
    /// parsed front and reserves for more of it, but only geometrically in what has
    /// arrived, never the announced size at once.
    pub fn expect(&mut self, total: usize) {
        self.compact();
        let missing = total.saturating_sub(self.rbuf.len());
        let step = missing.min(self.rbuf.len().max(READ_CHUNK));
        if self.rbuf.capacity() - self.rbuf.len() < step {
            self.rbuf.reserve_exact(step);
        }
    }

    /// Drops parsed bytes from the front of the read buffer, and gives back a large
    /// buffer once little of it is in use.
    pub fn compact(&mut self) {
        if self.rpos == self.rlen {
            self.rbuf.clear();
        } else if self.rpos > 0 {
            self.rbuf.copy_within(self.rpos..self.rlen, 0);
            self.rbuf.truncate(self.rlen - self.rpos);
        }
        self.rpos = 0;
        self.rlen = self.rbuf.len();
        if self.rbuf.capacity() > 4 * READ_CHUNK && self.rbuf.len() < self.rbuf.capacity() / 4 {
            if self.rbuf.is_empty() {
                self.rbuf = Vec::new();
            } else {
                self.rbuf.shrink_to(self.rbuf.len() * 2);
            }
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
        self.all_sent();
        Ok(true)
    }

    /// Records that `n` more queued bytes left (a batched send); true when all did.
    pub fn sent(&mut self, n: usize) -> bool {
        self.wpos = (self.wpos + n).min(self.wbuf.len());
        if self.wpos < self.wbuf.len() {
            return false;
        }
        self.all_sent();
        true
    }

    fn all_sent(&mut self) {
        self.wbuf.clear();
        self.wpos = 0;
        if self.wbuf.capacity() > 1 << 20 {
            self.wbuf.shrink_to(READ_CHUNK);
        }
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

    /// Bytes in the output buffer, ready to send now.
    pub fn unsent_now(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// Those bytes.
    pub fn queued_bytes(&self) -> &[u8] {
        &self.wbuf[self.wpos..]
    }

    /// Bytes queued for this client and not yet sent.
    pub fn unsent(&self) -> usize {
        self.wbuf.len() - self.wpos + self.held.len()
    }

    /// Arms the output limit of the client's class (pubsub once it is subscribed to
    /// anything, else normal) for the checks that follow.
    pub fn arm_output_limit(&mut self, config: &LiveConfig) {
        let class = if self.client.subs.any() { OutputClass::Pubsub } else { OutputClass::Normal };
        self.out_limit = config.output_limit(class);
        // While the soft limit's timer runs every check is a full one (it may reset).
        self.check_at = if self.soft_since.is_some() { 0 } else { self.limit_threshold() };
    }

    /// The lower of the armed hard and soft limits (0 = off), or usize::MAX with none.
    fn limit_threshold(&self) -> usize {
        let OutputLimit { hard, soft, .. } = self.out_limit;
        let lowest = [hard, soft].into_iter().filter(|&l| l > 0).min().unwrap_or(u64::MAX);
        usize::try_from(lowest).unwrap_or(usize::MAX)
    }

    /// Is the client over its armed output limit? One comparison unless the output
    /// reached a limit; see [`Conn::check_output_limit`].
    #[inline]
    pub fn over_output_limit(&mut self, now_ms: u64) -> bool {
        self.unsent() >= self.check_at && self.check_output_limit(now_ms)
    }

    /// Redis's `checkClientOutputBufferLimits`: over when the unsent output is at or
    /// past the hard limit, or has been at or past the soft limit for more than its
    /// seconds (counted in whole unix seconds, as Redis does). A client over its limit
    /// is marked to be closed at once, without sending more (`close_asap`; the shard
    /// closes and logs it).
    #[cold]
    fn check_output_limit(&mut self, now_ms: u64) -> bool {
        if self.close_asap {
            return true;
        }
        let used = self.unsent() as u64;
        let limit = self.out_limit;
        let hard = limit.hard > 0 && used >= limit.hard;
        let mut soft = limit.soft > 0 && used >= limit.soft;
        let now_s = now_ms / 1000;
        if soft {
            let since = *self.soft_since.get_or_insert(now_s);
            soft = now_s - since.min(now_s) > limit.soft_secs;
            self.check_at = 0; // the timer runs: check every time until it resets
        } else if self.soft_since.take().is_some() {
            self.check_at = self.limit_threshold();
        }
        if hard || soft {
            self.mark_over_limit();
        }
        self.close_asap
    }

    /// Marks the client to be closed at once, without sending more.
    fn mark_over_limit(&mut self) {
        self.close_asap = true;
        self.closing = true;
    }

    /// Is the output over the soft limit, its seconds still running? (The shard then
    /// checks it every tick, as Redis's clients cron does, output growing or not.)
    pub fn soft_timer_running(&self) -> bool {
        self.soft_since.is_some() && !self.close_asap
    }

    /// The periodic check of a client whose soft limit timer runs.
    pub fn tick_output_limit(&mut self, config: &LiveConfig, now_ms: u64) -> bool {
        self.arm_output_limit(config);
        self.check_output_limit(now_ms)
    }

    /// Reply bytes another shard may produce for this client before its hard limit
    /// (u64::MAX: none); see `mailbox::Request::budget`.
    pub fn reply_budget(&self) -> u64 {
        match self.out_limit.hard {
            0 => u64::MAX,
            hard => hard.saturating_sub(self.unsent() as u64),
        }
    }

    /// Should the pipeline wait for the replies other shards still owe? Under a hard
    /// limit, yes: each turn's requests carry a budget of what is left under the limit,
    /// and a second turn in flight would get the same budget again.
    pub fn paces_remote_replies(&self) -> bool {
        self.out_limit.hard > 0 && !self.pending.is_empty() && !self.barrier
    }

    /// Another shard stopped running this client's requests: their replies reached
    /// the hard limit. The client is closed as if its own output had.
    pub fn over_limit_elsewhere(&mut self) {
        self.mark_over_limit();
    }

    /// Arms the client's limit and checks it: after output was added outside the
    /// client's own pipeline (replies from other shards, pub/sub messages, timeouts).
    pub fn check_output(&mut self, config: &LiveConfig, now_ms: u64) -> bool {
        if self.close_asap {
            return true;
        }
        self.arm_output_limit(config);
        self.over_output_limit(now_ms)
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

    /// A connection whose peer end the test writes to.
    fn conn_with_peer() -> (Conn, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().unwrap();
        stream.set_nonblocking(true).unwrap();
        (Conn::new(stream, 1, Client::default()), peer)
    }

    /// Reads until `n` bytes are buffered (the bytes are in flight on loopback).
    fn read_until(c: &mut Conn, limit: u64, n: usize) {
        for _ in 0..1000 {
            if c.rlen >= n {
                return;
            }
            assert!(!matches!(c.read(limit).unwrap(), ReadOutcome::Closed));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("only {} of {n} bytes arrived", c.rlen);
    }

    #[test]
    fn announced_bulk_length_is_not_allocated() {
        let (mut c, mut peer) = conn_with_peer();
        let header = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870911\r\n";
        peer.write_all(header).unwrap();
        read_until(&mut c, u64::MAX, header.len());
        c.expect(536_870_911 + header.len() + 2);
        assert!(c.rbuf.capacity() <= 4 * READ_CHUNK, "reserved {} bytes", c.rbuf.capacity());
        // As the value arrives the buffer grows with it, within twice what came.
        let part = vec![b'x'; 1 << 20];
        peer.write_all(&part).unwrap();
        read_until(&mut c, u64::MAX, header.len() + part.len());
        c.expect(536_870_911 + header.len() + 2);
        assert!(c.rbuf.capacity() <= 2 * c.rlen + 2 * READ_CHUNK, "{} for {}", c.rbuf.capacity(), c.rlen);
    }

    #[test]
    fn reads_stop_one_byte_past_the_query_buffer_limit() {
        let (mut c, mut peer) = conn_with_peer();
        peer.write_all(&vec![b'x'; 300_000]).unwrap();
        read_until(&mut c, 100_000, 100_001);
        for _ in 0..10 {
            c.read(100_000).unwrap();
        }
        assert_eq!(c.unparsed(), 100_001);
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

    fn limited(c: &mut Conn, value: &str) {
        let live = LiveConfig::new(crate::config::Config::new());
        live.set_many(&[("client-output-buffer-limit", value)]).unwrap();
        c.arm_output_limit(&live);
    }

    #[test]
    fn output_limit_counts_held_replies_and_closes_at_the_hard_limit() {
        let mut c = conn();
        limited(&mut c, "normal 100 0 0");
        let s0 = c.await_reply();
        assert_eq!(c.reply_budget(), 100);
        // Local replies parked behind the awaited one count.
        local(&mut c, &"x".repeat(60));
        assert!(!c.over_output_limit(0));
        assert_eq!(c.reply_budget(), 40);
        local(&mut c, &"y".repeat(40));
        assert!(c.over_output_limit(0), "at the hard limit (Redis: >=)");
        assert!(c.close_asap && c.closing);
        c.deliver(s0, b"z");
        assert!(c.over_output_limit(0), "stays closed");
    }

    #[test]
    fn soft_limit_needs_its_seconds_and_resets_under_it() {
        let mut c = conn();
        limited(&mut c, "normal 0 10 2");
        c.push_out(&[b'x'; 10]);
        assert!(!c.over_output_limit(5_000), "first time over: the timer starts at second 5");
        assert!(c.soft_timer_running());
        assert!(!c.over_output_limit(7_999), "2 seconds are not more than 2");
        // Sent out: under the soft limit again, the timer resets.
        c.wpos = c.wbuf.len();
        assert!(!c.over_output_limit(7_999) && !c.soft_timer_running());
        c.push_out(&[b'x'; 10]);
        assert!(!c.over_output_limit(8_000));
        assert!(!c.over_output_limit(10_999));
        assert!(c.over_output_limit(11_000), "over for 3 whole seconds");
    }

    #[test]
    fn unlimited_normal_class_and_subscribers_use_the_pubsub_class() {
        let mut c = conn();
        limited(&mut c, "normal 0 0 0 pubsub 10 0 0");
        c.push_out(&[b'x'; 1000]);
        assert!(!c.over_output_limit(0));
        assert_eq!(c.reply_budget(), u64::MAX);
        c.client.subs.channels.insert(b"ch".to_vec());
        limited(&mut c, "normal 0 0 0 pubsub 10 0 0");
        assert!(c.over_output_limit(0));
    }
}
