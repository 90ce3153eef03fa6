//! libkevy: the C ABI of kevy. A C or C++ host links `libkevy.so` (or `libkevy.a`),
//! includes `kevy.h` (generated from this crate by cbindgen, see cbindgen.toml) and
//! runs a whole server inside its own process.
//!
//! # Modules
//! - [`status`]: `kevy_status`, the thread's last error, the panic boundary.
//! - [`check`]: checking what C passes (pointers, strings, byte spans, argv).
//! - [`config`]: `kevy_config` (parameters by their Redis names, redis.conf files).
//! - [`server`]: `kevy_server` (start, port, stop, free).
//! - [`call`]: `kevy_call`, in-process commands from host threads.
//! - [`reply`]: `kevy_reply`, the replies C reads.
//! - [`command`]: custom commands (registration, the callback glue, user data).
//! - [`ctx`]: `kevy_ctx`, what a custom command's callback works with.
//! - [`log`]: the process-wide log handler.
//!
//! # Rules every export follows
//! Its body runs in [`status::guard`] (no panic crosses into C); every pointer is
//! checked; out-parameters are written only on success; no Rust type crosses the
//! boundary (handles are opaque, bytes are pointer + length).

#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

// In this order in kevy.h.
pub mod status;
pub mod config;
pub mod server;
pub mod faults;
pub mod call;
pub mod reply;
pub mod command;
pub mod ctx;
pub mod log;
pub mod check;

use std::ffi::c_char;

/// The major version of the kevy.h a host was compiled with.
pub const KEVY_VERSION_MAJOR: u32 = 0;
/// The minor version of the kevy.h a host was compiled with.
pub const KEVY_VERSION_MINOR: u32 = 1;
/// The patch version of the kevy.h a host was compiled with.
pub const KEVY_VERSION_PATCH: u32 = 0;
/// MAJOR * 10000 + MINOR * 100 + PATCH, as `kevy_version_number()` returns it.
pub const KEVY_VERSION_NUMBER: u32 = 100;

/// The library's version as a NUL-terminated static string ("0.1.0"); compare it with
/// KEVY_VERSION_* to check that header and library match. Never NULL; never freed.
/// Any thread.
#[no_mangle]
pub extern "C" fn kevy_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The library's version as MAJOR * 10000 + MINOR * 100 + PATCH (KEVY_VERSION_NUMBER
/// of the header it was built with). Any thread.
#[no_mangle]
pub extern "C" fn kevy_version_number() -> u32 {
    let part = |s: &str| s.parse::<u32>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version_macros_match_the_crate() {
        assert_eq!(KEVY_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(KEVY_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(KEVY_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
        assert_eq!(KEVY_VERSION_NUMBER, kevy_version_number());
        assert_eq!(kevy_core::VERSION, env!("CARGO_PKG_VERSION"));
    }
}
