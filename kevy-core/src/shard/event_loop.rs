//! The shard thread: accept, read, run, write, serve other shards' requests, reap
//! expired keys, and park in the reactor when there is nothing to do.

use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::client::Client;
use super::conn::{Conn, ReadOutcome};
use super::dispatch::{run_pipeline, run_requests, Turn};
use super::mailbox::{Msg, Outbox};
use super::routing::ShardId;
use super::Shared;
use crate::reactor::{Epoll, Event, READABLE, WRITABLE};

const LISTENER_TOKEN: u64 = 1 << 63;
const WAKER_TOKEN: u64 = 1 << 62;
/// Keys checked per active-expiry round, and the most rounds per tick.
const REAP_BATCH: usize = 20;
const REAP_ROUNDS: usize = 16;
/// Messages taken from one ring per turn, so one busy peer cannot starve the rest.
const INBOX_BATCH: usize = 1024;

/// One shard's thread state.
pub struct ShardLoop {
    id: ShardId,
    shared: Arc<Shared>,
    epoll: Epoll,
    listeners: Vec<TcpListener>,
    conns: Vec<Option<Conn>>,
    free_slots: Vec<u32>,
    generations: Vec<u32>,
    outbox: Outbox,
    now_ms: u64,
    next_reap_ms: u64,
    /// Connections that got replies this turn (kept to reuse its allocation).
    touched: Vec<u32>,
    /// Connections that may be waiting in a blocking command (timeouts are ours).
    blocked_slots: Vec<u32>,
    /// Earliest timeout among them (unix ms), for the reactor's sleep.
    next_timeout_ms: u64,
    /// Our keyspace has waiters whose serving needs other shards locked.
    deferred: bool,
    /// Connections whose replies wait for this turn's AOF fsync (`appendfsync always`).
    unflushed: Vec<u32>,
}

fn conn_token(slot: u32, generation: u32) -> u64 {
    ((generation as u64) << 32) | slot as u64
}

impl ShardLoop {
    pub fn new(id: ShardId, shared: Arc<Shared>, listeners: Vec<TcpListener>) -> std::io::Result<Self> {
        let epoll = Epoll::new(256)?;
        for (i, l) in listeners.iter().enumerate() {
            epoll.add(l.as_raw_fd(), READABLE, LISTENER_TOKEN | i as u64)?;
        }
        epoll.add(shared.shards[id].waker.fd(), READABLE, WAKER_TOKEN)?;
        let shards = shared.shard_count();
        let now_ms = shared.clock.now_ms();
        Ok(ShardLoop {
            id,
            shared,
            epoll,
            listeners,
            conns: Vec::new(),
            free_slots: Vec::new(),
            generations: Vec::new(),
            outbox: Outbox::new(id, shards),
            now_ms,
            next_reap_ms: 0,
            touched: Vec::new(),
            blocked_slots: Vec::new(),
            next_timeout_ms: u64::MAX,
            deferred: false,
            unflushed: Vec::new(),
        })
    }

    /// Runs until the server's stop flag is set.
    pub fn run(mut self) {
        let mut events = Vec::with_capacity(256);
        let mut commands = 0u64;
        while !self.shared.stop.load(Ordering::Acquire) {
            self.now_ms = self.shared.clock.now_ms();
            commands += self.drain_inbox();
            // Writes since the last check (ours, or other shards' under our lock) may
            // have deferred waiters on our keys.
            self.deferred = !self.shared.lock(self.id).blocked.deferred.is_empty();
            if self.deferred {
                self.serve_deferred();
            }
            self.flush_outbox();
            // Published before parking: the reaper's wake-up reads `expires`, and the
            // inbox just drained may have added the first key with a deadline.
            self.publish_stats(std::mem::take(&mut commands));
            let timeout = self.park_timeout();
            let waker = &self.shared.shards[self.id].waker;
            waker.park();
            let timeout = if self.shared.rings.has_inbound(self.id) { 0 } else { timeout };
            let polled = self.epoll.wait(timeout, &mut events);
            waker.unpark();
            if let Err(e) = polled {
                crate::log_warning!("shard {} reactor failed: {e}", self.id);
                break;
            }
            self.now_ms = self.shared.clock.now_ms();
            for ev in events.drain(..) {
                commands += self.on_event(ev);
            }
            for slot in std::mem::take(&mut self.unflushed) {
                self.flush_conn(slot);
            }
            self.reap_if_due();
            self.expire_blocked();
        }
        self.shutdown();
    }

