//! The log hook: kevy's log lines handed to a host callback instead of stderr.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use kevy_core::log::Level;

use crate::command::kevy_free_fn;
use crate::status::{guard, kevy_status};

/// The severity of a log line, as Redis's `loglevel` names it.
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kevy_log_level {
    KEVY_LOG_DEBUG = 0,
    KEVY_LOG_VERBOSE = 1,
    KEVY_LOG_NOTICE = 2,
    KEVY_LOG_WARNING = 3,
}

/// Receives one log line: its level, the message (`len` bytes, followed by a NUL not
/// counted in `len`, valid during the call only) and the handler's user data. Called
/// from any kevy thread (shard threads of every server in the process), possibly from
/// several at once; must not call back into kevy's server functions and must not
/// unwind.
#[allow(non_camel_case_types)]
pub type kevy_log_fn =
    Option<unsafe extern "C" fn(level: kevy_log_level, message: *const c_char, len: usize, user_data: *mut c_void)>;

struct HostLog {
    handler: unsafe extern "C" fn(kevy_log_level, *const c_char, usize, *mut c_void),
    user_data: *mut c_void,
    free_user_data: kevy_free_fn,
}

// SAFETY: by installing the handler the host promises it may be called from any
// thread with its user data (documented on kevy_set_log_handler).
unsafe impl Send for HostLog {}
// SAFETY: as above.
unsafe impl Sync for HostLog {}

impl Drop for HostLog {
    fn drop(&mut self) {
        if let Some(free) = self.free_user_data {
            // SAFETY: the host's destructor, called exactly once, with its user data.
            unsafe { free(self.user_data) };
        }
    }
}

impl HostLog {
    fn emit(&self, level: Level, msg: &str) {
        let level = match level {
            Level::Debug => kevy_log_level::KEVY_LOG_DEBUG,
            Level::Verbose => kevy_log_level::KEVY_LOG_VERBOSE,
            Level::Notice => kevy_log_level::KEVY_LOG_NOTICE,
            Level::Warning => kevy_log_level::KEVY_LOG_WARNING,
        };
        let mut text = Vec::with_capacity(msg.len() + 1);
        text.extend_from_slice(msg.as_bytes());
        text.push(0);
        // SAFETY: the host's handler with its user data; the message is valid for the
        // call and NUL-terminated as documented.
        unsafe { (self.handler)(level, text.as_ptr().cast(), msg.len(), self.user_data) };
    }
}

/// Installs the process-wide log handler (one for every server in the process), or
/// with `handler` NULL removes it, so lines go to stderr again. The previous
/// handler's user data is destroyed (its `free_user_data` called once) when no line
/// is being delivered to it any more. `free_user_data` may be NULL. With `handler`
/// NULL, `user_data` and `free_user_data` are ignored.
///
/// Returns KEVY_OK (KEVY_ERR_PANIC only on an internal bug). Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_set_log_handler(
    handler: kevy_log_fn,
    user_data: *mut c_void,
    free_user_data: kevy_free_fn,
) -> kevy_status {
    guard(|| {
        let hook = handler.map(|handler| {
            let host = HostLog { handler, user_data, free_user_data };
            Arc::new(move |level: Level, msg: &str| host.emit(level, msg)) as kevy_core::log::Hook
        });
        kevy_core::log::set_hook(hook);
        Ok(())
    })
}
