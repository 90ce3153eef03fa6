//! Custom commands from C: registration, and the glue that runs a C callback with a
//! `kevy_ctx` and owns the host's user data (its destructor runs exactly once).

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kevy_core::{parse_flags, CommandCtx, CustomSpec, KeySpec, RegisterError};

use crate::check;
use crate::ctx::kevy_ctx;
use crate::server::{server, kevy_server};
use crate::status::{guard, Failure};
use crate::status::kevy_status;

/// A custom command's code: called once per invocation with the invocation's context
/// and the `user_data` given at registration. It must answer through the
/// `kevy_ctx_reply_*` functions before returning (no reply, or an unfinished array,
/// becomes an error reply for the client). It must not unwind (C++ exceptions,
/// longjmp) out of the call. The context is valid only during the call, on the
/// calling thread.
#[allow(non_camel_case_types)]
pub type kevy_command_fn = Option<unsafe extern "C" fn(ctx: *mut kevy_ctx, user_data: *mut c_void)>;

/// Destroys host data handed to kevy (a command's or the log handler's user data).
#[allow(non_camel_case_types)]
pub type kevy_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The C side of one registered command: its callback and user data.
struct HostCommand {
    callback: unsafe extern "C" fn(*mut kevy_ctx, *mut c_void),
    user_data: *mut c_void,
    free_user_data: kevy_free_fn,
    /// Set once the registration succeeded: only then does kevy own the user data.
    owned: AtomicBool,
}

// SAFETY: the host promises, by registering, that its callback and user data may be
// used from any shard thread (documented on kevy_server_register_command); kevy only
// passes the pointer back to the host's own functions.
unsafe impl Send for HostCommand {}
// SAFETY: as above: shared use of the pointer is the host's documented promise.
unsafe impl Sync for HostCommand {}

impl Drop for HostCommand {
    fn drop(&mut self) {
        if let (Some(free), true) = (self.free_user_data, *self.owned.get_mut()) {
            // SAFETY: the host's destructor, called exactly once (this Drop), with the
            // user data it registered.
            unsafe { free(self.user_data) };
        }
    }
}

thread_local! {
    /// The context of the callback running on this thread (null when none): every
    /// `kevy_ctx_*` call checks its argument against it.
    static CURRENT: Cell<*mut kevy_ctx> = const { Cell::new(std::ptr::null_mut()) };
}

/// The context being served on this thread, if `p` is it.
///
/// # Safety
/// Only called from the `kevy_ctx_*` exports, while the callback `p` was handed to
/// runs on this thread (checked here against CURRENT).
pub(crate) unsafe fn current<'x>(p: *mut kevy_ctx) -> Result<&'x mut CommandCtx<'x, 'x>, Failure> {
    if p.is_null() {
        return Err(Failure::null("ctx"));
    }
    if CURRENT.with(Cell::get) != p {
        return Err(Failure::state("ctx used outside its callback (or on another thread)"));
    }
    // SAFETY: `p` is the context of the callback running on this thread right now
    // (set in HostCommand::run), so the CommandCtx it points to is alive and not
    // otherwise borrowed while the callback runs.
    Ok(unsafe { &mut *p.cast::<CommandCtx<'x, 'x>>() })
}

impl HostCommand {
    fn run(&self, ctx: &mut CommandCtx<'_, '_>) {
        let p = (ctx as *mut CommandCtx<'_, '_>).cast::<kevy_ctx>();
        let outer = CURRENT.with(|c| c.replace(p));
        // Restores the outer context even if something below panics.
        struct Restore(*mut kevy_ctx);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(outer);
        // SAFETY: the host's callback, with its own user data and a context valid for
        // the call (C code cannot unwind into Rust: the callback's documented rule).
        unsafe { (self.callback)(p, self.user_data) };
    }
}

/// Registers a custom command on a running server, or replaces the custom command of
/// that name (the replaced one's user data is destroyed once no invocation of it is
/// running). Clients (redis-cli, any client library) and `kevy_call` can use it at
/// once; COMMAND lists it; it is routed like a built-in.
///
/// - `name`: NUL-terminated, case-insensitive, no spaces; not a built-in's name.
/// - `arity`: argument count including the name; negative -N means "at least N".
/// - `flags`: NUL-terminated, space-separated Redis module flags ("write deny-oom",
///   "readonly fast", ...); NULL or "" for none.
/// - `first_key`, `last_key`, `key_step`: where the keys are (1, 1, 1 for one key
///   after the name; last -1 for "to the end"; 0, 0, 0 for no keys). The callback runs
///   on the shard thread owning the first key, with all its keys' shards locked;
///   `kevy_ctx_call` may touch only keys of those shards. A keyless command runs on
///   the shard of the connection that sent it.
/// - `callback`: the command's code (see kevy_command_fn). It runs on shard threads
///   (for socket clients) or on the thread calling `kevy_call`, possibly on several
///   threads at once for keys of different shards: it and its user data must allow
///   that. It holds shard locks: keep it short, never block, never call `kevy_call`.
/// - `user_data`: passed to every invocation; may be NULL.
/// - `free_user_data`: may be NULL. When non-NULL, kevy owns `user_data` from a
///   successful registration on and calls this exactly once: when the command is
///   replaced, or when the server is stopped or freed; it may run on any thread. On
///   failure it is not called and the caller keeps ownership.
///
/// Errors: KEVY_ERR_NULL (server, name, callback), KEVY_ERR_ARG (bad name, arity 0,
/// unknown flag, bad key spec, a built-in's name), KEVY_ERR_STATE (stopped).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_register_command(
    server: *const kevy_server,
    name: *const c_char,
    arity: i32,
    flags: *const c_char,
    first_key: i32,
    last_key: i32,
    key_step: i32,
    callback: kevy_command_fn,
    user_data: *mut c_void,
    free_user_data: kevy_free_fn,
) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { self::server(server)? };
        // SAFETY: NUL-terminated strings valid for the call, as documented.
        let name = unsafe { check::text(name, "name")? };
        let flags = if flags.is_null() {
            ""
        } else {
            // SAFETY: as above.
            unsafe { check::text(flags, "flags")? }
        };
        let callback = callback.ok_or_else(|| Failure::null("callback"))?;
        let flags = parse_flags(flags).map_err(Failure::arg)?;
        let spec = CustomSpec { name: name.to_string(), arity, flags, keys: KeySpec::new(first_key, last_key, key_step) };
        let host =
            Arc::new(HostCommand { callback, user_data, free_user_data, owned: AtomicBool::new(false) });
        let handler = Arc::clone(&host);
        s.running()?
            .register_command(&spec, Arc::new(move |ctx: &mut CommandCtx<'_, '_>| handler.run(ctx)))
            .map_err(|e| match e {
                RegisterError::Builtin(_) | RegisterError::Invalid(_) => Failure::arg(e.to_string()),
            })?;
        host.owned.store(true, Ordering::Release);
        Ok(())
    })
}
