//! Buffers and strings the library allocates and the caller frees.

use std::ffi::{CString, c_char};

use crate::status::no_unwind;

/// Bytes owned by the library (an encoded image). Free with `stylemark_buffer_free`.
#[repr(C)]
#[derive(Debug)]
pub struct StylemarkBuffer {
    /// The bytes, or NULL when empty or freed.
    pub data: *mut u8,
    /// Number of bytes.
    pub len: usize,
}

impl StylemarkBuffer {
    pub(crate) fn from_vec(bytes: Vec<u8>) -> StylemarkBuffer {
        let len = bytes.len();
        let data = Box::into_raw(bytes.into_boxed_slice()) as *mut u8;
        StylemarkBuffer { data, len }
    }
}

/// Frees a buffer's bytes and sets it to `{NULL, 0}`. NULL, or a buffer already freed, is
/// fine.
///
/// # Safety
/// `buffer` is NULL or points to a buffer filled by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_buffer_free(buffer: *mut StylemarkBuffer) {
    no_unwind((), || {
        // SAFETY: the caller passes NULL or a buffer this library filled.
        let Some(buffer) = (unsafe { buffer.as_mut() }) else {
            return;
        };
        if !buffer.data.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(buffer.data, buffer.len);
            // SAFETY: data and len came from `Box<[u8]>::into_raw` in `from_vec`.
            drop(unsafe { Box::from_raw(slice) });
        }
        buffer.data = std::ptr::null_mut();
        buffer.len = 0;
    })
}

/// A NUL-terminated string the caller frees with `stylemark_string_free`.
pub(crate) fn into_c_string(text: String) -> *mut c_char {
    CString::new(text.replace('\0', " "))
        .unwrap_or_default()
        .into_raw()
}

/// Frees a string returned by this library (a JSON report). NULL is fine.
///
/// # Safety
/// `string` is NULL or a string returned by this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_string_free(string: *mut c_char) {
    no_unwind((), || {
        if !string.is_null() {
            // SAFETY: the string came from `CString::into_raw` in `into_c_string`.
            drop(unsafe { CString::from_raw(string) });
        }
    })
}
