//! `kevy.Server`: a kevy-core server running in this process, and `kevy.Snapshot`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, TryLockError, Weak};

use kevy_core::commands::custom::in_callback;
use kevy_core::{Config, CustomSpec, KeySpec};
use pyo3::exceptions::{PyKeyboardInterrupt, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString, PyTuple};

use crate::context;
use crate::scratch::ScratchDir;
use crate::validate;
use crate::convert::{args_to_argv, reply_to_py};
use crate::errors;

type Slot = Arc<RwLock<Option<Running>>>;

/// A started server and, when it was started without `data_dir`, its private data
/// directory. Fields drop in order: the server stops before its directory goes.
pub struct Running {
    server: kevy_core::Server,
    _scratch: Option<ScratchDir>,
}

/// Every server this process started, so interpreter exit can stop those still running
/// before Python tears itself down (a shard thread must not wait for a GIL that will
/// never come back).
static LIVE: Mutex<Vec<Weak<RwLock<Option<Running>>>>> = Mutex::new(Vec::new());

/// A kevy server running in this process: shard threads, a real TCP port, and
/// in-process calls that skip the socket.
///
/// Server(port=0, shards=2, data_dir=None, config=None, clock="system",
/// bind="127.0.0.1") starts it and returns once it listens. port=0 lets the kernel
/// pick a free port (read .port); shards=0 means one per core; data_dir sets the
/// `dir` parameter (without it the server gets an empty private directory, removed
/// when it stops, and loads nothing); config sets any parameter by its Redis name ({"maxclients":
/// 100}), applied after the keyword arguments; clock="manual" makes time move only
/// through advance(). Use it as a context manager, or call stop(); dropping the
/// last reference stops it too. Raises kevy.ConfigError for a refused parameter,
/// kevy.StartError when it cannot start.
#[pyclass(module = "kevy", name = "Server", frozen, weakref)]
pub struct Server {
    slot: Slot,
    host: String,
    port: u16,
    shards: usize,
    manual_clock: bool,
}

/// A copy of every key of a server (values and TTLs), held in memory. to_bytes()
/// gives it as Redis RDB bytes (what SAVE writes) and Snapshot.from_bytes() reads
/// them back, from kevy or redis-server; pickle uses the same bytes.
#[pyclass(module = "kevy", name = "Snapshot", frozen)]
pub struct Snapshot {
    inner: kevy_core::Snapshot,
}

/// The keys of an RDB file's bytes, or a ValueError saying where it is unreadable.
fn snapshot_from_rdb(bytes: &[u8]) -> PyResult<kevy_core::Snapshot> {
    kevy_core::persist::snapshot_rdb::from_rdb(bytes, kevy_core::clock::wall_ms())
        .map(kevy_core::Snapshot::from_entries)
        .map_err(|e| PyValueError::new_err(format!("not a readable RDB file: {e}")))
}

#[pymethods]
impl Snapshot {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The snapshot as the bytes of a Redis RDB file (version 10, database 0), which
    /// redis-server and kevy load; keys past their deadline are left out.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let inner = &self.inner;
        let bytes = py.allow_threads(|| kevy_core::persist::snapshot_rdb::to_rdb(inner.entries(), kevy_core::clock::wall_ms()));
        PyBytes::new(py, &bytes)
    }

    /// A snapshot of the keys in an RDB file's bytes (from `to_bytes()`, kevy's SAVE
    /// or redis-server's dump.rdb). Raises ValueError for bytes that are not one.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Snapshot> {
        Ok(Snapshot { inner: py.allow_threads(|| snapshot_from_rdb(data))? })
    }

    /// Pickles as RDB bytes.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = py.get_type::<Snapshot>().getattr("from_bytes")?;
        Ok((from_bytes, (self.to_bytes(py),)))
    }

    fn __repr__(&self) -> String {
        format!("<kevy.Snapshot of {} keys>", self.inner.len())
    }
}

