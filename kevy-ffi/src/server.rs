//! `kevy_server`: start a server inside the host process, learn its port, stop it.

use std::sync::{RwLock, RwLockReadGuard};

use kevy_core::commands::custom::in_callback;
use kevy_core::Server;

use crate::check;
use crate::config::kevy_config;
use crate::status::{guard, guard_void, kevy_status, Failure};

/// A running (or stopped) server. Created by `kevy_server_start`, freed by
/// `kevy_server_free`. Thread-safe: any thread may use it at the same time as others,
/// except `kevy_server_free`, which must be the last use.
#[allow(non_camel_case_types)]
pub struct kevy_server {
    /// None once stopped. Calls hold the read side, so stopping waits for them.
    server: RwLock<Option<Server>>,
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Server>();
};

impl kevy_server {
    /// The running server, or a state failure once it was stopped.
    pub(crate) fn running(&self) -> Result<ServerRef<'_>, Failure> {
        let guard = self.server.read().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            return Err(Failure::state("the server was stopped"));
        }
        Ok(ServerRef(guard))
    }
}

/// A running server, kept running while this lives.
pub(crate) struct ServerRef<'a>(RwLockReadGuard<'a, Option<Server>>);

impl std::ops::Deref for ServerRef<'_> {
    type Target = Server;
    fn deref(&self) -> &Server {
        self.0.as_ref().expect("checked by running()")
    }
}

/// The server behind a handle from C.
///
/// # Safety
/// A non-NULL `p` must come from `kevy_server_start` and not be freed yet.
pub(crate) unsafe fn server<'a>(p: *const kevy_server) -> Result<&'a kevy_server, Failure> {
    // SAFETY: forwarded to the caller.
    unsafe { check::get(p, "server") }
}

/// Starts a server: binds its listeners (`bind`, `port`; port 0 picks a free port)
/// and starts its shard threads (`shards`, 0 meaning one per core). Returns once it
/// accepts connections. The config is copied: the caller still owns and frees it.
///
/// On success `*out` receives the server, owned by the caller and freed with
/// `kevy_server_free`. Errors: KEVY_ERR_NULL, KEVY_ERR_IO (cannot bind: port in use,
/// bad address), KEVY_ERR_CONFIG. Blocks briefly; any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_start(config: *const kevy_config, out: *mut *mut kevy_server) -> kevy_status {
    guard(|| {
        // SAFETY: a non-NULL `config` comes from kevy_config_new, as documented.
        let cfg = unsafe { check::get(config, "config")? };
        let out = check::out(out, "out")?;
        let server = Server::start(cfg.config.clone()).map_err(|e| match e {
            kevy_core::Error::Io(e) => Failure::new(kevy_status::KEVY_ERR_IO, format!("cannot start: {e}")),
            kevy_core::Error::Config(e) => Failure::new(kevy_status::KEVY_ERR_CONFIG, e.to_string()),
            // A data file in `dir` that cannot be loaded (the message names it and the offset).
            kevy_core::Error::Persist(e) => Failure::new(kevy_status::KEVY_ERR_IO, format!("cannot load data: {e}")),
        })?;
        let handle = Box::into_raw(Box::new(kevy_server { server: RwLock::new(Some(server)) }));
        // SAFETY: `out` was checked non-NULL; the caller passes a writable pointer.
        unsafe { check::write(out, handle) };
        Ok(())
    })
}

/// The TCP port the server listens on (the one the kernel picked for port 0).
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_STATE (stopped). Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_port(server: *const kevy_server, port: *mut u16) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { self::server(server)? };
        let out = check::out(port, "port")?;
        let p = s.running()?.port();
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, p) };
        Ok(())
    })
}

/// The number of shard threads.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_STATE (stopped). Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_shards(server: *const kevy_server, shards: *mut usize) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { self::server(server)? };
        let out = check::out(shards, "shards")?;
        let n = s.running()?.shards();
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, n) };
        Ok(())
    })
}

/// Whether the server is stopping: a client sent SHUTDOWN, or the host stopped it.
/// A host that serves until then polls this and then calls `kevy_server_free`
/// (examples/c/server.c does). A stopped server reports true.
///
/// Errors: KEVY_ERR_NULL. Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_is_stopping(server: *const kevy_server, stopping: *mut bool) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { self::server(server)? };
        let out = check::out(stopping, "stopping")?;
        let v = s.running().map(|r| r.is_stopping()).unwrap_or(true);
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, v) };
        Ok(())
    })
}

/// Moves a manual clock (config `clock manual`) forward by `ms` milliseconds: keys
/// expire and blocked clients time out as if that time had passed.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_STATE (stopped, or the server runs on the system
/// clock). Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_advance(server: *const kevy_server, ms: u64) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { self::server(server)? };
        if s.running()?.advance(ms) {
            Ok(())
        } else {
            Err(Failure::state("the server runs on the system clock (set `clock manual` to advance it)"))
        }
    })
}

/// Stops the server: closes every connection, joins the shard threads, and drops the
/// custom commands (running each one's user-data destructor). Waits for `kevy_call`s
/// in progress on other threads. The handle stays valid (later calls fail with
/// KEVY_ERR_STATE) until `kevy_server_free`. Stopping twice is allowed.
///
/// Errors: KEVY_ERR_NULL; KEVY_ERR_STATE when called from a custom command callback
/// (it would wait for itself). Blocks until the threads have exited.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_stop(server: *mut kevy_server) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { self::server(server)? };
        stop(s)
    })
}

fn stop(s: &kevy_server) -> Result<(), Failure> {
    if in_callback() {
        return Err(Failure::state("kevy_server_stop/free from inside a custom command callback"));
    }
    let taken = s.server.write().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(server) = taken {
        server.stop();
    }
    Ok(())
}

/// Stops the server if it is running (see `kevy_server_stop`) and frees the handle.
/// NULL is a no-op. The handle must not be used afterwards, by any thread. Must not
/// be called from a custom command callback (it then does nothing: the handle leaks
/// rather than deadlocks). Blocks until the threads have exited.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_free(server: *mut kevy_server) {
    guard_void(|| {
        if server.is_null() || in_callback() {
            return;
        }
        // SAFETY: a non-NULL `server` came from kevy_server_start (Box::into_raw)
        // and is freed exactly once, by its last user, as documented.
        let boxed = unsafe { Box::from_raw(server) };
        let _ = stop(&boxed);
    })
}
