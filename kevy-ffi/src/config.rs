//! `kevy_config`: the parameters a server starts with, under Redis's names.

use std::ffi::c_char;

use kevy_core::config::ConfigError;
use kevy_core::Config;

use crate::check;
use crate::status::{guard, guard_void, kevy_status, Failure};

/// A server configuration: every parameter under its Redis name (`port`, `bind`,
/// `shards`, `maxclients`, `hz`, `dir`, ...), starting from the defaults. Created by
/// `kevy_config_new`, freed by `kevy_config_free`. Not thread-safe: one thread at a
/// time may use a given config.
#[allow(non_camel_case_types)]
pub struct kevy_config {
    pub(crate) config: Config,
}

fn config_failure(e: ConfigError) -> Failure {
    Failure::new(kevy_status::KEVY_ERR_CONFIG, e.to_string())
}

/// Creates a configuration holding every parameter's default (note: `port` defaults
/// to 6379 as in Redis; set it to "0" to let the kernel pick a free port).
///
/// On success `*out` receives a new config that the caller owns and frees with
/// `kevy_config_free`. Errors: KEVY_ERR_NULL if `out` is NULL.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_config_new(out: *mut *mut kevy_config) -> kevy_status {
    guard(|| {
        let out = check::out(out, "out")?;
        let cfg = Box::into_raw(Box::new(kevy_config { config: Config::new() }));
        // SAFETY: `out` was checked non-NULL; the caller passes a writable pointer.
        unsafe { check::write(out, cfg) };
        Ok(())
    })
}

/// Sets one parameter, by the name CONFIG SET and redis.conf use, to `value` (the
/// text redis.conf would hold: "0", "2mb", "127.0.0.1 ::1"). Both are NUL-terminated
/// UTF-8 strings, read during the call only.
///
/// Errors: KEVY_ERR_NULL (any pointer NULL), KEVY_ERR_ARG (not UTF-8),
/// KEVY_ERR_CONFIG (unknown name or invalid value; the config is unchanged).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_config_set(config: *mut kevy_config, name: *const c_char, value: *const c_char) -> kevy_status {
    guard(|| {
        // SAFETY: a non-NULL `config` comes from kevy_config_new and is used by one
        // thread at a time, as documented.
        let cfg = unsafe { config.as_mut() }.ok_or_else(|| Failure::null("config"))?;
        // SAFETY: C strings valid for the call, as documented.
        let (name, value) = unsafe { (check::text(name, "name")?, check::text(value, "value")?) };
        cfg.config.set(name, value).map_err(config_failure)?;
        Ok(())
    })
}

/// Reads one parameter's current value, in its canonical form ("2097152" for "2mb").
///
/// On success `*value` points at the value's bytes (not NUL-terminated) and `*len`
/// holds their count. The bytes are owned by the config and valid until the next
/// `kevy_config_set`/`kevy_config_load_*` on it or `kevy_config_free`.
/// Errors: KEVY_ERR_NULL, KEVY_ERR_ARG (name not UTF-8), KEVY_ERR_CONFIG (unknown name).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_config_get(
    config: *const kevy_config,
    name: *const c_char,
    value: *mut *const c_char,
    len: *mut usize,
) -> kevy_status {
    guard(|| {
        // SAFETY: a non-NULL `config` comes from kevy_config_new, as documented.
        let cfg = unsafe { check::get(config, "config")? };
        // SAFETY: a C string valid for the call, as documented.
        let name = unsafe { check::text(name, "name")? };
        let (value, len) = (check::out(value, "value")?, check::out(len, "len")?);
        let v = cfg.config.get(name).ok_or_else(|| config_failure(ConfigError::Unknown(name.into())))?;
        // SAFETY: both out-parameters were checked non-NULL.
        unsafe {
            check::write(value, v.as_ptr().cast());
            check::write(len, v.len());
        }
        Ok(())
    })
}

/// Reads redis.conf-style text: one `name value...` per line, `#` comments, blank
/// lines ignored. `text` is `len` bytes of UTF-8 (NULL allowed when `len` is 0).
/// All or nothing: on failure the config is unchanged and the error names the line.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_ARG (not UTF-8), KEVY_ERR_CONFIG.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_config_load_text(config: *mut kevy_config, text: *const c_char, len: usize) -> kevy_status {
    guard(|| {
        // SAFETY: a non-NULL `config` comes from kevy_config_new and is used by one
        // thread at a time, as documented.
        let cfg = unsafe { config.as_mut() }.ok_or_else(|| Failure::null("config"))?;
        // SAFETY: `len` readable bytes, as documented.
        let bytes = unsafe { check::bytes(text, len, "text")? };
        let text = std::str::from_utf8(bytes).map_err(|_| Failure::arg("config text is not valid UTF-8"))?;
        load(&mut cfg.config, text, "text")
    })
}

/// Reads a redis.conf-style file (see `kevy_config_load_text`). `path` is a
/// NUL-terminated UTF-8 path. All or nothing, as `kevy_config_load_text`.
///
/// Errors: KEVY_ERR_NULL, KEVY_ERR_ARG (path not UTF-8), KEVY_ERR_IO (unreadable
/// file), KEVY_ERR_CONFIG (bad line).
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_config_load_file(config: *mut kevy_config, path: *const c_char) -> kevy_status {
    guard(|| {
        // SAFETY: a non-NULL `config` comes from kevy_config_new and is used by one
        // thread at a time, as documented.
        let cfg = unsafe { config.as_mut() }.ok_or_else(|| Failure::null("config"))?;
        // SAFETY: a C string valid for the call, as documented.
        let path = unsafe { check::text(path, "path")? };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::new(kevy_status::KEVY_ERR_IO, format!("cannot read {path}: {e}")))?;
        load(&mut cfg.config, &text, path)
    })
}

/// Applies `text` to a copy and keeps it only when every line is valid.
fn load(config: &mut Config, text: &str, source: &str) -> Result<(), Failure> {
    let mut staged = config.clone();
    for (n, line) in text.lines().enumerate() {
        staged
            .load_text(line)
            .map_err(|e| Failure::new(kevy_status::KEVY_ERR_CONFIG, format!("{source}, line {}: {e}", n + 1)))?;
    }
    *config = staged;
    Ok(())
}

/// Frees a configuration. NULL is a no-op. A server started from it keeps its own
/// copy, so a config may be freed right after `kevy_server_start`.
///
/// # Safety
/// Each pointer argument is NULL or valid as described: a live handle, a
/// NUL-terminated string, `len` readable bytes, a writable out-parameter.
#[no_mangle]
pub unsafe extern "C" fn kevy_config_free(config: *mut kevy_config) {
    guard_void(|| {
        if !config.is_null() {
            // SAFETY: a non-NULL `config` came from kevy_config_new (Box::into_raw)
            // and is freed exactly once, as documented.
            drop(unsafe { Box::from_raw(config) });
        }
    })
}