/// A config value as the text the config table takes: bools as yes/no.
fn config_text(v: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = v.downcast::<PyBool>() {
        return Ok(if b.is_true() { "yes" } else { "no" }.to_string());
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return Ok(s.to_cow()?.to_string());
    }
    if let Ok(b) = v.downcast::<PyBytes>() {
        return Ok(String::from_utf8_lossy(b.as_bytes()).into_owned());
    }
    if let Ok(p) = v.extract::<PathBuf>() {
        return Ok(p.to_string_lossy().into_owned());
    }
    Ok(v.str()?.to_cow()?.to_string())
}

/// Does the `config` mapping set the `dir` parameter?
fn config_names_dir(config: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
    match config {
        Some(c) => c.call_method1("__contains__", ("dir",))?.is_truthy(),
        None => Ok(false),
    }
}

fn set(cfg: &mut Config, name: &str, value: &str) -> PyResult<()> {
    cfg.set(name, value).map(|_| ()).map_err(|e| errors::config_error(name, e))
}

/// Flags given as "write fast" or ["write", "fast"].
fn flag_bits(flags: &Bound<'_, PyAny>) -> PyResult<u32> {
    let text = if let Ok(s) = flags.downcast::<PyString>() {
        s.to_cow()?.to_string()
    } else {
        let words: Vec<String> = flags
            .try_iter()
            .map_err(|_| PyTypeError::new_err("flags must be a string or an iterable of strings"))?
            .map(|w| w?.extract::<String>())
            .collect::<PyResult<_>>()?;
        words.join(" ")
    };
    kevy_core::parse_flags(&text).map_err(errors::register_error)
}

impl Server {
    /// Runs `f` on the running server with the GIL released. Inside a callback (which
    /// holds a shard that `stop` joins) it never waits for a stop in progress.
    fn with_server<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&kevy_core::Server) -> T + Send) -> PyResult<T> {
        let slot = &self.slot;
        let inside = in_callback();
        py.allow_threads(|| {
            let guard = if inside {
                match slot.try_read() {
                    Ok(g) => g,
                    Err(TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(TryLockError::WouldBlock) => return None,
                }
            } else {
                slot.read().unwrap_or_else(|e| e.into_inner())
            };
            guard.as_ref().map(|r| f(&r.server))
        })
        .ok_or_else(errors::stopped)
    }

    /// Refuses methods that wait for every shard when called from inside a callback,
    /// which holds a shard: they would wait for themselves.
    fn not_in_callback(what: &str) -> PyResult<()> {
        if in_callback() {
            return Err(errors::usage(&format!(
                "Server.{what}() cannot run inside a custom command's callback (it holds a shard); \
                 use the context's call() there"
            )));
        }
        Ok(())
    }
}

/// Stops the server in `slot`, if it runs, with the GIL released.
fn stop_slot(py: Python<'_>, slot: &Slot) {
    py.allow_threads(|| {
        // Dropping stops the server (joining its threads), then removes its scratch dir.
        let running = slot.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(running);
    });
}