    /// How long the reactor may sleep: forever when idle, until the next reaper tick when
    /// keys have deadlines, briefly when messages wait for ring space.
    fn park_timeout(&self) -> i32 {
        if self.deferred {
            return 0;
        }
        if self.outbox.has_backlog() {
            return 1;
        }
        let mut wake_at = self.next_timeout_ms;
        let saving = self.id == 0 && self.shared.config.saving.load(Ordering::Relaxed);
        if saving || self.shared.shards[self.id].stats.expires.load(Ordering::Relaxed) > 0 {
            wake_at = wake_at.min(self.next_reap_ms);
        }
        if !self.blocked_slots.is_empty() {
            // A remote shard may set a deadline while we sleep: it wakes us then.
            wake_at = wake_at.min(self.now_ms + 1000);
        }
        if wake_at == u64::MAX {
            return -1;
        }
        wake_at.saturating_sub(self.now_ms).min(1000) as i32
    }

    fn flush_outbox(&mut self) {
        let shared = &self.shared;
        self.outbox.flush(&shared.rings, |to| shared.shards[to].waker.wake_if_parked());
    }

    fn on_event(&mut self, ev: Event) -> u64 {
        if ev.token & LISTENER_TOKEN != 0 {
            self.accept((ev.token & !LISTENER_TOKEN) as usize);
            return 0;
        }
        if ev.token == WAKER_TOKEN {
            // The inbox itself is drained at the top of every turn.
            self.shared.shards[self.id].waker.reset();
            return 0;
        }
        let slot = ev.token as u32;
        let generation = (ev.token >> 32) as u32;
        let Some(Some(conn)) = self.conns.get_mut(slot as usize) else { return 0 };
        if conn.generation != generation {
            return 0;
        }
        if ev.writable && !conn.idle_output() {
            self.flush_conn(slot);
        }
        if ev.readable || ev.hangup {
            return self.on_readable(slot);
        }
        0
    }

