//! Values between Python and RESP: command arguments in, replies out, and a custom
//! command's return value back into a reply.
//!
//! Replies become: bulk -> bytes, simple string -> `kevy.Status` (a str), integer ->
//! int, double -> float, boolean -> bool, null -> None, array -> list, map -> dict,
//! set -> set (a list when a member is unhashable), error -> `kevy.ResponseError`
//! (raised at the top, an instance inside an array, as in a transaction's replies).

use kevy_core::Reply;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple, PyType,
};

use crate::errors;

/// Deeper nesting than this in a returned value is refused (a list holding itself
/// would otherwise recurse forever on a shard thread).
const MAX_DEPTH: usize = 128;

static STATUS: GILOnceCell<Py<PyType>> = GILOnceCell::new();

/// The `kevy.Status` class (a str subclass, defined in Python).
fn status_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    STATUS.import(py, "kevy._types", "Status")
}

/// Command arguments: str (UTF-8), bytes, bytearray, int, float. bool and None are
/// refused (as redis-py does): say what you mean with 1/0 or "".
pub fn args_to_argv(args: &Bound<'_, PyTuple>) -> PyResult<Vec<Vec<u8>>> {
    if args.is_empty() {
        return Err(PyTypeError::new_err("a command needs at least its name"));
    }
    args.iter().map(|a| arg_bytes(&a)).collect()
}

fn arg_bytes(a: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = a.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = a.downcast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if a.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err("a bool is not a command argument: pass 1/0 or a string"));
    }
    if a.is_instance_of::<PyInt>() {
        return Ok(a.str()?.to_cow()?.as_bytes().to_vec());
    }
    if a.is_instance_of::<PyFloat>() {
        return Ok(a.repr()?.to_cow()?.as_bytes().to_vec());
    }
    if let Ok(b) = a.downcast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    let ty = a.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    Err(PyTypeError::new_err(format!(
        "a command argument must be str, bytes, bytearray, int or float, not {ty}"
    )))
}

/// A reply as a Python value; an error reply is raised as `kevy.ResponseError`.
pub fn reply_to_py(py: Python<'_>, r: Reply) -> PyResult<PyObject> {
    match r {
        Reply::Error(e) => Err(errors::response_error(&e)),
        other => value_to_py(py, other),
    }
}

fn value_to_py(py: Python<'_>, r: Reply) -> PyResult<PyObject> {
    Ok(match r {
        Reply::Nil => py.None(),
        Reply::Status(s) => status_type(py)?.call1((String::from_utf8_lossy(&s),))?.unbind(),
        Reply::Error(e) => errors::response_error(&e).into_value(py).into_any(),
        Reply::Int(n) => n.into_pyobject(py)?.into_any().unbind(),
        Reply::Double(d) => d.into_pyobject(py)?.into_any().unbind(),
        Reply::Bool(b) => PyBool::new(py, b).to_owned().into_any().unbind(),
        Reply::Bulk(b) => PyBytes::new(py, &b).into_any().unbind(),
        Reply::Array(items) => {
            let items = items.into_iter().map(|i| value_to_py(py, i)).collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any().unbind()
        }
        Reply::Map(pairs) => {
            let dict = PyDict::new(py);
            for (k, v) in pairs {
                let k = hashable(py, value_to_py(py, k)?)?;
                dict.set_item(k, value_to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
        Reply::Set(items) => {
            let items = items.into_iter().map(|i| value_to_py(py, i)).collect::<PyResult<Vec<_>>>()?;
            match PySet::new(py, &items) {
                Ok(set) => set.into_any().unbind(),
                Err(_) => PyList::new(py, items)?.into_any().unbind(),
            }
        }
    })
}

/// A map key as something a dict takes: lists (arrays as keys, rare) become tuples.
fn hashable(py: Python<'_>, key: PyObject) -> PyResult<PyObject> {
    let b = key.bind(py);
    if let Ok(list) = b.downcast::<PyList>() {
        let items = list.iter().map(|i| hashable(py, i.unbind())).collect::<PyResult<Vec<_>>>()?;
        return Ok(PyTuple::new(py, items)?.into_any().unbind());
    }
    Ok(key)
}

/// A custom command's return value as its reply. See the module docs of `kevy` for
/// the mapping; anything else raises `TypeError` (which the caller turns into an
/// error reply).
pub fn py_to_reply(v: &Bound<'_, PyAny>) -> PyResult<Reply> {
    to_reply(v, 0)
}

fn to_reply(v: &Bound<'_, PyAny>, depth: usize) -> PyResult<Reply> {
    let py = v.py();
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!("reply nested deeper than {MAX_DEPTH} levels")));
    }
    if v.is_none() {
        return Ok(Reply::Nil);
    }
    if v.is_instance(status_type(py)?)? {
        return Ok(Reply::Status(v.str()?.to_cow()?.as_bytes().to_vec()));
    }
    if let Ok(b) = v.downcast::<PyBool>() {
        return Ok(Reply::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(Reply::Int(v.extract::<i64>()?));
    }
    if let Ok(f) = v.downcast::<PyFloat>() {
        return Ok(Reply::Double(f.value()));
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return Ok(Reply::Bulk(s.to_cow()?.as_bytes().to_vec()));
    }
    if let Ok(b) = v.downcast::<PyBytes>() {
        return Ok(Reply::Bulk(b.as_bytes().to_vec()));
    }
    if let Ok(b) = v.downcast::<PyByteArray>() {
        return Ok(Reply::Bulk(b.to_vec()));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items = v.try_iter()?.map(|i| to_reply(&i?, depth + 1)).collect::<PyResult<_>>()?;
        return Ok(Reply::Array(items));
    }
    if let Ok(d) = v.downcast::<PyDict>() {
        let pairs = d
            .iter()
            .map(|(k, v)| Ok((to_reply(&k, depth + 1)?, to_reply(&v, depth + 1)?)))
            .collect::<PyResult<_>>()?;
        return Ok(Reply::Map(pairs));
    }
    if v.is_instance_of::<PySet>() || v.is_instance_of::<PyFrozenSet>() {
        let items = v.try_iter()?.map(|i| to_reply(&i?, depth + 1)).collect::<PyResult<_>>()?;
        return Ok(Reply::Set(items));
    }
    if v.is_instance_of::<errors::Error>() {
        return Ok(Reply::Error(v.str()?.to_string_lossy().replace(['\r', '\n'], " ").into_bytes()));
    }
    let ty = v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    Err(PyTypeError::new_err(format!("a custom command cannot reply with a {ty}")))
}
