//! The exception hierarchy and every mapping from a kevy-core failure to it, in one
//! place. Everything kevy raises on its own account is a `kevy.Error`; wrong argument
//! types raise Python's `TypeError`, as any Python API does.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::PyErr;

pyo3::create_exception!(
    kevy,
    Error,
    PyException,
    "The base of every exception kevy raises on its own account."
);
pyo3::create_exception!(
    kevy,
    ResponseError,
    Error,
    "The server answered with an error reply; str(e) is its text, code included \
     ('WRONGTYPE Operation against a key holding the wrong kind of value'). Raised or \
     returned from a custom command, its text becomes that command's error reply."
);
pyo3::create_exception!(
    kevy,
    ConfigError,
    Error,
    "A configuration parameter or a custom command's declaration was refused, or the \
     server was asked for something its configuration rules out (advance() without \
     clock='manual')."
);
pyo3::create_exception!(
    kevy,
    StartError,
    Error,
    "The server could not start: the port is taken, the bind address is unusable, the \
     process is out of threads or file descriptors."
);
pyo3::create_exception!(
    kevy,
    ClosedError,
    Error,
    "The server was stopped, or a command context was used after its callback returned."
);
pyo3::create_exception!(
    kevy,
    UsageError,
    Error,
    "kevy was used against its threading rules: a server method that would wait for the \
     shards called from inside a custom command's callback, a command context used from \
     another thread or re-entered."
);

/// A failure of `Server::start`.
pub fn start_error(e: kevy_core::Error) -> PyErr {
    match e {
        kevy_core::Error::Config(c) => ConfigError::new_err(c.to_string()),
        other => StartError::new_err(other.to_string()),
    }
}

/// A refused configuration parameter.
pub fn config_error(name: &str, e: impl std::fmt::Display) -> PyErr {
    ConfigError::new_err(format!("config '{name}': {e}"))
}

/// A refused custom command declaration.
pub fn register_error(e: impl std::fmt::Display) -> PyErr {
    ConfigError::new_err(e.to_string())
}

/// An error reply, raised.
pub fn response_error(text: &[u8]) -> PyErr {
    ResponseError::new_err(String::from_utf8_lossy(text).into_owned())
}

/// A method called on a stopped server.
pub fn stopped() -> PyErr {
    ClosedError::new_err("the server is stopped")
}

/// A context used after its callback returned.
pub fn context_expired() -> PyErr {
    ClosedError::new_err("this command context is no longer valid: its callback has returned")
}

/// A rule of the threading model broken.
pub fn usage(msg: &str) -> PyErr {
    UsageError::new_err(msg.to_string())
}

/// The error reply a custom command sends for an exception its callback raised:
/// a `kevy.ResponseError`'s own text (so a callback chooses its error code), any
/// other exception as `ERR <Type>: <message>`.
pub fn exception_reply_text(py: Python<'_>, err: &PyErr) -> String {
    let text = err.value(py).str().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let text = if err.is_instance_of::<ResponseError>(py) {
        text
    } else {
        let ty = err.get_type(py).name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|_| "Exception".into());
        if text.is_empty() {
            format!("ERR {ty}")
        } else {
            format!("ERR {ty}: {text}")
        }
    };
    text.replace(['\r', '\n'], " ")
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("ResponseError", py.get_type::<ResponseError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("StartError", py.get_type::<StartError>())?;
    m.add("ClosedError", py.get_type::<ClosedError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    Ok(())
}