    fn accept(&mut self, listener: usize) {
        loop {
            let (stream, peer) = match self.listeners[listener].accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of fds and the like: stop accepting this turn, keep serving.
                    crate::log_warning!("accept failed: {e}");
                    return;
                }
            };
            let max = self.shared.config.maxclients.load(Ordering::Relaxed);
            if self.shared.connected_clients.load(Ordering::Relaxed) >= max {
                use std::io::Write;
                let _ = (&stream).write_all(b"-ERR max number of clients reached\r\n");
                self.shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = stream.set_nodelay(true);
            let client = Client {
                id: self.shared.next_client_id.fetch_add(1, Ordering::Relaxed),
                addr: peer.to_string(),
                laddr: stream.local_addr().map(|a| a.to_string()).unwrap_or_default(),
                fd: stream.as_raw_fd(),
                created_ms: self.now_ms,
                last_cmd_ms: self.now_ms,
                ..Client::default()
            };
            let slot = self.free_slots.pop().unwrap_or_else(|| {
                self.conns.push(None);
                self.generations.push(0);
                (self.conns.len() - 1) as u32
            });
            let generation = self.generations[slot as usize].wrapping_add(1);
            self.generations[slot as usize] = generation;
            let client = Client { slot, generation, ..client };
            if self.epoll.add(stream.as_raw_fd(), READABLE, conn_token(slot, generation)).is_err() {
                self.free_slots.push(slot);
                continue;
            }
            self.shared.shards[self.id].clients.lock().unwrap_or_else(|e| e.into_inner()).insert(client.id, client.clone());
            self.shared.connected_clients.fetch_add(1, Ordering::Relaxed);
            self.shared.total_connections.fetch_add(1, Ordering::Relaxed);
            self.conns[slot as usize] = Some(Conn::new(stream, generation, client));
        }
    }

    fn on_readable(&mut self, slot: u32) -> u64 {
        let Some(conn) = self.conns[slot as usize].as_mut() else { return 0 };
        match conn.read() {
            Ok(ReadOutcome::Data) => {}
            Ok(ReadOutcome::WouldBlock) => return 0,
            Ok(ReadOutcome::Closed) | Err(_) => {
                self.close(slot);
                return 0;
            }
        }
        let limit = self.shared.config.client_query_buffer_limit.load(Ordering::Relaxed);
        if conn.unparsed() as u64 > limit {
            crate::log_warning!("closing client {}: query buffer over client-query-buffer-limit", conn.client.id);
            self.close(slot);
            return 0;
        }
        let n = self.run_conn(slot);
        if self.group_commit() {
            // appendfsync always: one fsync for every connection served this turn.
            self.unflushed.push(slot);
        } else {
            self.flush_conn(slot);
        }
        n
    }

    /// Runs the connection's parsed commands; returns how many ran.
    fn run_conn(&mut self, slot: u32) -> u64 {
        let Some(conn) = self.conns[slot as usize].as_mut() else { return 0 };
        let effects_on = crate::commands::effects::consumers_on(&self.shared);
        let mut turn =
            Turn { shared: &self.shared, me: self.id, now_ms: self.now_ms, outbox: &mut self.outbox, commands: 0, effects_on };
        run_pipeline(&mut turn, conn, slot);
        if conn.blocked.is_some() && !self.blocked_slots.contains(&slot) {
            self.blocked_slots.push(slot);
        }
        turn.commands
    }

    /// Writes (and per `appendfsync`, fsyncs) what our shard's log holds: before any
    /// reply of this turn leaves, so an acknowledged write is in the file.
    fn flush_aof(&self) {
        let shared = &self.shared;
        if shared.aof.on.load(Ordering::Relaxed) {
            shared.aof.flush(self.id, crate::persist::aof::Fsync::current(&shared.config));
        }
    }

    /// Are replies held until the turn's single fsync?
    fn group_commit(&self) -> bool {
        self.shared.aof.on.load(Ordering::Relaxed)
            && crate::persist::aof::Fsync::current(&self.shared.config) == crate::persist::aof::Fsync::Always
    }

    /// Writes what the connection has queued; watches writability while the socket is
    /// full; closes it when it asked to be closed and everything is out.
    fn flush_conn(&mut self, slot: u32) {
        self.flush_aof();
        let Some(conn) = self.conns[slot as usize].as_mut() else { return };
        let done = match conn.write_out() {
            Ok(done) => done,
            Err(_) => {
                self.close(slot);
                return;
            }
        };
        let token = conn_token(slot, conn.generation);
        if !done && !conn.watching_writable {
            conn.watching_writable = true;
            let _ = self.epoll.modify(conn.stream.as_raw_fd(), READABLE | WRITABLE, token);
        } else if done && conn.watching_writable {
            conn.watching_writable = false;
            let _ = self.epoll.modify(conn.stream.as_raw_fd(), READABLE, token);
        }
        if conn.closing && conn.idle_output() {
            self.close(slot);
        }
    }

    fn close(&mut self, slot: u32) {
        let Some(conn) = self.conns[slot as usize].take() else { return };
        if conn.client.subs.any() {
            let cref = crate::shard::mailbox::ConnRef { slot, generation: conn.generation };
            crate::shard::pubsub::forget(&self.shared, self.id, &conn.client.subs, cref);
        }
        let _ = self.epoll.delete(conn.stream.as_raw_fd());
        super::txn::on_close(&self.shared, &conn);
        if let Some(b) = conn.blocked {
            // Its registrations are skipped from now on, wherever they are.
            b.ticket.cancel();
            self.shared.blocked_clients.fetch_sub(1, Ordering::Relaxed);
        }
        self.shared.shards[self.id].clients.lock().unwrap_or_else(|e| e.into_inner()).remove(&conn.client.id);
        self.shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
        self.free_slots.push(slot);
    }

    /// Serves requests from other shards and delivers replies to our connections.
    fn drain_inbox(&mut self) -> u64 {
        let shared = Arc::clone(&self.shared);
        let mut served = 0;
        let mut touched = std::mem::take(&mut self.touched);
        {
            let mut guard = None;
            for from in 0..shared.shard_count() {
                for _ in 0..INBOX_BATCH {
                    let Some(msg) = shared.rings.pop(from, self.id) else { break };
                    served += self.on_msg(&shared, msg, &mut guard, &mut touched);
                }
            }
            for _ in 0..INBOX_BATCH {
                let Some(msg) = shared.rings.pop_host(self.id) else { break };
                served += self.on_msg(&shared, msg, &mut guard, &mut touched);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for &slot in &touched {
            let resume = matches!(&self.conns[slot as usize], Some(c) if c.barrier && c.pending.is_empty());
            if resume {
                if let Some(c) = self.conns[slot as usize].as_mut() {
                    c.barrier = false;
                }
                served += self.run_conn(slot);
            }
            self.flush_conn(slot);
        }
        touched.clear();
        self.touched = touched;
        served
    }

    /// Handles one inbound message: runs a request batch (replying to its sender) or
    /// hands replies to our connections. Returns the number of commands run.
    fn on_msg<'s>(
        &mut self,
        shared: &'s Shared,
        msg: Msg,
        guard: &mut Option<std::sync::MutexGuard<'s, crate::store::Keyspace>>,
        touched: &mut Vec<u32>,
    ) -> u64 {
        match msg {
            Msg::Requests(batch) => {
                let ks = guard.get_or_insert_with(|| shared.lock(self.id));
                let replies = run_requests(shared, self.id, self.now_ms, ks, &batch, &mut self.outbox);
                self.flush_aof();
                self.outbox.send(&shared.rings, batch.from, Msg::Replies(replies));
                batch.requests.len() as u64
            }
            Msg::Publish(p) => {
                self.deliver(shared, &p, touched);
                0
            }
            Msg::Replies(batch) => {
                for (cref, seq, bytes) in batch.iter() {
                    if let Some(Some(conn)) = self.conns.get_mut(cref.slot as usize) {
                        if conn.generation == cref.generation {
                            conn.deliver(seq, bytes);
                            if conn.blocked.as_ref().is_some_and(|b| b.seq == seq) {
                                conn.blocked = None;
                                shared.blocked_clients.fetch_sub(1, Ordering::Relaxed);
                            }
                            touched.push(cref.slot);
                        }
                    }
                }
                0
            }
        }
    }

    /// Writes a published message to our subscribers of it. A subscriber whose unsent
    /// output passes the pub/sub output buffer limit (hard, or soft for too long) is
    /// disconnected, so one that does not read cannot grow the server without bound.
    fn deliver(&mut self, shared: &Shared, p: &crate::shard::pubsub::Publication, touched: &mut Vec<u32>) {
        let (hard, soft, soft_secs) = shared.config.pubsub_output_limits();
        let now = self.now_ms;
        let mut over = Vec::new();
        crate::shard::pubsub::frames(shared, self.id, p, |cref, frame| {
            let Some(Some(conn)) = self.conns.get_mut(cref.slot as usize) else { return };
            if conn.generation != cref.generation || conn.closing {
                return;
            }
            conn.push_out(&frame(conn.client.resp3));
            let queued = conn.unsent() as u64;
            if (hard > 0 && queued > hard) || conn.soft_limit_exceeded(soft, soft_secs, queued, now) {
                over.push(cref.slot);
            } else {
                touched.push(cref.slot);
            }
        });
        for slot in over {
            if let Some(conn) = self.conns[slot as usize].as_ref() {
                crate::log_warning!(
                    "closing subscriber {}: client-output-buffer-limit pubsub reached ({} bytes queued)",
                    conn.client.id,
                    conn.unsent()
                );
            }
            self.close(slot);
        }
    }

    /// Active expiry: a bounded amount of work per tick (`hz` ticks per second).
    fn reap_if_due(&mut self) {
        if self.now_ms < self.next_reap_ms {
            return;
        }
        let hz = self.shared.config.hz.load(Ordering::Relaxed).clamp(1, 500);
        self.next_reap_ms = self.now_ms + 1000 / hz;
        if self.id == 0 && self.shared.config.saving.load(Ordering::Relaxed) {
            crate::persist::saver::check_rules(&self.shared, self.now_ms);
        }
        let mut ks = self.shared.lock(self.id);
        if ks.blocked.keys() > 0 {
            ks.blocked.sweep();
        }
        crate::shard::notify::arm(&self.shared, &mut ks);
        for _ in 0..REAP_ROUNDS {
            // Keep going while more than a quarter of the sample had expired.
            if ks.reap(self.now_ms, REAP_BATCH) <= REAP_BATCH / 4 {
                break;
            }
        }
        crate::shard::notify::reaped(&self.shared, &mut ks);
    }

    fn publish_stats(&self, commands: u64) {
        let stats = &self.shared.shards[self.id].stats;
        if commands > 0 {
            stats.commands.fetch_add(commands, Ordering::Relaxed);
        }
        // try_lock: a shard busy in a multi-shard command publishes next turn instead.
        if let Ok(ks) = self.shared.shards[self.id].keyspace.try_lock() {
            stats.keys.store(ks.len() as u64, Ordering::Relaxed);
            stats.expires.store(ks.volatile_len() as u64, Ordering::Relaxed);
        }
    }

    /// Times out blocked connections whose deadline passed (they get a nil reply) and
    /// forgets the ones that were served.
    fn expire_blocked(&mut self) {
        if self.blocked_slots.is_empty() {
            return;
        }
        let mut next = u64::MAX;
        let mut resume = Vec::new();
        let mut slots = std::mem::take(&mut self.blocked_slots);
        slots.retain(|&slot| {
            let Some(conn) = self.conns[slot as usize].as_mut() else { return false };
            let Some(b) = conn.blocked.as_ref() else { return false };
            let deadline = b.ticket.deadline();
            if deadline > self.now_ms {
                next = next.min(deadline);
                return true;
            }
            if !b.ticket.cancel() {
                return true; // being served right now: its reply is on the way
            }
            let seq = b.seq;
            conn.blocked = None;
            self.shared.blocked_clients.fetch_sub(1, Ordering::Relaxed);
            let nil: &[u8] = if conn.client.resp3 { b"_\r\n" } else { b"*-1\r\n" };
            conn.deliver(seq, nil);
            resume.push(slot);
            false
        });
        self.blocked_slots = slots;
        self.next_timeout_ms = next;
        for slot in resume {
            let resumable = matches!(&self.conns[slot as usize], Some(c) if c.barrier && c.pending.is_empty());
            if resumable {
                if let Some(c) = self.conns[slot as usize].as_mut() {
                    c.barrier = false;
                }
                self.run_conn(slot);
            }
            self.flush_conn(slot);
        }
    }

    /// Serves waiters of our keys that also need other shards (BLMOVE to a list on
    /// another shard): with no lock held, lock all the shards involved in order.
    fn serve_deferred(&mut self) {
        let shared = Arc::clone(&self.shared);
        let keys = std::mem::take(&mut shared.lock(self.id).blocked.deferred);
        let n = shared.shard_count();
        for key in keys {
            let Some(mut ids) = shared.lock(self.id).blocked.shards_to_serve(&key, n) else { continue };
            ids.push(self.id);
            ids.sort_unstable();
            ids.dedup();
            let mut locks = shared.lock_shards(&ids);
            let mut db = super::db::Db::locked(&mut locks, &ids, n);
            super::blocking::serve_ready(&mut db, vec![key], &shared, self.id, self.now_ms, &mut self.outbox);
        }
        // Serving can defer the next waiter of a key (it may need other shards).
        self.deferred = !shared.lock(self.id).blocked.deferred.is_empty();
    }

    fn shutdown(&mut self) {
        for slot in 0..self.conns.len() {
            if let Some(conn) = self.conns[slot].as_mut() {
                let _ = conn.write_out();
            }
            self.close(slot as u32);
        }
        self.listeners.clear();
    }
}
