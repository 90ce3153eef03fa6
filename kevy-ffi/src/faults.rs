//! Fault injection and the absolute manual clock, for hosts' tests: a command named
//! by the host answers an error instead of running, or pauses first (like miniredis's
//! SetError), and a manual clock jumps to a given time.

use std::ffi::c_char;

use kevy_core::faults::Fault;

use crate::check;
use crate::server::kevy_server;
use crate::status::{guard, kevy_status, Failure};

/// `times` as the core takes it: negative means every call.
fn times_of(times: i64) -> Option<u64> {
    u64::try_from(times).ok()
}

/// The next `times` calls of the command `name` (from clients, `kevy_call`, inside
/// transactions; negative `times`: every call until `kevy_server_clear_faults`)
/// reply with the error `error` instead of running. `ERR ` is put in front unless
/// `error` starts with an upper-case code ("READONLY ..."); line breaks become
/// spaces. A subcommand's container name ("config") matches its subcommands.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_ARG (not UTF-8), KEVY_ERR_STATE (stopped). Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_inject_error(
    server: *const kevy_server,
    name: *const c_char,
    error: *const c_char,
    times: i64,
) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle and NUL-terminated strings, as documented.
        let (s, name, error) = unsafe { (crate::server::server(server)?, check::text(name, "name")?, check::text(error, "error")?) };
        s.running()?.inject_fault(name, Fault::Error(error.to_string()), times_of(times));
        Ok(())
    })
}

/// The next `times` calls of the command `name` (negative: every call until
/// `kevy_server_clear_faults`) pause `ms` milliseconds on the thread running them
/// (holding their shard) before they run.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_ARG (not UTF-8, or `ms` over an hour),
/// KEVY_ERR_STATE (stopped). Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_delay(
    server: *const kevy_server,
    name: *const c_char,
    ms: u64,
    times: i64,
) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle and a NUL-terminated string, as documented.
        let (s, name) = unsafe { (crate::server::server(server)?, check::text(name, "name")?) };
        if ms > 3_600_000 {
            return Err(Failure::arg("ms must be at most 3600000 (an hour)"));
        }
        s.running()?.inject_fault(name, Fault::Delay(std::time::Duration::from_millis(ms)), times_of(times));
        Ok(())
    })
}

/// Removes every fault `kevy_server_inject_error` and `kevy_server_delay` set.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_STATE (stopped). Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_clear_faults(server: *const kevy_server) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { crate::server::server(server)? };
        s.running()?.clear_faults();
        Ok(())
    })
}

/// Sets a manual clock (config `clock manual`) to `unix_ms`, Unix time in
/// milliseconds: keys whose deadline it passes expire, blocked clients time out.
/// Time only moves forward.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_ARG (`unix_ms` before the clock's time),
/// KEVY_ERR_STATE (stopped, or the server runs on the system clock). Any thread.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_server_set_time(server: *const kevy_server, unix_ms: u64) -> kevy_status {
    guard(|| {
        // SAFETY: a live handle, as documented.
        let s = unsafe { crate::server::server(server)? };
        let running = s.running()?;
        let now = running.now_ms();
        if unix_ms < now {
            return Err(Failure::arg(format!("unix_ms {unix_ms} is before the clock's time {now}: time only moves forward")));
        }
        if running.advance(unix_ms - now) {
            Ok(())
        } else {
            Err(Failure::state("the server runs on the system clock (set `clock manual` to set its time)"))
        }
    })
}
