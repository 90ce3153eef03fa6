//! `kevy_reply`: a command's reply as C reads it (type, string, integer, double,
//! elements). One owned tree; accessors return pointers into it.

use std::ffi::c_char;

use kevy_core::Reply;

use crate::check;
use crate::status::{guard, guard_void, kevy_status, Failure};

/// The type of a reply, as RESP3 types it.
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kevy_reply_type {
    /// Null: a missing key (`GET nokey`), a blocking pop that found nothing.
    KEVY_REPLY_NIL = 0,
    /// A simple string ("OK", "PONG"): read it with `kevy_reply_string`.
    KEVY_REPLY_STATUS = 1,
    /// An error reply, its code first ("ERR ...", "WRONGTYPE ..."): `kevy_reply_string`.
    KEVY_REPLY_ERROR = 2,
    /// An integer: `kevy_reply_integer`.
    KEVY_REPLY_INTEGER = 3,
    /// A double (ZSCORE, INCRBYFLOAT in RESP3): `kevy_reply_double`.
    KEVY_REPLY_DOUBLE = 4,
    /// A boolean: `kevy_reply_bool`.
    KEVY_REPLY_BOOL = 5,
    /// A binary-safe string: `kevy_reply_string`.
    KEVY_REPLY_BULK = 6,
    /// An array: `kevy_reply_len` and `kevy_reply_element`.
    KEVY_REPLY_ARRAY = 7,
    /// A map (HGETALL, CONFIG GET): its elements are flattened as key, value, key,
    /// value...; `kevy_reply_len` counts both (twice the number of pairs).
    KEVY_REPLY_MAP = 8,
    /// A set (SMEMBERS): `kevy_reply_len` and `kevy_reply_element`.
    KEVY_REPLY_SET = 9,
}

use kevy_reply_type::*;

/// A reply. A root reply (from `kevy_call` or `kevy_ctx_call`) is owned by the caller
/// and freed with `kevy_reply_free`; its elements (`kevy_reply_element`) are
/// borrowed, live as long as the root, and are never freed on their own. Immutable,
/// so any thread may read it, also at the same time.
#[allow(non_camel_case_types)]
pub struct kevy_reply {
    kind: kevy_reply_type,
    /// Status, error and bulk bytes, with a NUL after them (not counted).
    bytes: Vec<u8>,
    int: i64,
    double: f64,
    /// Array and set elements; map keys and values, flattened.
    elements: Vec<kevy_reply>,
}

impl kevy_reply {
    fn new(kind: kevy_reply_type) -> Self {
        kevy_reply { kind, bytes: Vec::new(), int: 0, double: 0.0, elements: Vec::new() }
    }

    fn text(kind: kevy_reply_type, s: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(s.len() + 1);
        bytes.extend_from_slice(s);
        bytes.push(0);
        kevy_reply { bytes, ..Self::new(kind) }
    }

    fn list(kind: kevy_reply_type, items: impl Iterator<Item = kevy_reply>) -> Self {
        kevy_reply { elements: items.collect(), ..Self::new(kind) }
    }

    /// The C view of a decoded reply.
    pub(crate) fn from_reply(r: Reply) -> Self {
        match r {
            Reply::Nil => Self::new(KEVY_REPLY_NIL),
            Reply::Status(s) => Self::text(KEVY_REPLY_STATUS, &s),
            Reply::Error(e) => Self::text(KEVY_REPLY_ERROR, &e),
            Reply::Bulk(b) => Self::text(KEVY_REPLY_BULK, &b),
            Reply::Int(n) => kevy_reply { int: n, ..Self::new(KEVY_REPLY_INTEGER) },
            Reply::Bool(b) => kevy_reply { int: b as i64, ..Self::new(KEVY_REPLY_BOOL) },
            Reply::Double(d) => kevy_reply { double: d, ..Self::new(KEVY_REPLY_DOUBLE) },
            Reply::Array(items) => Self::list(KEVY_REPLY_ARRAY, items.into_iter().map(Self::from_reply)),
            Reply::Set(items) => Self::list(KEVY_REPLY_SET, items.into_iter().map(Self::from_reply)),
            Reply::Map(pairs) => {
                Self::list(KEVY_REPLY_MAP, pairs.into_iter().flat_map(|(k, v)| [Self::from_reply(k), Self::from_reply(v)]))
            }
        }
    }

    /// Back to a Rust reply (to forward one as a custom command's answer).
    pub(crate) fn to_reply(&self) -> Reply {
        let text = || self.bytes[..self.bytes.len() - 1].to_vec();
        let items = || self.elements.iter().map(Self::to_reply).collect();
        match self.kind {
            KEVY_REPLY_NIL => Reply::Nil,
            KEVY_REPLY_STATUS => Reply::Status(text()),
            KEVY_REPLY_ERROR => Reply::Error(text()),
            KEVY_REPLY_BULK => Reply::Bulk(text()),
            KEVY_REPLY_INTEGER => Reply::Int(self.int),
            KEVY_REPLY_BOOL => Reply::Bool(self.int != 0),
            KEVY_REPLY_DOUBLE => Reply::Double(self.double),
            KEVY_REPLY_ARRAY => Reply::Array(items()),
            KEVY_REPLY_SET => Reply::Set(items()),
            KEVY_REPLY_MAP => {
                Reply::Map(self.elements.chunks(2).map(|kv| (kv[0].to_reply(), kv[1].to_reply())).collect())
            }
        }
    }

