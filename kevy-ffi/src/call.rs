//! `kevy_call`: run a command in-process from a host thread, no socket.

use std::ffi::c_char;

use kevy_core::commands::custom::in_callback;

use crate::check;
use crate::reply::kevy_reply;
use crate::server::{server, kevy_server};
use crate::status::{guard, kevy_status, Failure};

/// Runs one command in-process and returns its reply. `argv` holds `argc` arguments,
/// the command name first; `lens[i]` is the length of `argv[i]` (binary-safe), or with
/// `lens` NULL every `argv[i]` is a NUL-terminated string. Arguments are read during
/// the call only.
///
/// The command runs on the calling thread with the shards owning its keys locked (so
/// it is atomic as other clients see it), exactly as if a client had sent it; any
/// host thread may call at any time, concurrently with others. A blocking command
/// (BLPOP...) that finds nothing returns NIL at once instead of blocking.
///
/// On success `*reply` receives the reply, owned by the caller and freed with
/// `kevy_reply_free`. A command that fails (unknown command, wrong type...) is still a
/// success here: its reply has type KEVY_REPLY_ERROR.
/// Errors: KEVY_ERR_NULL, KEVY_ERR_ARG (argc 0), KEVY_ERR_STATE (server stopped, or
/// called from inside a custom command callback: use `kevy_ctx_call` there).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_call(
    server: *const kevy_server,
    argc: usize,
    argv: *const *const c_char,
    lens: *const usize,
    reply: *mut *mut kevy_reply,
) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { self::server(server)? };
        // SAFETY: argc arguments as documented, read during this call only.
        let args = unsafe { check::argv(argc, argv, lens)? };
        let out = check::out(reply, "reply")?;
        if in_callback() {
            return Err(Failure::state("kevy_call from inside a custom command callback: use kevy_ctx_call"));
        }
        let r = s.running()?.call(&args);
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, kevy_reply::into_raw(r)) };
        Ok(())
    })
}
