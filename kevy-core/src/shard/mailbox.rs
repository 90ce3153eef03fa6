//! Cross-shard messages: one bounded SPSC ring per ordered shard pair, a local backlog
//! per destination when a ring is full (producers never block or drop), and an eventfd
//! waker with a parked flag so an idle shard sleeps until someone has work for it.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_queue::{ArrayQueue, SegQueue};

use crate::store::blocked::{ConnRef, Ticket};
use crate::store::routing::ShardId;
use crate::commands::Command;
use crate::reactor::sys::EventFd;
use crate::resp::{ArgSpans, Args};

/// Capacity of each ring; past it messages wait in the sender's backlog.
const RING_CAPACITY: usize = 4096;

/// A message between shards. Requests and replies travel in batches: everything one
/// shard has for another in one event-loop turn is one message, so a pipeline costs a
/// few allocations and one ring operation, not a few per command.
pub enum Msg {
    Requests(RequestBatch),
    Replies(ReplyBatch),
    /// A pub/sub message for this shard's subscribers.
    Publish(Arc<super::pubsub::Publication>),
}

/// One request of a batch: run `cmd` on the receiving shard (which owns its keys) and
/// send back the reply. Its arguments are `spans[first..first + argc]` of the batch.
pub struct Request {
    pub conn: ConnRef,
    pub seq: u64,
    pub resp3: bool,
    pub cmd: &'static Command,
    /// For a blocking command: the ticket its waiters share.
    pub ticket: Option<Arc<Ticket>>,
    /// Reply bytes the connection can still take before its hard output buffer limit
    /// (u64::MAX: no limit). The receiver stops running the connection's requests of a
    /// batch once their replies reach it, so a client that never reads cannot make
    /// another shard build gigabytes of replies for it.
    pub budget: u64,
    first: u32,
    argc: u32,
}

/// Requests from shard `from`, with all their argument bytes in one buffer.
pub struct RequestBatch {
    pub from: ShardId,
    data: Vec<u8>,
    spans: ArgSpans,
    pub requests: Vec<Request>,
}

impl RequestBatch {
    fn new(from: ShardId) -> Self {
        // Sized for a typical pipeline so filling it rarely reallocates.
        RequestBatch {
            from,
            data: Vec::with_capacity(512),
            spans: ArgSpans::with_capacity(48),
            requests: Vec::with_capacity(16),
        }
    }

    /// Appends a request, copying its arguments.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        conn: ConnRef,
        seq: u64,
        resp3: bool,
        cmd: &'static Command,
        args: Args<'_>,
        ticket: Option<Arc<Ticket>>,
        budget: u64,
    ) {
        let first = self.spans.len() as u32;
        for a in args.iter() {
            self.spans.push(self.data.len(), a.len());
            self.data.extend_from_slice(a);
        }
        self.requests.push(Request { conn, seq, resp3, cmd, ticket, budget, first, argc: args.len() as u32 });
    }

    /// The arguments of one of this batch's requests.
    pub fn args(&self, r: &Request) -> Args<'_> {
        Args::from_spans(&self.data, self.spans.range(r.first as usize, r.argc as usize))
    }
}

/// The seq of a [`ReplyBatch`] entry that is no reply: the connection's replies
/// reached its output buffer limit (see [`Request::budget`]).
pub const OVER_OUTPUT_LIMIT: u64 = u64::MAX;

/// Encoded replies for connections of the receiving shard: reply i is
/// `bytes[ends[i-1]..ends[i]]`.
pub struct ReplyBatch {
    pub bytes: Vec<u8>,
    pub replies: Vec<(ConnRef, u64, usize)>,
}

impl ReplyBatch {
    /// Room for `n` replies of a typical size.
    pub fn with_capacity(n: usize) -> Self {
        ReplyBatch { bytes: Vec::with_capacity(n * 16), replies: Vec::with_capacity(n) }
    }

    /// Marks the bytes written since the previous reply as the reply to (conn, seq).
    pub fn close(&mut self, conn: ConnRef, seq: u64) {
        self.replies.push((conn, seq, self.bytes.len()));
    }

    /// Tells `conn` that its replies reached its output buffer limit here: its later
    /// requests in the batch were not run (the connection is to be closed). An entry
    /// with seq [`OVER_OUTPUT_LIMIT`] and no bytes.
    pub fn refuse_over_limit(&mut self, conn: ConnRef) {
        self.close(conn, OVER_OUTPUT_LIMIT);
    }

    /// (conn, seq, reply bytes) in order.
    pub fn iter(&self) -> impl Iterator<Item = (ConnRef, u64, &[u8])> + '_ {
        let mut start = 0;
        self.replies.iter().map(move |&(c, s, end)| {
            let r = (c, s, &self.bytes[start..end]);
            start = end;
            r
        })
    }
}

/// Wakes a shard thread that parked in its reactor.
pub struct Waker {
    eventfd: EventFd,
    parked: AtomicBool,
}