    /// A root reply handed to C.
    pub(crate) fn into_raw(r: Reply) -> *mut kevy_reply {
        Box::into_raw(Box::new(Self::from_reply(r)))
    }

    fn expect(&self, kinds: &[kevy_reply_type], want: &str) -> Result<(), Failure> {
        if kinds.contains(&self.kind) {
            Ok(())
        } else {
            Err(Failure::new(kevy_status::KEVY_ERR_TYPE, format!("reply is {:?}, not {want}", self.kind)))
        }
    }
}

/// Reads one field of a reply into an out-parameter.
fn read<T>(reply: *const kevy_reply, out: *mut T, f: impl FnOnce(&kevy_reply) -> Result<T, Failure>) -> kevy_status {
    guard(|| {
        // SAFETY: a non-NULL `reply` is a live reply (root or element), as documented.
        let r = unsafe { check::get(reply, "reply")? };
        let out = check::out(out, "out")?;
        let v = f(r)?;
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, v) };
        Ok(())
    })
}

/// The reply's type. Errors: KEVY_ERR_NULL.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_reply_get_type(reply: *const kevy_reply, out: *mut kevy_reply_type) -> kevy_status {
    read(reply, out, |r| Ok(r.kind))
}

/// The bytes of a STATUS, ERROR or BULK reply: `*ptr` points at `*len` bytes, owned by
/// the reply and valid until its root is freed. A NUL byte follows them (not counted
/// in `*len`), so text can be printed with "%s"; bulk strings may hold NULs of their
/// own, so `*len` is the length.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_TYPE (another type of reply).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_reply_string(reply: *const kevy_reply, ptr: *mut *const c_char, len: *mut usize) -> kevy_status {
    guard(|| {
        // SAFETY: a non-NULL `reply` is a live reply, as documented.
        let r = unsafe { check::get(reply, "reply")? };
        let (ptr, len) = (check::out(ptr, "ptr")?, check::out(len, "len")?);
        r.expect(&[KEVY_REPLY_STATUS, KEVY_REPLY_ERROR, KEVY_REPLY_BULK], "a string")?;
        // SAFETY: both out-parameters were checked non-NULL.
        unsafe {
            check::write(ptr, r.bytes.as_ptr().cast());
            check::write(len, r.bytes.len() - 1);
        }
        Ok(())
    })
}

/// The value of an INTEGER reply. Errors: KEVY_ERR_NULL, KEVY_ERR_TYPE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_reply_integer(reply: *const kevy_reply, out: *mut i64) -> kevy_status {
    read(reply, out, |r| r.expect(&[KEVY_REPLY_INTEGER], "an integer").map(|_| r.int))
}

/// The value of a DOUBLE reply. Errors: KEVY_ERR_NULL, KEVY_ERR_TYPE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_reply_double(reply: *const kevy_reply, out: *mut f64) -> kevy_status {
    read(reply, out, |r| r.expect(&[KEVY_REPLY_DOUBLE], "a double").map(|_| r.double))
}

/// The value of a BOOL reply. Errors: KEVY_ERR_NULL, KEVY_ERR_TYPE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_reply_bool(reply: *const kevy_reply, out: *mut bool) -> kevy_status {
    read(reply, out, |r| r.expect(&[KEVY_REPLY_BOOL], "a bool").map(|_| r.int != 0))
}

/// The number of elements of an ARRAY or SET, or of a MAP counted flattened (keys and
/// values: twice its pairs). Errors: KEVY_ERR_NULL, KEVY_ERR_TYPE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_reply_len(reply: *const kevy_reply, out: *mut usize) -> kevy_status {
    read(reply, out, |r| {
        r.expect(&[KEVY_REPLY_ARRAY, KEVY_REPLY_SET, KEVY_REPLY_MAP], "an array, set or map").map(|_| r.elements.len())
    })
}

/// Element `index` of an ARRAY, SET or MAP (a map's element 2i is the key of pair i,
/// 2i+1 its value). `*out` is borrowed from the reply: valid until its root is freed,
/// and never passed to `kevy_reply_free`.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_TYPE, KEVY_ERR_RANGE (index >= kevy_reply_len).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_reply_element(reply: *const kevy_reply, index: usize, out: *mut *const kevy_reply) -> kevy_status {
    read(reply, out, |r| {
        r.expect(&[KEVY_REPLY_ARRAY, KEVY_REPLY_SET, KEVY_REPLY_MAP], "an array, set or map")?;
        let len = r.elements.len();
        let e = r.elements.get(index).ok_or_else(|| {
            Failure::new(kevy_status::KEVY_ERR_RANGE, format!("element {index} of a reply of {len}"))
        })?;
        Ok(e as *const kevy_reply)
    })
}

/// Frees a root reply (from `kevy_call` or `kevy_ctx_call`) and all its elements.
/// NULL is a no-op. Never pass an element from `kevy_reply_element`.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_reply_free(reply: *mut kevy_reply) {
    guard_void(|| {
        if !reply.is_null() {
            // SAFETY: a non-NULL root reply came from Box::into_raw in into_raw and is
            // freed exactly once, as documented.
            drop(unsafe { Box::from_raw(reply) });
        }
    })
}
