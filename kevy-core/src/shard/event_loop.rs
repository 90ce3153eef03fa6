//! The shard thread: accept, read, run, write, serve other shards' requests, reap
//! expired keys, and park in the reactor when there is nothing to do.

use std::cell::RefCell;
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::conn::ReadOutcome;
use super::dispatch::{run_pipeline, run_requests, Turn};
use super::front::{Front, Written, LISTENER_TOKEN, WAKER_TOKEN};
use super::mailbox::{Msg, Outbox};
use crate::store::routing::ShardId;
use super::Shared;
use crate::reactor::{Backend, Event};
/// Keys checked per active-expiry round, and the most rounds per tick.
const REAP_BATCH: usize = 20;
const REAP_ROUNDS: usize = 16;
/// Messages taken from one ring per turn, so one busy peer cannot starve the rest.
const INBOX_BATCH: usize = 1024;
/// How often connections over their soft output limit are checked (Redis: `hz`).
const SOFT_LIMIT_TICK_MS: u64 = 100;

/// One shard's thread state.
pub struct ShardLoop {
    id: ShardId,
    shared: Arc<Shared>,
    /// The reactor and the connections, shared with the busy servicer a long script's
    /// hook runs (`shard::busy`); borrowed only for short steps, never across a command.
    front: Rc<RefCell<Front>>,
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
    /// When to look for clients idle past `timeout` next (unix ms).
    next_idle_check_ms: u64,
    /// Connections whose output is over its soft limit: checked every tick.
    soft_limited: Vec<u32>,
    next_soft_check_ms: u64,
}

impl ShardLoop {
    /// The reactor and listeners of shard `id`, made before its thread starts (so
    /// errors reach `Server::start`), then moved to the thread for [`new`](Self::new).
    pub fn front(id: ShardId, shared: &Shared, listeners: Vec<TcpListener>, backend: Backend) -> std::io::Result<Front> {
        Front::new(shared, id, listeners, backend)
    }

    /// The loop of shard `id`, built on its own thread (the front end is shared with
    /// the thread's scripts, not with other threads).
    pub fn new(id: ShardId, shared: Arc<Shared>, front: Front) -> Self {
        let front = Rc::new(RefCell::new(front));
        let shards = shared.shard_count();
        let now_ms = shared.clock.now_ms();
        ShardLoop {
            id,
            shared,
            front,
            outbox: Outbox::new(id, shards),
            now_ms,
            next_reap_ms: 0,
            touched: Vec::new(),
            blocked_slots: Vec::new(),
            next_timeout_ms: u64::MAX,
            deferred: false,
            next_idle_check_ms: 0,
            soft_limited: Vec::new(),
            next_soft_check_ms: 0,
        }
    }

