//! Custom commands written in Python: the handler kevy-core runs, and the `Context`
//! a Python function receives.
//!
//! The handler runs on a shard thread (or on the thread inside `Server.call`) with
//! the command's shards locked. It takes the GIL, calls `fn(ctx, *args)`, and turns
//! the return value, or the exception, into the reply. Every Python entry into the
//! server releases the GIL before it waits for a shard, so a thread holding the GIL
//! never waits on a lock that a callback waiting for the GIL holds.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;

use kevy_core::{CommandCtx, CustomHandler, Reply};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{IntoPyDict, PyBytes, PyTuple};

use crate::convert::{args_to_argv, py_to_reply, reply_to_py};
use crate::errors;

/// What a Python custom command receives first: its name, the shard running it, the
/// server's clock, and `call()` to run built-in commands on the keys it holds. Valid
/// only while the callback runs, and only on the thread running it.
#[pyclass(module = "kevy", name = "Context", frozen)]
pub struct Context {
    /// The core's `CommandCtx`, null once the callback has returned.
    ctx: AtomicPtr<c_void>,
    /// The thread running the callback: the only one allowed to use `ctx`.
    owner: ThreadId,
    /// Set during `call`, so a nested command cannot re-enter this context.
    busy: AtomicBool,
    name: String,
    shard: usize,
    now_ms: u64,
}

#[pymethods]
impl Context {
    /// The command's name as the client sent it.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The shard running the command (0-based).
    #[getter]
    fn shard(&self) -> usize {
        self.shard
    }

    /// The server's clock, in milliseconds since the Unix epoch, as TTLs see it (it
    /// follows `Server.advance()` under `clock="manual"`).
    #[getter]
    fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Is the context still usable (is its callback still running)?
    #[getter]
    fn valid(&self) -> bool {
        !self.ctx.load(Ordering::Acquire).is_null()
    }

    /// Runs a built-in (or custom) command on the keys this command holds (the
    /// keys its key spec names, or keys under the same {hashtag}) and returns its reply
    /// as `Server.call` does; an error reply raises `kevy.ResponseError`. A blocking
    /// command that would block returns None at once.
    #[pyo3(signature = (*args))]
    fn call(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<PyObject> {
        let argv = args_to_argv(args)?;
        if std::thread::current().id() != self.owner {
            return Err(errors::usage("a command context can only be used on the thread running its callback"));
        }
        let ptr = self.ctx.load(Ordering::Acquire);
        if ptr.is_null() {
            return Err(errors::context_expired());
        }
        if self.busy.swap(true, Ordering::AcqRel) {
            return Err(errors::usage("this command context is already running a call"));
        }
        // SAFETY: `ptr` was made from the `&mut CommandCtx` that `run_callback` holds
        // and does not touch until the callback returns; it is nulled before that
        // borrow is used again. Only the owner thread gets here (checked above), and
        // `busy` keeps a nested command from making a second `&mut` from it.
        let reply = unsafe {
            let cctx = &mut *(ptr as *mut CommandCtx<'_, '_>);
            cctx.call(&argv)
        };
        self.busy.store(false, Ordering::Release);
        reply_to_py(py, reply)
    }

    fn __repr__(&self) -> String {
        let state = if self.valid() { "" } else { " (expired)" };
        format!("<kevy.Context {} on shard {}{}>", self.name, self.shard, state)
    }
}

/// The core handler running the Python function `func` as a custom command.
pub fn handler(func: Py<PyAny>) -> Arc<CustomHandler> {
    Arc::new(move |cctx: &mut CommandCtx<'_, '_>| {
        let reply = Python::with_gil(|py| run_callback(py, &func, cctx));
        // The reply is always complete: one value per call.
        let _ = cctx.reply_value(&reply);
    })
}

fn run_callback(py: Python<'_>, func: &Py<PyAny>, cctx: &mut CommandCtx<'_, '_>) -> Reply {
    let args = cctx.args();
    let name = String::from_utf8_lossy(args.get(0)).into_owned();
    let mut call_args: Vec<PyObject> = Vec::with_capacity(args.len());
    let context = Context {
        ctx: AtomicPtr::new(cctx as *mut CommandCtx<'_, '_> as *mut c_void),
        owner: std::thread::current().id(),
        busy: AtomicBool::new(false),
        name,
        shard: cctx.shard(),
        now_ms: cctx.now_ms(),
    };
    let context = match Py::new(py, context) {
        Ok(c) => c,
        Err(e) => return Reply::Error(errors::exception_reply_text(py, &e).into_bytes()),
    };
    call_args.push(context.clone_ref(py).into_any());
    for i in 1..args.len() {
        call_args.push(PyBytes::new(py, args.get(i)).into_any().unbind());
    }
    let outcome = PyTuple::new(py, call_args).and_then(|t| func.call1(py, t));
    // The context dies with the callback, whatever Python kept of it.
    context.get().ctx.store(std::ptr::null_mut(), Ordering::Release);
    match outcome.and_then(|v| py_to_reply(v.bind(py))) {
        Ok(r) => r,
        Err(e) => {
            report(py, &context.get().name, &e);
            Reply::Error(errors::exception_reply_text(py, &e).into_bytes())
        }
    }
}

static LOGGER: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// A callback's exception: its traceback to the "kevy" logger at DEBUG, and a Ctrl-C
/// that interrupted a callback running inside `Server.call` (on the main thread)
/// marked, so that `Server.call` raises KeyboardInterrupt once the command is done
/// (shard threads never see signals).
fn report(py: Python<'_>, name: &str, err: &PyErr) {
    let logger = LOGGER.get_or_try_init(py, || {
        py.import("logging")?.call_method1("getLogger", ("kevy",)).map(Bound::unbind)
    });
    if let Ok(logger) = logger {
        let logger = logger.bind(py);
        if logger.call_method1("isEnabledFor", (10,)).and_then(|b| b.is_truthy()).unwrap_or(false) {
            let kwargs = [("exc_info", err.value(py).clone())].into_py_dict(py);
            if let Ok(kwargs) = kwargs {
                let _ = logger.call_method("debug", ("custom command %s raised", name), Some(&kwargs));
            }
        }
    }
    if err.is_instance_of::<PyKeyboardInterrupt>(py) && !on_shard_thread() {
        INTERRUPTED.with(|i| i.set(true));
    }
}

thread_local! {
    /// Set when a callback running on this (host) thread was interrupted by Ctrl-C.
    static INTERRUPTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Was a callback run by this thread's last `Server.call` interrupted by Ctrl-C?
/// Clears the mark.
pub fn take_interrupt() -> bool {
    INTERRUPTED.with(|i| i.replace(false))
}

/// Shard threads are named `kevy-shard-N` by kevy-core.
fn on_shard_thread() -> bool {
    std::thread::current().name().is_some_and(|n| n.starts_with("kevy-shard-"))
}
