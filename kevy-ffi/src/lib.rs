//! C ABI for kevy. Placeholder crate: the ABI lands with the kevy-ffi issue.
//! For now it only exports the version, so the library links and loads.

/// The kevy version as a NUL-terminated static string.
#[no_mangle]
pub extern "C" fn kevy_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