#[pymethods]
impl Server {
    /// Starts a server. `port=0` lets the kernel pick a free port (see `.port`).
    /// `data_dir` sets the `dir` parameter; `config` sets any other parameter by its
    /// Redis name, applied after the keyword arguments (so it wins over them).
    #[new]
    #[pyo3(signature = (port=validate::IntArg::Int(0), shards=validate::IntArg::Int(2), data_dir=None, config=None, clock="system", bind="127.0.0.1"))]
    #[pyo3(text_signature = "(port=0, shards=2, data_dir=None, config=None, clock='system', bind='127.0.0.1')")]
    fn new(
        py: Python<'_>,
        port: validate::IntArg,
        shards: validate::IntArg,
        data_dir: Option<PathBuf>,
        config: Option<&Bound<'_, PyAny>>,
        clock: &str,
        bind: &str,
    ) -> PyResult<Self> {
        let port = validate::int_in("port", &port, 0, 65535, " (0: any free port)")?;
        let shards = validate::int_in("shards", &shards, 0, 1024, " (0: one per core)")?;
        let mut cfg = Config::new();
        set(&mut cfg, "port", &port.to_string())?;
        set(&mut cfg, "shards", &shards.to_string())?;
        set(&mut cfg, "clock", validate::clock(clock)?)?;
        set(&mut cfg, "bind", bind)?;
        let given_dir = data_dir.is_some();
        if let Some(dir) = data_dir {
            set(&mut cfg, "dir", &dir.to_string_lossy())?;
        }
        if let Some(config) = config {
            let items = config
                .call_method0("items")
                .map_err(|_| PyTypeError::new_err("config must be a mapping of parameter names to values"))?;
            for item in items.try_iter()? {
                let (name, value): (String, Bound<'_, PyAny>) = item?.extract()?;
                set(&mut cfg, &name, &config_text(&value)?)?;
            }
        }
        // No dir given (neither data_dir nor config's "dir"): a private empty one, so
        // files in the working directory are never loaded nor written over.
        let scratch = if given_dir || config_names_dir(config)? {
            None
        } else {
            let dir = ScratchDir::create().map_err(|e| errors::StartError::new_err(format!("temporary directory: {e}")))?;
            set(&mut cfg, "dir", &dir.path().to_string_lossy())?;
            Some(dir)
        };
        let manual_clock = cfg.manual_clock();
        let host = cfg.bind().into_iter().next().unwrap_or_else(|| "127.0.0.1".into());
        let server = py.allow_threads(|| kevy_core::Server::start(cfg)).map_err(errors::start_error)?;
        let (port, shards) = (server.port(), server.shards());
        let slot: Slot = Arc::new(RwLock::new(Some(Running { server, _scratch: scratch })));
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&slot));
        Ok(Server { slot, host, port, shards, manual_clock })
    }

    /// The address clients connect to (the first `bind` address).
    #[getter]
    fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port clients connect to (the one the kernel picked for `port=0`).
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// A `redis://host:port` URL for clients (`redis.Redis.from_url(server.url)`).
    #[getter]
    fn url(&self) -> String {
        if self.host.contains(':') {
            format!("redis://[{}]:{}", self.host, self.port)
        } else {
            format!("redis://{}:{}", self.host, self.port)
        }
    }

    /// Number of shard threads.
    #[getter]
    fn shards(&self) -> usize {
        self.shards
    }

    /// "manual" when time only moves through `advance()`, else "system".
    #[getter]
    fn clock(&self) -> &str {
        if self.manual_clock {
            "manual"
        } else {
            "system"
        }
    }

    /// True until `stop()` (or a client's SHUTDOWN) stops the server.
    #[getter]
    fn running(&self) -> bool {
        // try_read: a stop in progress holds the lock while it joins the shards, and
        // waiting for it here with the GIL held could keep a callback from finishing.
        match self.slot.try_read() {
            Ok(guard) => guard.as_ref().is_some_and(|r| !r.server.is_stopping()),
            Err(TryLockError::Poisoned(p)) => p.into_inner().as_ref().is_some_and(|r| !r.server.is_stopping()),
            Err(TryLockError::WouldBlock) => false,
        }
    }

    /// Runs one command in-process (no socket) and returns its reply as a Python
    /// value; an error reply raises `kevy.ResponseError`. Arguments may be str, bytes,
    /// bytearray, int or float. Never blocks: a blocking command that finds nothing
    /// returns None at once. Thread-safe; releases the GIL.
    #[pyo3(signature = (*args))]
    fn call(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<PyObject> {
        let argv = args_to_argv(args)?;
        Self::not_in_callback("call")?;
        context::take_interrupt();
        let reply = self.with_server(py, |s| s.call(&argv))?;
        // A Ctrl-C that interrupted a callback run by this call, or that arrived
        // during a long command, raises now.
        if context::take_interrupt() {
            return Err(PyKeyboardInterrupt::new_err(()));
        }
        py.check_signals()?;
        reply_to_py(py, reply)
    }

    /// Registers (or replaces) a custom command `name` run by `fn(ctx, *args)`, with
    /// the arguments as bytes (the name not included). What `fn` returns is the reply;
    /// an exception becomes an error reply. `arity` counts the name (negative: at
    /// least that many); `flags` are Redis's command flags ("write fast"); `keys` is
    /// the (first, last, step) key spec, `(0, 0, 0)` for a command without keys.
    #[pyo3(signature = (name, r#fn, /, *, arity=-1, flags=None, keys=(1, 1, 1)))]
    #[pyo3(text_signature = "($self, name, fn, /, *, arity=-1, flags=None, keys=(1, 1, 1))")]
    fn register_command(
        &self,
        py: Python<'_>,
        name: &str,
        r#fn: Bound<'_, PyAny>,
        arity: i32,
        flags: Option<&Bound<'_, PyAny>>,
        keys: (i32, i32, i32),
    ) -> PyResult<()> {
        if !r#fn.is_callable() {
            return Err(PyTypeError::new_err("fn must be callable: fn(ctx, *args)"));
        }
        let flags = flags.map(flag_bits).transpose()?.unwrap_or(0);
        let spec = CustomSpec { name: name.to_string(), arity, flags, keys: KeySpec::new(keys.0, keys.1, keys.2) };
        let handler = context::handler(r#fn.unbind());
        self.with_server(py, |s| s.register_command(&spec, handler))?.map_err(errors::register_error)
    }

    /// Moves a manual clock forward by `seconds` (fractions allowed, down to a
    /// millisecond): TTLs expire and blocking timeouts fire as if that time had
    /// passed. Needs `clock="manual"`.
    fn advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        if !self.manual_clock {
            return Err(errors::ConfigError::new_err(
                "advance() needs a manual clock: start the server with clock='manual'",
            ));
        }
        if !(seconds >= 0.0 && seconds.is_finite()) {
            return Err(PyValueError::new_err("seconds must be a finite number >= 0"));
        }
        let ms = (seconds * 1000.0).round() as u64;
        self.with_server(py, |s| s.advance(ms))?;
        Ok(())
    }

    /// Sets a manual clock to `t`, Unix time in seconds (a float, or a datetime):
    /// keys whose deadline it passes expire, blocking timeouts fire. Time only moves
    /// forward: a `t` before the clock's current time raises ValueError. Needs
    /// `clock="manual"`.
    fn set_time(&self, py: Python<'_>, t: &Bound<'_, PyAny>) -> PyResult<()> {
        if !self.manual_clock {
            return Err(errors::ConfigError::new_err(
                "set_time() needs a manual clock: start the server with clock='manual'",
            ));
        }
        let seconds: f64 = if t.hasattr("timestamp")? { t.call_method0("timestamp")?.extract()? } else { t.extract()? };
        if !(seconds >= 0.0 && seconds.is_finite()) {
            return Err(PyValueError::new_err("t must be a finite Unix time >= 0"));
        }
        let target_ms = (seconds * 1000.0).round() as u64;
        let now_ms = self.with_server(py, |s| s.now_ms())?;
        if target_ms < now_ms {
            return Err(PyValueError::new_err(format!(
                "set_time() cannot move the clock back: t={seconds} is before the server's time {}",
                now_ms as f64 / 1000.0
            )));
        }
        self.with_server(py, |s| s.advance(target_ms - now_ms))?;
        Ok(())
    }

    /// Fault injection for tests: the next `times` calls of the command `name` (from
    /// any client or call(), inside transactions too) answer `error` instead of
    /// running ("ERR " is put in front unless it starts with an upper-case code).
    /// times=None: every call, until clear_faults().
    #[pyo3(signature = (name, error, times=Some(1)))]
    #[pyo3(text_signature = "($self, name, error, times=1)")]
    fn inject_error(&self, py: Python<'_>, name: &str, error: &str, times: Option<u64>) -> PyResult<()> {
        let fault = kevy_core::faults::Fault::Error(error.to_string());
        self.with_server(py, |s| s.inject_fault(name, fault, times))
    }

    /// Fault injection for tests: the command `name` pauses `seconds` on the thread
    /// running it (its shard waits too) before it runs, for its next `times` calls
    /// (None: every call, until clear_faults()).
    #[pyo3(signature = (name, seconds, times=None))]
    fn delay(&self, py: Python<'_>, name: &str, seconds: f64, times: Option<u64>) -> PyResult<()> {
        if !(seconds >= 0.0 && seconds.is_finite() && seconds <= 3600.0) {
            return Err(PyValueError::new_err("seconds must be a number from 0 to 3600"));
        }
        let fault = kevy_core::faults::Fault::Delay(std::time::Duration::from_secs_f64(seconds));
        self.with_server(py, |s| s.inject_fault(name, fault, times))
    }

    /// Removes every fault inject_error() and delay() set.
    fn clear_faults(&self, py: Python<'_>) -> PyResult<()> {
        self.with_server(py, |s| s.clear_faults())
    }

    /// The server's clock as Unix time in seconds (the manual clock's time with
    /// clock="manual"): what TTLs are measured against.
    #[getter]
    fn time(&self, py: Python<'_>) -> PyResult<f64> {
        Ok(self.with_server(py, |s| s.now_ms())? as f64 / 1000.0)
    }

    /// Copies every key (values and TTLs) at one consistent instant, in memory.
    fn snapshot(&self, py: Python<'_>) -> PyResult<Snapshot> {
        Self::not_in_callback("snapshot")?;
        Ok(Snapshot { inner: self.with_server(py, |s| s.snapshot())? })
    }

    /// Replaces the whole dataset with `snap`'s (taken from this or another server).
    fn restore(&self, py: Python<'_>, snap: &Snapshot) -> PyResult<()> {
        Self::not_in_callback("restore")?;
        let inner = &snap.inner;
        self.with_server(py, |s| s.restore(inner))
    }

    /// Replaces the whole dataset with the keys of the RDB file at `path` (kevy's or
    /// redis-server's dump). OSError when it cannot be read, ValueError when it is
    /// not an RDB file.
    fn load_rdb(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        Self::not_in_callback("load_rdb")?;
        let bytes = py.allow_threads(|| std::fs::read(&path))?;
        let snap = py
            .allow_threads(|| snapshot_from_rdb(&bytes))
            .map_err(|e| PyValueError::new_err(format!("{}: {}", path.display(), e.value(py))))?;
        self.with_server(py, |s| s.restore(&snap))
    }

    /// Stops the server: closes its connections and port and joins its threads.
    /// Calling it again does nothing.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        Self::not_in_callback("stop")?;
        stop_slot(py, &self.slot);
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let state = if self.running() { "" } else { " (stopped)" };
        format!("<kevy.Server {} shards={}{}>", self.url(), self.shards, state)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if in_callback() {
            // The last reference went away inside a callback, which holds a shard that
            // stopping waits for: stop from another thread.
            let slot = Arc::clone(&self.slot);
            std::thread::spawn(move || {
                let running = slot.write().unwrap_or_else(|e| e.into_inner()).take();
                drop(running);
            });
        } else {
            Python::with_gil(|py| stop_slot(py, &self.slot));
        }
    }
}

/// Stops every server still running (called at interpreter exit).
#[pyfunction]
pub fn _stop_all(py: Python<'_>) {
    let live: Vec<Slot> = LIVE.lock().unwrap_or_else(|e| e.into_inner()).drain(..).filter_map(|w| w.upgrade()).collect();
    for slot in &live {
        stop_slot(py, slot);
    }
}
