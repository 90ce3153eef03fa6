//! The native part of the `kevy` Python package (`kevy._kevy`): kevy-core's server,
//! in-process calls and custom commands, for Python. `kevy/__init__.py` re-exports
//! the public names.

use std::sync::Arc;

use kevy_core::log::Level;
use pyo3::prelude::*;

mod context;
mod convert;
mod errors;
mod scratch;
mod server;
mod validate;

#[pymodule]
fn _kevy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<server::Server>()?;
    m.add_class::<server::Snapshot>()?;
    m.add_class::<context::Context>()?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(server::_stop_all, m)?)?;
    m.add_function(wrap_pyfunction!(_bridge_logging, m)?)?;
    m.add("__version__", kevy_core::VERSION)?;
    m.add("REDIS_VERSION", kevy_core::REDIS_VERSION)?;
    Ok(())
}

/// Sends kevy's log lines (from every server's shard threads) to the Python logger
/// "kevy": debug and verbose as DEBUG, notice as INFO, warning as WARNING. The hook
/// takes the GIL; no thread holding the GIL ever waits for a shard, so it cannot
/// deadlock.
#[pyfunction]
fn _bridge_logging(py: Python<'_>) -> PyResult<()> {
    let logger: Py<PyAny> = py.import("logging")?.call_method1("getLogger", ("kevy",))?.unbind();
    kevy_core::log::set_hook(Some(Arc::new(move |level: Level, msg: &str| {
        let py_level = match level {
            Level::Debug | Level::Verbose => 10,
            Level::Notice => 20,
            Level::Warning => 30,
        };
        Python::with_gil(|py| {
            // A failing handler loses this line, nothing more.
            let _ = logger.call_method1(py, "log", (py_level, msg));
        });
    })));
    Ok(())
}
