//! Checks of `kevy.Server(...)`'s arguments, so a wrong value raises a `ValueError`
//! (or `TypeError`) naming the argument rather than a bare conversion error.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

/// An int-typed argument as given: never fails to extract, so the check below can
/// name the argument whatever was passed.
pub enum IntArg {
    Int(i64),
    /// An int beyond 64 bits, as its text.
    Big(String),
    /// Not an int (bool included: Server(port=True) is a mistake, not port 1): its type.
    Other(String),
}

impl<'py> FromPyObject<'py> for IntArg {
    fn extract_bound(value: &Bound<'py, PyAny>) -> PyResult<Self> {
        if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
            return Ok(IntArg::Other(value.get_type().name()?.to_string()));
        }
        Ok(match value.extract::<i64>() {
            Ok(n) => IntArg::Int(n),
            Err(_) => IntArg::Big(value.str()?.to_string()),
        })
    }
}

/// The argument `name` as an int within `min..=max`; `what` says what the range means.
pub fn int_in(name: &str, value: &IntArg, min: i64, max: i64, what: &str) -> PyResult<i64> {
    let shown = match value {
        IntArg::Int(n) if (min..=max).contains(n) => return Ok(*n),
        IntArg::Int(n) => n.to_string(),
        IntArg::Big(text) => text.clone(),
        IntArg::Other(type_name) => return Err(PyTypeError::new_err(format!("{name} must be an int, not {type_name}"))),
    };
    Err(PyValueError::new_err(format!("{name} must be from {min} to {max}{what}, not {shown}")))
}

/// The `clock` argument: "system" or "manual".
pub fn clock(value: &str) -> PyResult<&str> {
    match value {
        "system" | "manual" => Ok(value),
        other => Err(PyValueError::new_err(format!("clock must be 'system' or 'manual', not {other:?}"))),
    }
}
