//! `kevy_ctx`: what a custom command's callback works with: its arguments, reply
//! builders, and calls into built-in commands on the keys it holds.
//!
//! Every function checks that its context is the one whose callback is running on the
//! calling thread (KEVY_ERR_STATE otherwise), so a context kept past its callback or
//! handed to another thread fails cleanly instead of touching freed memory.

use std::ffi::c_char;

use kevy_core::commands::custom::ReplyComplete;
use kevy_core::CommandCtx;

use crate::check;
use crate::command::current;
use crate::reply::kevy_reply;
use crate::status::{guard, kevy_status, Failure};

/// The context of one custom command invocation, handed to its callback. Valid only
/// during that callback and only on the thread running it; never freed by the host.
#[allow(non_camel_case_types)]
pub struct kevy_ctx {
    _opaque: [u8; 0],
}

/// Runs `f` on the live context behind `ctx`.
fn with_ctx(ctx: *mut kevy_ctx, f: impl FnOnce(&mut CommandCtx<'_, '_>) -> Result<(), Failure>) -> kevy_status {
    guard(|| {
        // SAFETY: called from an export, checked against the running callback's context.
        let c = unsafe { current(ctx)? };
        f(c)
    })
}

fn complete(_: ReplyComplete) -> Failure {
    Failure::state("the command's reply is already complete")
}

/// Reads `len` bytes as text (replacing invalid UTF-8).
///
/// # Safety
/// As [`check::bytes`].
unsafe fn lossy<'a>(p: *const c_char, len: usize, what: &str) -> Result<std::borrow::Cow<'a, str>, Failure> {
    // SAFETY: forwarded to the caller.
    Ok(String::from_utf8_lossy(unsafe { check::bytes(p, len, what)? }))
}

/// The number of arguments, the command name included. Errors: KEVY_ERR_NULL,
/// KEVY_ERR_STATE (outside the callback).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_argc(ctx: *mut kevy_ctx, argc: *mut usize) -> kevy_status {
    with_ctx(ctx, |c| {
        let out = check::out(argc, "argc")?;
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, c.args().len()) };
        Ok(())
    })
}

/// Argument `index` (0 is the command name as the client sent it): `*ptr` points at
/// `*len` bytes, NOT NUL-terminated, valid until the callback returns.
/// Errors: KEVY_ERR_NULL, KEVY_ERR_STATE, KEVY_ERR_RANGE (index >= argc).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_arg(ctx: *mut kevy_ctx, index: usize, ptr: *mut *const c_char, len: *mut usize) -> kevy_status {
    with_ctx(ctx, |c| {
        let (ptr, len) = (check::out(ptr, "ptr")?, check::out(len, "len")?);
        let args = c.args();
        let arg = args.opt(index).ok_or_else(|| {
            Failure::new(kevy_status::KEVY_ERR_RANGE, format!("argument {index} of {}", args.len()))
        })?;
        // SAFETY: both checked non-NULL.
        unsafe {
            check::write(ptr, arg.as_ptr().cast());
            check::write(len, arg.len());
        }
        Ok(())
    })
}

/// The shard running the command (0-based). Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_shard(ctx: *mut kevy_ctx, shard: *mut usize) -> kevy_status {
    with_ctx(ctx, |c| {
        let out = check::out(shard, "shard")?;
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, c.shard()) };
        Ok(())
    })
}

/// The server's clock in unix milliseconds, as TTLs see it (the manual clock when
/// `clock manual`). Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_now_ms(ctx: *mut kevy_ctx, now_ms: *mut u64) -> kevy_status {
    with_ctx(ctx, |c| {
        let out = check::out(now_ms, "now_ms")?;
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, c.now_ms()) };
        Ok(())
    })
}

// The reply builders. A command's reply is one value; an array/map/set of N is
// followed by its N (a map: 2N) values, each of which may itself be an aggregate.
// Each builder fails with KEVY_ERR_STATE once the reply is complete.

/// Replies with a simple string (`+OK`): `len` bytes of text; CR/LF become spaces.
/// Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_simple(ctx: *mut kevy_ctx, text: *const c_char, len: usize) -> kevy_status {
    with_ctx(ctx, |c| {
        // SAFETY: `len` readable bytes, as documented.
        let t = unsafe { lossy(text, len, "text")? };
        c.reply_simple(&t).map_err(complete)
    })
}