    /// Runs until the server's stop flag is set.
    pub fn run(mut self) {
        // Scripts that run long on this thread serve our other connections from their hook.
        crate::scripting::busy::install(super::busy::servicer(&self.shared, self.id, &self.front));
        let mut events = Vec::with_capacity(256);
        let mut commands = 0u64;
        while !self.shared.stop.load(Ordering::Acquire) {
            self.now_ms = self.shared.clock.now_ms();
            crate::commands::stats::slowlog::new_turn();
            commands += self.drain_inbox();
            // Writes since the last check (ours, or other shards' under our lock) may
            // have deferred waiters on our keys.
            self.deferred = !self.shared.lock(self.id).blocked.deferred.is_empty();
            if self.deferred {
                self.serve_deferred();
            }
            self.flush_outbox();
            // The turn's replies, in one system call where the reactor batches them.
            self.front.borrow_mut().send_queued(&self.shared, self.id, self.now_ms);
            // Published before parking: the reaper's wake-up reads `expires`, and the
            // inbox just drained may have added the first key with a deadline.
            self.publish_stats(std::mem::take(&mut commands));
            let timeout = self.park_timeout();
            let waker = &self.shared.shards[self.id].waker;
            waker.park();
            let timeout = if self.shared.rings.has_inbound(self.id) { 0 } else { timeout };
            let polled = self.front.borrow_mut().reactor.wait(timeout, &mut events);
            waker.unpark();
            if let Err(e) = polled {
                crate::log_warning!("shard {} reactor failed: {e}", self.id);
                break;
            }
            self.now_ms = self.shared.clock.now_ms();
            crate::commands::stats::slowlog::new_turn();
            for ev in events.drain(..) {
                commands += self.on_event(ev);
            }
            let unflushed = std::mem::take(&mut self.front.borrow_mut().unflushed);
            for slot in unflushed {
                self.flush_conn(slot);
            }
            self.reap_if_due();
            self.close_idle_if_due();
            self.expire_blocked();
            self.check_soft_limits();
        }
        crate::scripting::busy::uninstall();
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
        if !self.soft_limited.is_empty() {
            wake_at = wake_at.min(self.next_soft_check_ms);
        }
        let front = self.front.borrow();
        if front.free_slots.len() < front.conns.len() {
            // Clients to check against `timeout` (which CONFIG SET may turn on while we
            // sleep): once a second, as Redis's clientsCron.
            wake_at = wake_at.min(self.next_idle_check_ms);
        }
        drop(front);
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
            let listener = (ev.token & !LISTENER_TOKEN) as usize;
            self.front.borrow_mut().accept(&self.shared, self.id, listener, self.now_ms);
            return 0;
        }
        if ev.token == WAKER_TOKEN {
            // The inbox itself is drained at the top of every turn.
            self.shared.shards[self.id].waker.reset();
            return 0;
        }
        let slot = ev.token as u32;
        let generation = (ev.token >> 32) as u32;
        let Some(idle) = self.front.borrow_mut().conn(slot, generation).map(|c| c.idle_output()) else { return 0 };
        if ev.writable && !idle {
            self.flush_conn(slot);
        }
        if ev.readable || ev.hangup {
            return self.on_readable(slot);
        }
        0
    }

    fn on_readable(&mut self, slot: u32) -> u64 {
        if !read_input(&self.shared, &mut self.front.borrow_mut(), self.id, slot, self.now_ms) {
            return 0;
        }
        let n = self.run_conn(slot);
        if self.group_commit() {
            // appendfsync always: one fsync for every connection served this turn.
            self.front.borrow_mut().unflushed.push(slot);
        } else {
            self.flush_conn(slot);
        }
        n
    }

    /// Runs the connection's parsed commands; returns how many ran.
    /// The connection is out of the slab while its commands run: a long script's hook
    /// serves the other connections through the front end, and never sees this one.
    fn run_conn(&mut self, slot: u32) -> u64 {
        let Some(mut conn) = self.front.borrow_mut().conns[slot as usize].take() else { return 0 };
        // The pipeline stops at the output limit (one comparison per command).
        conn.arm_output_limit(&self.shared.config);
        if conn.paces_remote_replies() {
            // Under a hard limit, one turn of requests to other shards is in flight at a
            // time (each bounded by the budget it carries): the rest waits for them.
            conn.barrier = true;
            self.front.borrow_mut().conns[slot as usize] = Some(conn);
            return 0;
        }
        let effects_on = self.shared.consumers_on();
        let mut turn =
            Turn { shared: &self.shared, me: self.id, now_ms: self.now_ms, outbox: &mut self.outbox, commands: 0, busy: None, effects_on };
        run_pipeline(&mut turn, &mut conn, slot);
        let commands = turn.commands;
        if conn.blocked.is_some() && !self.blocked_slots.contains(&slot) {
            self.blocked_slots.push(slot);
        }
        self.front.borrow_mut().conns[slot as usize] = Some(conn);
        commands
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
    /// full; closes it when it asked to be closed and everything is out. A client over
    /// its output buffer limit is closed at once, without sending more (as Redis).
    fn flush_conn(&mut self, slot: u32) {
        self.flush_aof();
        let mut front = self.front.borrow_mut();
        let Some(conn) = front.conns[slot as usize].as_mut() else { return };
        if conn.check_output(&self.shared.config, self.now_ms) {
            drop(front);
            self.close_over_output_limit(slot, true);
            return;
        }
        if conn.soft_timer_running() && !self.soft_limited.contains(&slot) {
            self.soft_limited.push(slot);
        }
        if let Written::Close = front.write(slot, self.now_ms) {
            front.close(&self.shared, self.id, slot);
        }
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
            if self.lift_barrier(slot) {
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
                let mut front = self.front.borrow_mut();
                for (cref, seq, bytes) in batch.iter() {
                    if let Some(conn) = front.conn(cref.slot, cref.generation) {
                        if seq == crate::shard::mailbox::OVER_OUTPUT_LIMIT {
                            conn.over_limit_elsewhere();
                            touched.push(cref.slot);
                            continue;
                        }
                        conn.deliver(seq, bytes);
                        if conn.blocked.as_ref().is_some_and(|b| b.seq == seq) {
                            conn.blocked = None;
                            shared.blocked_clients.fetch_sub(1, Ordering::Relaxed);
                        }
                        touched.push(cref.slot);
                    }
                }
                0
            }
        }
    }

    /// Writes a published message to our subscribers of it. A subscriber whose unsent
    /// output passes its output buffer limit (hard, or soft for too long) is
    /// disconnected, so one that does not read cannot grow the server without bound.
    fn deliver(&mut self, shared: &Shared, p: &crate::shard::pubsub::Publication, touched: &mut Vec<u32>) {
        let now = self.now_ms;
        let mut over = Vec::new();
        let mut front = self.front.borrow_mut();
        crate::shard::pubsub::frames(shared, self.id, p, |cref, frame| {
            let Some(conn) = front.conn(cref.slot, cref.generation) else { return };
            if conn.closing {
                return;
            }
            conn.push_out(&frame(conn.client.resp3));
            if conn.check_output(&shared.config, now) {
                over.push(cref.slot);
            } else {
                touched.push(cref.slot);
            }
        });
        drop(front);
        for slot in over {
            self.close_over_output_limit(slot, true);
        }
    }

    /// Closes connections that stayed over their soft output limit for its seconds,
    /// whether or not their output still grows (Redis's clients cron does the same).
    fn check_soft_limits(&mut self) {
        if self.soft_limited.is_empty() || self.now_ms < self.next_soft_check_ms {
            return;
        }
        self.next_soft_check_ms = self.now_ms + SOFT_LIMIT_TICK_MS;
        let (config, now) = (&self.shared.config, self.now_ms);
        let mut over = Vec::new();
        let mut slots = std::mem::take(&mut self.soft_limited);
        let mut front = self.front.borrow_mut();
        slots.retain(|&slot| {
            let Some(conn) = front.conns[slot as usize].as_mut() else { return false };
            if conn.tick_output_limit(config, now) {
                over.push(slot);
                return false;
            }
            conn.soft_timer_running()
        });
        drop(front);
        self.soft_limited = slots;
        for slot in over {
            self.close_over_output_limit(slot, false);
        }
    }

    /// Closes a connection over its output buffer limit, with Redis's log line: `scheduled`
    /// when found while output was added (Redis closes those a moment later), else found
    /// by the periodic check.
    fn close_over_output_limit(&mut self, slot: u32, scheduled: bool) {
        let mut front = self.front.borrow_mut();
        if let Some(conn) = front.conns[slot as usize].as_ref() {
            let client = conn.client.describe(self.now_ms);
            if scheduled {
                crate::log_warning!("Client {client} scheduled to be closed ASAP for overcoming of output buffer limits.");
            } else {
                crate::log_warning!("Client {client} closed for overcoming of output buffer limits.");
            }
        }
        front.close(&self.shared, self.id, slot);
    }

    /// Closes clients idle for more than `timeout` seconds, once a second, as Redis's
    /// clientsCron does: silently, and never subscribers, blocked clients or ones whose
    /// replies are still being computed.
    fn close_idle_if_due(&mut self) {
        let timeout_ms = self.shared.config.timeout.load(Ordering::Relaxed).saturating_mul(1000);
        if self.now_ms < self.next_idle_check_ms {
            return;
        }
        self.next_idle_check_ms = self.now_ms + 1000;
        if timeout_ms == 0 {
            return;
        }
        let now = self.now_ms;
        let mut front = self.front.borrow_mut();
        let idle: Vec<u32> = (0..front.conns.len() as u32)
            .filter(|&slot| {
                front.conns[slot as usize].as_ref().is_some_and(|c| {
                    c.blocked.is_none()
                        && !c.client.subs.any()
                        && c.pending.is_empty()
                        && now.saturating_sub(c.last_io_ms) > timeout_ms
                })
            })
            .collect();
        for slot in idle {
            front.close(&self.shared, self.id, slot);
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
            crate::persist::saver::check_rules(&*self.shared, self.now_ms);
        }
        if self.id == 0 && crate::alloc_count::is_counting() {
            // INFO's used_memory_peak, sampled each tick as Redis's cron samples it.
            crate::alloc_count::note_peak();
        }
        let mut ks = self.shared.lock(self.id);
        if ks.blocked.keys() > 0 {
            ks.blocked.sweep();
        }
        crate::shard::notify::arm(&*self.shared, &mut ks);
        for _ in 0..REAP_ROUNDS {
            // Keep going while more than a quarter of the sample had expired.
            if ks.reap(self.now_ms, REAP_BATCH) <= REAP_BATCH / 4 {
                break;
            }
        }
        crate::shard::notify::reaped(&*self.shared, &mut ks);
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
        let mut front = self.front.borrow_mut();
        slots.retain(|&slot| {
            let Some(conn) = front.conns[slot as usize].as_mut() else { return false };
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
        drop(front);
        self.blocked_slots = slots;
        self.next_timeout_ms = next;
        for slot in resume {
            if self.lift_barrier(slot) {
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
            let mut db = crate::store::db::Db::locked(&mut locks, &ids, n);
            super::blocking::serve_ready(&mut db, vec![key], &shared, self.id, self.now_ms, &mut self.outbox);
        }
        // Serving can defer the next waiter of a key (it may need other shards).
        self.deferred = !shared.lock(self.id).blocked.deferred.is_empty();
    }

    /// Lifts the connection's barrier once every awaited reply is back; true if lifted.
    fn lift_barrier(&self, slot: u32) -> bool {
        match self.front.borrow_mut().conns[slot as usize].as_mut() {
            Some(c) if c.barrier && c.pending.is_empty() => {
                c.barrier = false;
                true
            }
            _ => false,
        }
    }

    fn shutdown(&mut self) {
        let mut front = self.front.borrow_mut();
        for slot in 0..front.conns.len() {
            if let Some(conn) = front.conns[slot].as_mut() {
                let _ = conn.write_out();
            }
            front.close(&self.shared, self.id, slot as u32);
        }
        front.listeners.clear();
    }
}

/// Reads what connection `slot` sent. False when there is nothing to run: no new
/// bytes, or the connection was closed (it hung up, failed, or its unparsed input
/// passed `client-query-buffer-limit`).
pub(super) fn read_input(shared: &Shared, front: &mut Front, id: ShardId, slot: u32, now_ms: u64) -> bool {
    let Some(conn) = front.conns[slot as usize].as_mut() else { return false };
    let limit = shared.config.client_query_buffer_limit.load(Ordering::Relaxed);
    match conn.read(limit) {
        Ok(ReadOutcome::Data) => conn.last_io_ms = now_ms,
        Ok(ReadOutcome::WouldBlock) => return false,
        Ok(ReadOutcome::Closed) | Err(_) => {
            front.close(shared, id, slot);
            return false;
        }
    }
    if conn.unparsed() as u64 > limit {
        // As Redis: no reply, the connection is closed and the server says why.
        let head = &conn.rbuf[conn.rpos..conn.rlen.min(conn.rpos + 64)];
        crate::log_warning!(
            "Closing client that reached max query buffer length: id={} addr={} qbuf={} (qbuf initial bytes: {:?})",
            conn.client.id,
            conn.client.addr,
            conn.unparsed(),
            String::from_utf8_lossy(head)
        );
        front.close(shared, id, slot);
        return false;
    }
    true
}
