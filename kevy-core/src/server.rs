//! The public entry point: start a server from a [`Config`], learn its port, stop it.
//! kevy-server, the C ABI and the Python package are thin layers over this.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::clock::Clock;
use crate::commands::custom::{CustomHandler, CustomSpec, RegisterError};
use crate::commands::CommandTable;
use crate::config::{Config, LiveConfig};
use crate::error::Error;
use crate::persist::saver::{self, shutdown, SaveState};
use crate::resp::{OwnedArgs, Reply};
use crate::shard::host::Snapshot;
use crate::reactor::sys::reuseport_listener;
use crate::shard::event_loop::ShardLoop;
use crate::shard::mailbox::{Rings, Waker};
use crate::shard::{unix_ms, ShardHandle, ShardStats, Shared};
use crate::store::Keyspace;

/// A running kevy server. Dropping it stops it.
pub struct Server {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    /// The AOF's background thread.
    aof_thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds the listeners and starts one thread per shard. With `port 0` the kernel
    /// picks a free port, shared by every shard; [`port`](Self::port) reports it.
    pub fn start(config: Config) -> Result<Server, Error> {
        let shards = config.shards().max(1);
        let addrs: Vec<IpAddr> = config
            .bind()
            .iter()
            .map(|a| a.parse().map_err(|_| std::io::Error::other(format!("bad bind address {a}"))))
            .collect::<Result<_, _>>()?;
        let (port, listeners) = bind_all(&addrs, config.port(), shards, config.tcp_backlog())?;
        let reactor = crate::reactor::choose(config.get("io-uring").unwrap_or("auto")).map_err(std::io::Error::other)?;
        let dir = std::path::PathBuf::from(config.get("dir").unwrap_or("."));
        // With the AOF on and its files present, they are the whole story: snapshots
        // are not loaded under them (as Redis prefers the AOF).
        let from_aof = config.appendonly() && crate::shard::aof_load::existing_files(&dir).map_err(Error::Persist)? > 0;
        let (appendonly, truncated_ok) = (config.appendonly(), config.get("aof-load-truncated") != Some("no"));
        // Process-wide: the last server started (or CONFIG SET) decides for all.
        crate::types::list::set_max_listpack_size(config.list_max_listpack_size());
        let keyspaces = if from_aof { (0..shards).map(|_| Keyspace::new()).collect() } else { load_data(&config, shards)? };
        let handles = keyspaces
            .into_iter()
            .map(|ks| {
                Ok(ShardHandle {
                    keyspace: Mutex::new(ks),
                    waker: Waker::new()?,
                    stats: ShardStats::default(),
                    clients: Mutex::new(Default::default()),
                    subscribers: Mutex::new(Default::default()),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let shared = Arc::new(Shared {
            clock: if config.manual_clock() { Clock::manual() } else { Clock::system() },
            config: LiveConfig::new(config),
            table: CommandTable::with_rows(crate::scripting::ROWS),
            scripts: Default::default(),
            shards: handles,
            rings: Rings::new(shards),
            stop: AtomicBool::new(false),
            port,
            reactor,
            started_ms: unix_ms(),
            next_client_id: AtomicU64::new(1),
            connected_clients: AtomicU64::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            blocked_clients: AtomicU64::new(0),
            persist: SaveState::default(),
            shutdown_mode: AtomicU8::new(shutdown::DEFAULT),
            pubsub: crate::shard::pubsub::Registry::new(shards),
            aof: crate::persist::aof::Logs::new(shards),
            aof_worker: Default::default(),
            faults: Default::default(),
            slowlog: Default::default(),
            latency: Default::default(),
        });
        if appendonly {
            crate::shard::aof_load::setup(&shared, &dir, truncated_ok).map_err(Error::Persist)?;
        }
        // Always there (CONFIG SET appendonly may switch the AOF on); asleep while off.
        let aof_thread = Some(crate::persist::aof_worker::spawn(Arc::clone(&shared))?);
        shared.persist.last_save_s.store(shared.started_ms / 1000, Ordering::Release);
        shared.persist.last_ok.store(true, Ordering::Release);
        let mut server = Server { shared: Arc::clone(&shared), threads: Vec::new(), aof_thread };
        for (id, ls) in listeners.into_iter().enumerate() {
            let front = ShardLoop::front(id, &shared, ls, reactor)?;
            let shared = Arc::clone(&shared);
            let thread = std::thread::Builder::new()
                .name(format!("kevy-shard-{id}"))
                .spawn(move || ShardLoop::new(id, shared, front).run())?;
            server.threads.push(thread);
        }
        Ok(server)
    }

    /// The TCP port clients connect to.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// Number of shard threads.
    pub fn shards(&self) -> usize {
        self.shared.shard_count()
    }

    /// Has a client (SHUTDOWN) or the host asked this server to stop?
    pub fn is_stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    /// Runs one command in-process, from any thread, without a socket: routed to the
    /// shards owning its keys (locked in shard order, so atomic as other clients see
    /// it) and run on the calling thread. Returns the reply decoded from RESP3; error
    /// replies are [`Reply::Error`]. A blocking command that finds nothing returns nil
    /// at once. Must not be called from inside a custom command's callback (it returns
    /// an error there: use the callback context's `call`).
    pub fn call<A: AsRef<[u8]>>(&self, argv: &[A]) -> Reply {
        crate::shard::host::call(&self.shared, &OwnedArgs::from_slices(argv.iter().map(AsRef::as_ref)))
    }

    /// Registers (or replaces) a custom command, usable at once by every client and by
    /// [`call`](Self::call). The handler runs on the thread running the command (the
    /// shard thread owning its first key, or the caller of `call`), with that key's
    /// shard locked, so it must not block for long.
    pub fn register_command(&self, spec: &CustomSpec, handler: Arc<CustomHandler>) -> Result<(), RegisterError> {
        self.shared.table.register(spec, handler)
    }

    /// Moves a manual clock (`clock manual`) forward and lets the shards act on it
    /// (expire keys, time out blocked clients). False with the system clock.
    pub fn advance(&self, ms: u64) -> bool {
        if !self.shared.clock.advance(ms) {
            return false;
        }
        for s in &self.shared.shards {
            s.waker.wake();
        }
        true
    }

    /// The server's clock, in unix milliseconds (the manual clock's time with
    /// `clock manual`): what TTLs and blocking timeouts are measured against.
    pub fn now_ms(&self) -> u64 {
        self.shared.clock.now_ms()
    }

    /// Test faults: the next `times` calls (every call for None) of the command
    /// `name` get `fault` (an error reply instead of running, or a pause first).
    pub fn inject_fault(&self, name: &str, fault: crate::faults::Fault, times: Option<u64>) {
        self.shared.faults.add(name, fault, times);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Copies every key (values and deadlines) at one consistent instant.
    pub fn snapshot(&self) -> Snapshot {
        crate::shard::host::snapshot(&self.shared)
    }

    /// Replaces the whole dataset with a snapshot's.
    pub fn restore(&self, snap: &Snapshot) {
        crate::shard::host::restore(&self.shared, snap)
    }

    /// Stops every shard thread and waits for them. Connections are closed.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for s in &self.shared.shards {
            s.waker.wake();
        }
        let joined = !self.threads.is_empty();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if joined {
            saver::final_save(&*self.shared);
        }
        self.shared.aof_worker.stop();
        if let Some(t) = self.aof_thread.take() {
            let _ = t.join();
        }
        if self.shared.aof.on.load(Ordering::Acquire) {
            crate::persist::aof::flush_all(&self.shared.aof, &self.shared.config, self.shared.shard_count(), true);
        }
        // Host closures (and the host data they own) go now, not when the last Arc does.
        self.shared.table.custom.clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The keyspaces of a new server: what the data directory holds (kevy's shard files,
/// or redis-server's dump to import), homed by the shard count. When the files were
/// in another layout they are rewritten in this one before serving.
fn load_data(config: &Config, shards: usize) -> Result<Vec<Keyspace>, Error> {
    let mut keyspaces: Vec<Keyspace> = (0..shards).map(|_| Keyspace::new()).collect();
    let dir = std::path::PathBuf::from(config.get("dir").unwrap_or("."));
    let dbfilename = config.get("dbfilename").unwrap_or("dump.rdb");
    let now_ms = crate::clock::wall_ms();
    let loaded = crate::persist::dump::load(&dir, dbfilename, &mut keyspaces, now_ms).map_err(Error::Persist)?;
    if !loaded.files.is_empty() {
        crate::log_notice!("loaded {} keys from {} file(s) in {}", loaded.keys, loaded.files.len(), dir.display());
    }
    if loaded.rewrite {
        let views: Vec<&Keyspace> = keyspaces.iter().collect();
        crate::persist::dump::save_all(&dir, &views, now_ms)?;
        crate::log_notice!("rewrote the data in {} as {shards} shard file(s)", dir.display());
    }
    Ok(keyspaces)
}

/// One listener per (shard, address). The first bind fixes the port when it is 0;
/// shard 0's binds are exclusive, so a port another server holds is refused.
fn bind_all(addrs: &[IpAddr], port: u16, shards: usize, backlog: i32) -> Result<(u16, Vec<Vec<TcpListener>>), Error> {
    let mut port = port;
    let mut all: Vec<Vec<TcpListener>> = (0..shards).map(|_| Vec::new()).collect();
    for (shard, per_shard) in all.iter_mut().enumerate() {
        for ip in addrs {
            let l = reuseport_listener(SocketAddr::new(*ip, port), backlog, shard == 0)?;
            if port == 0 {
                port = l.local_addr()?.port();
            }
            per_shard.push(l);
        }
    }
    Ok((port, all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn start_on(port: u16, shards: usize) -> Result<Server, Error> {
        let mut cfg = Config::new();
        cfg.set("port", &port.to_string()).unwrap().set("shards", &shards.to_string()).unwrap();
        Server::start(cfg)
    }

    #[test]
    fn connections_still_land_on_every_shard() {
        let server = start_on(0, 4).expect("starts");
        let mut conns: Vec<std::net::TcpStream> = Vec::new();
        for _ in 0..64 {
            let mut c = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
            c.write_all(b"PING\r\n").unwrap();
            let mut buf = [0u8; 7];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"+PONG\r\n");
            conns.push(c);
        }
        // 64 connections hashed over 4 listeners: each shard gets some (a miss has
        // odds of about 1 in 10^7).
        for (id, shard) in server.shared.shards.iter().enumerate() {
            let n = shard.clients.lock().unwrap().len();
            assert!(n > 0, "shard {id} got no connection");
        }
    }

    #[test]
    fn a_second_server_on_a_held_port_fails_in_use() {
        let first = start_on(0, 3).expect("starts");
        for shards in [1, 3] {
            match start_on(first.port(), shards) {
                Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}"),
                Err(other) => panic!("unexpected error {other}"),
                Ok(_) => panic!("a second server started on port {}", first.port()),
            }
        }
        // The port is free again once the first server stops.
        let port = first.port();
        first.stop();
        start_on(port, 2).expect("restarts on the freed port");
    }
}
