//! Turning what C passes (pointers, C strings, byte spans) into Rust references, each
//! checked, and writing out-parameters.

use std::ffi::{c_char, CStr};

use crate::status::Failure;

/// `p` as a shared reference, or a NULL failure naming `what`.
///
/// # Safety
/// A non-NULL `p` must point to a valid `T` that outlives `'a` and that nothing
/// mutates meanwhile.
pub unsafe fn get<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees a non-NULL `p` is valid for 'a.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// Checks an out-parameter before any work is done, so a NULL one fails early.
pub fn out<T>(p: *mut T, what: &str) -> Result<*mut T, Failure> {
    if p.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(p)
    }
}

/// Writes an out-parameter checked by [`out`].
///
/// # Safety
/// `p` must be non-NULL, aligned and valid for writes of a `T`.
pub unsafe fn write<T>(p: *mut T, value: T) {
    // SAFETY: the caller guarantees `p` is valid for writes; the old contents are C
    // memory (maybe uninitialized), so they are overwritten, not dropped.
    unsafe { p.write(value) }
}

/// A NUL-terminated UTF-8 string from C.
///
/// # Safety
/// A non-NULL `p` must point to a NUL-terminated string that outlives `'a`.
pub unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller guarantees.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| Failure::arg(format!("{what} is not valid UTF-8")))
}

/// A (pointer, length) byte span from C. NULL is allowed when `len` is 0.
///
/// # Safety
/// A non-NULL `p` must point to `len` readable bytes that outlive `'a`.
pub unsafe fn bytes<'a>(p: *const c_char, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(Failure::null(what)) };
    }
    // SAFETY: non-NULL and `len` readable bytes, as the caller guarantees.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// An argument vector from C: `argc` pointers, with `lens` giving their lengths, or
/// with `lens` NULL, each one NUL-terminated.
///
/// # Safety
/// `argv` must point to `argc` pointers; each must satisfy [`bytes`] (with `lens[i]`)
/// or, when `lens` is NULL, [`CStr::from_ptr`]; `lens`, when non-NULL, to `argc`
/// lengths. All outlive `'a`.
pub unsafe fn argv<'a>(argc: usize, argv: *const *const c_char, lens: *const usize) -> Result<Vec<&'a [u8]>, Failure> {
    if argc == 0 {
        return Err(Failure::arg("argc is 0: a command needs at least its name"));
    }
    if argv.is_null() {
        return Err(Failure::null("argv"));
    }
    // SAFETY: `argv` holds `argc` pointers, as the caller guarantees.
    let ptrs = unsafe { std::slice::from_raw_parts(argv, argc) };
    let lens = if lens.is_null() {
        None
    } else {
        // SAFETY: a non-NULL `lens` holds `argc` lengths, as the caller guarantees.
        Some(unsafe { std::slice::from_raw_parts(lens, argc) })
    };
    ptrs.iter()
        .enumerate()
        .map(|(i, &p)| match lens {
            // SAFETY: argv[i] spans lens[i] bytes, as the caller guarantees.
            Some(lens) => unsafe { bytes(p, lens[i], "argv[i]") },
            None if p.is_null() => Err(Failure::null("argv[i]")),
            // SAFETY: with `lens` NULL each argv[i] is NUL-terminated.
            None => Ok(unsafe { CStr::from_ptr(p) }.to_bytes()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::kevy_status;

    #[test]
    fn argv_takes_lengths_or_nul_terminated_strings() {
        let args: [*const c_char; 2] = [c"GET".as_ptr(), b"k\0ey".as_ptr().cast()];
        let lens = [3usize, 4];
        // SAFETY: both arrays hold two entries that outlive the calls.
        let with_lens = unsafe { argv(2, args.as_ptr(), lens.as_ptr()) }.unwrap();
        assert_eq!(with_lens, vec![b"GET".as_slice(), b"k\0ey".as_slice()]);
        // SAFETY: as above; with lens NULL each argument is NUL-terminated.
        let nul_terminated = unsafe { argv(2, args.as_ptr(), std::ptr::null()) }.unwrap();
        assert_eq!(nul_terminated, vec![b"GET".as_slice(), b"k".as_slice()]);
        // SAFETY: argc 0 and a NULL argv are refused before anything is read.
        let empty = unsafe { argv(0, args.as_ptr(), std::ptr::null()) }.unwrap_err();
        assert_eq!(empty.status, kevy_status::KEVY_ERR_ARG);
        // SAFETY: as above.
        let null = unsafe { argv(1, std::ptr::null(), std::ptr::null()) }.unwrap_err();
        assert_eq!(null.status, kevy_status::KEVY_ERR_NULL);
    }

    #[test]
    fn null_spans_are_empty_only_when_their_length_is_zero() {
        // SAFETY: NULL pointers are checked before any read.
        unsafe {
            assert_eq!(bytes(std::ptr::null(), 0, "b").unwrap(), b"");
            assert_eq!(bytes(std::ptr::null(), 3, "b").unwrap_err().status, kevy_status::KEVY_ERR_NULL);
            assert_eq!(text(std::ptr::null(), "t").unwrap_err().status, kevy_status::KEVY_ERR_NULL);
            assert_eq!(text(c"\xff".as_ptr(), "t").unwrap_err().status, kevy_status::KEVY_ERR_ARG);
        }
    }
}
