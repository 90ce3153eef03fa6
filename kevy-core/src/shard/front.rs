//! A shard's front end: its reactor, listeners and the slab of its connections.
//!
//! The event loop owns it through an `Rc<RefCell<..>>` and borrows it only for short
//! steps (accept, read, write, close), never while a command runs: a connection's
//! pipeline runs with the connection taken out of the slab. So the busy servicer
//! (`shard::busy`), called from inside a long script's hook on the same thread, can
//! borrow the front end to serve the shard's other connections without aliasing.

use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

use crate::commands::client::Client;
use super::conn::Conn;
use crate::store::routing::ShardId;
use super::Shared;
use crate::reactor::{Backend, Reactor, READABLE, WRITABLE};

pub const LISTENER_TOKEN: u64 = 1 << 63;
pub const WAKER_TOKEN: u64 = 1 << 62;

pub fn conn_token(slot: u32, generation: u32) -> u64 {
    ((generation as u64) << 32) | slot as u64
}

/// The reactor and the connections of one shard.
pub struct Front {
    pub reactor: Reactor,
    pub listeners: Vec<TcpListener>,
    /// Connections by slot; a slot is `None` when free, or while its pipeline runs.
    pub conns: Vec<Option<Conn>>,
    pub free_slots: Vec<u32>,
    pub generations: Vec<u32>,
    /// Connections whose replies wait for this turn's AOF fsync (`appendfsync always`):
    /// the busy servicer must not send them early.
    pub unflushed: Vec<u32>,
    /// Connections with output for this turn's batched send (io_uring), and the
    /// results of the last batch (kept to reuse their allocations).
    to_send: Vec<u32>,
    send_results: Vec<i32>,
}

/// What writing a connection's output found.
pub enum Written {
    /// Everything is out, or the rest waits for writability.
    Ok,
    /// The connection asked to close and everything is out, or the socket failed:
    /// the caller closes it.
    Close,
}

impl Front {
    pub fn new(shared: &Shared, id: ShardId, listeners: Vec<TcpListener>, backend: Backend) -> std::io::Result<Self> {
        let mut reactor = Reactor::new(backend, 256)?;
        for (i, l) in listeners.iter().enumerate() {
            reactor.add(l.as_raw_fd(), READABLE, LISTENER_TOKEN | i as u64)?;
        }
        reactor.add(shared.shards[id].waker.fd(), READABLE, WAKER_TOKEN)?;
        Ok(Front {
            reactor,
            listeners,
            conns: Vec::new(),
            free_slots: Vec::new(),
            generations: Vec::new(),
            unflushed: Vec::new(),
            to_send: Vec::new(),
            send_results: Vec::new(),
        })
    }

    /// The connection in `slot` if it is the one `generation` names.
    pub fn conn(&mut self, slot: u32, generation: u32) -> Option<&mut Conn> {
        self.conns.get_mut(slot as usize)?.as_mut().filter(|c| c.generation == generation)
    }