/// Replies with an error: `len` bytes of text. A message without an upper-case code
/// first ("ERR", "WRONGTYPE", "NOPERM"...) gets "ERR " in front, as clients expect.
/// Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_error(ctx: *mut kevy_ctx, message: *const c_char, len: usize) -> kevy_status {
    with_ctx(ctx, |c| {
        // SAFETY: `len` readable bytes, as documented.
        let m = unsafe { lossy(message, len, "message")? };
        c.reply_error(&m).map_err(complete)
    })
}

/// Replies with an integer. Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_integer(ctx: *mut kevy_ctx, value: i64) -> kevy_status {
    with_ctx(ctx, |c| c.reply_int(value).map_err(complete))
}

/// Replies with a double (a bulk string for RESP2 clients). Errors: KEVY_ERR_NULL,
/// KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_double(ctx: *mut kevy_ctx, value: f64) -> kevy_status {
    with_ctx(ctx, |c| c.reply_double(value).map_err(complete))
}

/// Replies with a boolean (1 or 0 for RESP2 clients). Errors: KEVY_ERR_NULL,
/// KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_bool(ctx: *mut kevy_ctx, value: bool) -> kevy_status {
    with_ctx(ctx, |c| c.reply_bool(value).map_err(complete))
}

/// Replies with a binary-safe bulk string of `len` bytes (NULL allowed when `len` is
/// 0), copied. Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_bulk(ctx: *mut kevy_ctx, bytes: *const c_char, len: usize) -> kevy_status {
    with_ctx(ctx, |c| {
        // SAFETY: `len` readable bytes, as documented.
        let b = unsafe { check::bytes(bytes, len, "bytes")? };
        c.reply_bulk(b).map_err(complete)
    })
}

/// Replies with null. Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_null(ctx: *mut kevy_ctx) -> kevy_status {
    with_ctx(ctx, |c| c.reply_null().map_err(complete))
}

/// Starts an array of `n` elements: the next `n` replies built are its elements.
/// Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_array(ctx: *mut kevy_ctx, n: usize) -> kevy_status {
    with_ctx(ctx, |c| c.reply_array(n).map_err(complete))
}

/// Starts a map of `n` pairs: the next `2n` replies are key, value, key, value...
/// (a flat array of 2n for RESP2 clients). Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_map(ctx: *mut kevy_ctx, n: usize) -> kevy_status {
    with_ctx(ctx, |c| c.reply_map(n).map_err(complete))
}

/// Starts a set of `n` members (an array for RESP2 clients). Errors: KEVY_ERR_NULL,
/// KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_set(ctx: *mut kevy_ctx, n: usize) -> kevy_status {
    with_ctx(ctx, |c| c.reply_set(n).map_err(complete))
}

/// Replies with a whole reply (typically one from `kevy_ctx_call`, forwarded), copied;
/// the caller still frees `reply`. Errors: KEVY_ERR_NULL, KEVY_ERR_STATE.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_reply_value(ctx: *mut kevy_ctx, reply: *const kevy_reply) -> kevy_status {
    with_ctx(ctx, |c| {
        // SAFETY: a live reply, as documented.
        let r = unsafe { check::get(reply, "reply")? };
        c.reply_value(&r.to_reply()).map_err(complete)
    })
}

/// Runs a command (built-in or custom) inside this one, on the keys it holds: keys of
/// the shard(s) its key spec routed it to. Arguments as for `kevy_call`. A key of
/// another shard gets an error reply (declare it in the key spec, or co-locate keys
/// with a {hashtag}); a blocking command that would block returns NIL at once.
///
/// On success `*reply` receives the reply, owned by the caller and freed with
/// `kevy_reply_free` (before or after the callback returns). Command failures are
/// KEVY_REPLY_ERROR replies, not statuses.
/// Errors: KEVY_ERR_NULL, KEVY_ERR_ARG (argc 0), KEVY_ERR_STATE (outside the callback).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_ctx_call(
    ctx: *mut kevy_ctx,
    argc: usize,
    argv: *const *const c_char,
    lens: *const usize,
    reply: *mut *mut kevy_reply,
) -> kevy_status {
    with_ctx(ctx, |c| {
        // SAFETY: argc arguments as documented, read during this call only.
        let args = unsafe { check::argv(argc, argv, lens)? };
        let out = check::out(reply, "reply")?;
        let r = c.call(&args);
        // SAFETY: checked non-NULL.
        unsafe { check::write(out, kevy_reply::into_raw(r)) };
        Ok(())
    })
}