impl Waker {
    pub fn new() -> std::io::Result<Self> {
        Ok(Waker { eventfd: EventFd::new()?, parked: AtomicBool::new(false) })
    }
    pub fn fd(&self) -> i32 {
        self.eventfd.raw()
    }
    /// Called by the owner before it parks. It must then re-check its rings: a producer
    /// that pushed before seeing the flag will not wake it.
    pub fn park(&self) {
        self.parked.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }
    /// Called by the owner after waking.
    pub fn unpark(&self) {
        self.parked.store(false, Ordering::Relaxed);
    }
    /// Called by the owner when the reactor reports the eventfd readable.
    pub fn reset(&self) {
        self.eventfd.drain();
    }
    /// Called by a producer after pushing: writes the eventfd only if the owner parked.
    pub fn wake_if_parked(&self) {
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::SeqCst) && self.parked.swap(false, Ordering::SeqCst) {
            self.eventfd.notify();
        }
    }
    /// Wakes unconditionally (used to deliver the stop signal).
    pub fn wake(&self) {
        self.eventfd.notify();
    }
}

/// The `me` of an [`Outbox`] used by a host thread (an in-process call).
const HOST: ShardId = usize::MAX;

/// All rings of a server: `rings[from * n + to]`, plus one unbounded MPSC inbox per
/// shard for messages from host threads (replies to blocked clients served by an
/// in-process write), which are not single producers.
pub struct Rings {
    shards: usize,
    rings: Vec<ArrayQueue<Msg>>,
    host: Vec<SegQueue<Msg>>,
}

impl Rings {
    pub fn new(shards: usize) -> Self {
        Rings {
            shards,
            rings: (0..shards * shards).map(|_| ArrayQueue::new(RING_CAPACITY)).collect(),
            host: (0..shards).map(|_| SegQueue::new()).collect(),
        }
    }
    /// Queues a message for shard `to` from any thread (the caller wakes it).
    pub fn push_host(&self, to: ShardId, msg: Msg) {
        self.host[to].push(msg);
    }
    /// Takes the next message host threads sent to `to`.
    pub fn pop_host(&self, to: ShardId) -> Option<Msg> {
        self.host[to].pop()
    }
    fn ring(&self, from: ShardId, to: ShardId) -> &ArrayQueue<Msg> {
        &self.rings[from * self.shards + to]
    }
    /// Takes the next message sent to `to` by `from`.
    pub fn pop(&self, from: ShardId, to: ShardId) -> Option<Msg> {
        self.ring(from, to).pop()
    }
    /// Is anything waiting for shard `to`?
    pub fn has_inbound(&self, to: ShardId) -> bool {
        !self.host[to].is_empty() || (0..self.shards).any(|from| !self.ring(from, to).is_empty())
    }
}

/// A shard's sending side: the request batches being filled this turn, what did not
/// fit in a ring yet, and who needs waking.
pub struct Outbox {
    me: ShardId,
    filling: Vec<Option<RequestBatch>>,
    backlog: Vec<VecDeque<Msg>>,
    touched: Vec<bool>,
}

impl Outbox {
    pub fn new(me: ShardId, shards: usize) -> Self {
        Outbox {
            me,
            filling: (0..shards).map(|_| None).collect(),
            backlog: (0..shards).map(|_| VecDeque::new()).collect(),
            touched: vec![false; shards],
        }
    }

    /// Adds a request for shard `to` to this turn's batch; sent by [`flush`](Self::flush).
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        to: ShardId,
        conn: ConnRef,
        seq: u64,
        resp3: bool,
        cmd: &'static Command,
        args: Args<'_>,
        ticket: Option<Arc<Ticket>>,
        budget: u64,
    ) {
        let me = self.me;
        self.filling[to].get_or_insert_with(|| RequestBatch::new(me)).push(conn, seq, resp3, cmd, args, ticket, budget);
    }

    /// The sending side of a host thread: messages go to the shards' host inboxes.
    pub fn for_host(shards: usize) -> Self {
        Outbox::new(HOST, shards)
    }

    /// Queues `msg` for shard `to`, keeping per-destination FIFO order.
    pub fn send(&mut self, rings: &Rings, to: ShardId, msg: Msg) {
        self.touched[to] = true;
        if self.me == HOST {
            rings.host[to].push(msg);
            return;
        }
        if self.backlog[to].is_empty() {
            if let Err(msg) = rings.ring(self.me, to).push(msg) {
                self.backlog[to].push_back(msg);
            }
        } else {
            self.backlog[to].push_back(msg);
        }
    }

    /// Sends this turn's request batches, moves backlog into rings where room appeared,
    /// and wakes the shards sent to.
    pub fn flush(&mut self, rings: &Rings, wake: impl Fn(ShardId)) {
        for to in 0..self.filling.len() {
            if let Some(batch) = self.filling[to].take() {
                self.send(rings, to, Msg::Requests(batch));
            }
        }
        for to in 0..self.backlog.len() {
            while let Some(msg) = self.backlog[to].pop_front() {
                // (A host outbox never has backlog: its inboxes are unbounded.)
                if let Err(msg) = rings.ring(self.me, to).push(msg) {
                    self.backlog[to].push_front(msg);
                    break;
                }
            }
            if std::mem::take(&mut self.touched[to]) {
                wake(to);
            }
        }
    }

    /// Are messages still waiting for ring space?
    pub fn has_backlog(&self) -> bool {
        self.backlog.iter().any(|b| !b.is_empty())
    }
}