    /// Accepts every connection waiting on listener `listener`.
    pub fn accept(&mut self, shared: &Shared, id: ShardId, listener: usize, now_ms: u64) {
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
            // Counted before the check (and given back on refusal), so shards accepting
            // at the same moment cannot together pass maxclients.
            let max = shared.config.maxclients.load(Ordering::Relaxed);
            if shared.connected_clients.fetch_add(1, Ordering::Relaxed) >= max {
                shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
                use std::io::Write;
                let _ = (&stream).write_all(format!("-{}\r\n", crate::commands::errors::MAX_CLIENTS).as_bytes());
                shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if crate::commands::auth::protected_mode_denies(&shared.config, &peer) {
                refuse_protected(shared, &stream);
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let client = Client {
                id: shared.next_client_id.fetch_add(1, Ordering::Relaxed),
                addr: peer.to_string(),
                laddr: stream.local_addr().map(|a| a.to_string()).unwrap_or_default(),
                fd: stream.as_raw_fd(),
                created_ms: now_ms,
                last_cmd_ms: now_ms,
                auth_pending: shared.config.requirepass_set.load(Ordering::Relaxed),
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
            if self.reactor.add(stream.as_raw_fd(), READABLE, conn_token(slot, generation)).is_err() {
                self.free_slots.push(slot);
                shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            shared.shards[id].clients.lock().unwrap_or_else(|e| e.into_inner()).insert(client.id, client.clone());
            shared.total_connections.fetch_add(1, Ordering::Relaxed);
            self.conns[slot as usize] = Some(Conn::new(stream, generation, client));
        }
    }

    /// Writes what the connection has queued; watches writability while the socket is
    /// full. (The AOF flush that must come first is the caller's.) Bytes that leave
    /// count as activity for `timeout`. With io_uring the bytes join the turn's batch
    /// instead, sent by [`send_queued`](Self::send_queued) before the shard waits.
    pub fn write(&mut self, slot: u32, now_ms: u64) -> Written {
        let batched = self.reactor.batches_sends();
        let Some(conn) = self.conns[slot as usize].as_mut() else { return Written::Ok };
        if batched && conn.unsent_now() > 0 {
            self.to_send.push(slot);
            return Written::Ok;
        }
        let unsent = conn.unsent();
        let written = conn.write_out();
        if conn.unsent() < unsent {
            conn.last_io_ms = now_ms;
        }
        let done = match written {
            Ok(done) => done,
            Err(_) => return Written::Close,
        };
        self.after_write(slot, done)
    }

    /// Watches writability while output is stuck; Close once a closing connection's
    /// output is all out.
    fn after_write(&mut self, slot: u32, done: bool) -> Written {
        let Some(conn) = self.conns[slot as usize].as_mut() else { return Written::Ok };
        let token = conn_token(slot, conn.generation);
        if !done && !conn.watching_writable {
            conn.watching_writable = true;
            let _ = self.reactor.modify(conn.stream.as_raw_fd(), READABLE | WRITABLE, token);
        } else if done && conn.watching_writable {
            conn.watching_writable = false;
            let _ = self.reactor.modify(conn.stream.as_raw_fd(), READABLE, token);
        }
        if conn.closing && conn.idle_output() {
            return Written::Close;
        }
        Written::Ok
    }

    /// Sends the output [`write`](Self::write) batched this turn, in one system call
    /// (io_uring), and closes the connections that failed or finished closing.
    pub fn send_queued(&mut self, shared: &Shared, id: ShardId, now_ms: u64) {
        if self.to_send.is_empty() {
            return;
        }
        let mut slots = std::mem::take(&mut self.to_send);
        slots.sort_unstable();
        slots.dedup();
        let conns = &self.conns;
        // Closed since, or already sent in full.
        slots.retain(|&s| conns[s as usize].as_ref().is_some_and(|c| c.unsent_now() > 0));
        let mut results = std::mem::take(&mut self.send_results);
        if let Reactor::Uring(ring) = &mut self.reactor {
            let bufs = slots.iter().filter_map(|&s| conns[s as usize].as_ref()).map(|c| (c.stream.as_raw_fd(), c.queued_bytes()));
            ring.send_batch(bufs, &mut results);
        }
        for (&slot, &res) in slots.iter().zip(&results) {
            let Some(conn) = self.conns[slot as usize].as_mut() else { continue };
            let done = match res {
                n if n > 0 => {
                    conn.last_io_ms = now_ms;
                    conn.sent(n as usize)
                }
                n if n < 0 && std::io::Error::from_raw_os_error(-n).kind() == std::io::ErrorKind::WouldBlock => false,
                _ => {
                    // The socket failed (or took nothing): as a failed write, closed.
                    self.close(shared, id, slot);
                    continue;
                }
            };
            if let Written::Close = self.after_write(slot, done) {
                self.close(shared, id, slot);
            }
        }
        slots.clear();
        self.to_send = slots;
        self.send_results = results;
    }

    /// Forgets the connection in `slot`: its subscriptions, watches, blocked command.
    pub fn close(&mut self, shared: &Shared, id: ShardId, slot: u32) {
        let Some(conn) = self.conns[slot as usize].take() else { return };
        if conn.client.subs.any() {
            let cref = crate::store::blocked::ConnRef { slot, generation: conn.generation };
            crate::shard::pubsub::forget(shared, id, &conn.client.subs, cref);
        }
        let _ = self.reactor.delete(conn.stream.as_raw_fd());
        super::txn::on_close(shared, &conn);
        if let Some(b) = conn.blocked {
            // Its registrations are skipped from now on, wherever they are.
            b.ticket.cancel();
            shared.blocked_clients.fetch_sub(1, Ordering::Relaxed);
        }
        shared.shards[id].clients.lock().unwrap_or_else(|e| e.into_inner()).remove(&conn.client.id);
        shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
        self.free_slots.push(slot);
    }
}

/// Protected mode: Redis's DENIED explanation, then the connection is closed.
#[cold]
fn refuse_protected(shared: &Shared, stream: &std::net::TcpStream) {
    use std::io::Write;
    let denied = format!("-{}\r\n", crate::commands::errors::DENIED_PROTECTED_MODE);
    let _ = (&*stream).write_all(denied.as_bytes());
    shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
    shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
}
