//! The native part of the `kevy` Python package (`kevy._kevy`): kevy-core's server,
//! in-process calls and custom commands, for Python. `kevy/__init__.py` re-exports
//! the public names.

use pyo3::prelude::*;

mod context;
mod convert;
mod errors;
mod server;

#[pymodule]
fn _kevy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<server::Server>()?;
    m.add_class::<server::Snapshot>()?;
    m.add_class::<context::Context>()?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(server::_stop_all, m)?)?;
    m.add("__version__", kevy_core::VERSION)?;
    m.add("REDIS_VERSION", kevy_core::REDIS_VERSION)?;
    Ok(())
}
