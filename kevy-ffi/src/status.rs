//! Status codes, the calling thread's last error, and the panic boundary every export
//! runs inside.
//!
//! An export's body is a closure returning `Result<(), Failure>`; [`guard`] runs it
//! under `catch_unwind`, records a failure's message as the thread's last error and
//! turns it into a [`kevy_status`]. No Rust panic ever crosses into C.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a kevy call did. Every fallible function returns one; on anything but
/// `KEVY_OK`, `kevy_last_error()` describes the failure and no out-parameter was
/// written.
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kevy_status {
    /// Success.
    KEVY_OK = 0,
    /// A pointer that must not be NULL was NULL.
    KEVY_ERR_NULL = 1,
    /// An argument is invalid: text that is not UTF-8, an empty command, unknown
    /// command flags, a bad key spec, a name taken by a built-in command.
    KEVY_ERR_ARG = 2,
    /// An unknown configuration parameter or an invalid value for one.
    KEVY_ERR_CONFIG = 3,
    /// An operating-system error: a port already in use, an unreadable file.
    KEVY_ERR_IO = 4,
    /// The call is not allowed now: the server was stopped, a context used outside
    /// its callback, a reply that is already complete, `kevy_call` from a callback.
    KEVY_ERR_STATE = 5,
    /// A reply accessor was used on a reply of another type.
    KEVY_ERR_TYPE = 6,
    /// An index is out of range.
    KEVY_ERR_RANGE = 7,
    /// kevy hit an internal bug (a Rust panic), caught at the boundary. The handle
    /// involved is still valid; please report the message.
    KEVY_ERR_PANIC = 8,
}

use kevy_status::*;

/// A failed call: its status and the message `kevy_last_error()` will return.
#[derive(Debug)]
pub struct Failure {
    pub status: kevy_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: kevy_status, message: impl Into<String>) -> Self {
        Failure { status, message: message.into() }
    }
    pub fn null(what: &str) -> Self {
        Failure::new(KEVY_ERR_NULL, format!("{what} is NULL"))
    }
    pub fn arg(message: impl Into<String>) -> Self {
        Failure::new(KEVY_ERR_ARG, message)
    }
    pub fn state(message: impl Into<String>) -> Self {
        Failure::new(KEVY_ERR_STATE, message)
    }
}

thread_local! {
    /// The message of this thread's last failed call, NUL-terminated for C.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let bytes: Vec<u8> = message.bytes().map(|b| if b == 0 { b' ' } else { b }).collect();
    let text = CString::new(bytes).unwrap_or_default();
    // A thread being torn down has no last error to keep: ignore that case.
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = text);
}

/// Runs an export's body inside the panic boundary.
pub fn guard(body: impl FnOnce() -> Result<(), Failure>) -> kevy_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => KEVY_OK,
        Ok(Err(f)) => {
            set_last_error(&f.message);
            f.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error in kevy (panic): {what}"));
            KEVY_ERR_PANIC
        }
    }
}

/// Runs the body of an export that returns nothing (the `_free` functions): a panic
/// is caught and dropped, as C cannot be told.
pub fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// The message of the calling thread's last failed kevy call: a NUL-terminated UTF-8
/// string, "" when no call on this thread has failed yet. A successful call does not
/// clear it (like `errno`).
///
/// Owned by kevy; valid until the next kevy call on the same thread. Never NULL.
/// Thread: any; each thread has its own.
#[no_mangle]
pub extern "C" fn kevy_last_error() -> *const c_char {
    const EMPTY: &[u8] = b"\0";
    catch_unwind(|| LAST_ERROR.try_with(|e| e.borrow().as_ptr()).unwrap_or(EMPTY.as_ptr().cast()))
        .unwrap_or(EMPTY.as_ptr().cast())
}

/// The name of a status code ("KEVY_OK", "KEVY_ERR_NULL", ...), a static
/// NUL-terminated string; "KEVY_ERR_UNKNOWN" for a value that is not a status.
///
/// Never NULL; never freed. Thread: any.
#[no_mangle]
pub extern "C" fn kevy_status_str(status: i32) -> *const c_char {
    let name: &'static [u8] = match status {
        0 => b"KEVY_OK\0",
        1 => b"KEVY_ERR_NULL\0",
        2 => b"KEVY_ERR_ARG\0",
        3 => b"KEVY_ERR_CONFIG\0",
        4 => b"KEVY_ERR_IO\0",
        5 => b"KEVY_ERR_STATE\0",
        6 => b"KEVY_ERR_TYPE\0",
        7 => b"KEVY_ERR_RANGE\0",
        8 => b"KEVY_ERR_PANIC\0",
        _ => b"KEVY_ERR_UNKNOWN\0",
    };
    name.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: kevy_last_error never returns NULL and the string lives until the
        // next kevy call on this thread.
        unsafe { CStr::from_ptr(kevy_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn failures_and_panics_become_statuses_with_messages() {
        assert_eq!(guard(|| Ok(())), KEVY_OK);
        assert_eq!(guard(|| Err(Failure::null("server"))), KEVY_ERR_NULL);
        assert_eq!(last(), "server is NULL");
        assert_eq!(guard(|| panic!("bug {}", 42)), KEVY_ERR_PANIC);
        assert!(last().contains("bug 42"), "{}", last());
        // Success leaves the last error alone.
        assert_eq!(guard(|| Ok(())), KEVY_OK);
        assert!(last().contains("bug 42"));
    }

    #[test]
    fn status_names() {
        // SAFETY: kevy_status_str returns static NUL-terminated strings.
        let name = |s| unsafe { CStr::from_ptr(kevy_status_str(s)) }.to_str().unwrap();
        assert_eq!(name(KEVY_OK as i32), "KEVY_OK");
        assert_eq!(name(KEVY_ERR_PANIC as i32), "KEVY_ERR_PANIC");
        assert_eq!(name(99), "KEVY_ERR_UNKNOWN");
    }
}
