//! Status codes, the thread-local last error, and the guard every entry point runs in.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use stylemark_core::{Error, ErrorKind};

/// The result of every function that can fail. `STYLEMARK_STATUS_OK` is 0; on any other
/// value `stylemark_last_error()` says what went wrong and what to do.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StylemarkStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument is malformed (not UTF-8, a bad size, an unknown format name).
    InvalidArgument = 2,
    /// An image is empty, unreadable, corrupt, or cannot carry an invisible mark.
    InvalidImage = 3,
    /// An input exceeded a limit (bytes, pixels, memory).
    LimitExceeded = 4,
    /// An option, a font or a job is invalid.
    InvalidOptions = 5,
    /// Encoder weights are missing or unusable.
    Weights = 6,
    /// A device is not compiled in, not present, or failed.
    Device = 7,
    /// A file could not be read or written, or an output could not be encoded.
    Io = 8,
    /// A bug in stylemark (a caught panic); the process is unharmed.
    Internal = 9,
}

/// Why a call failed: a status and a message for `stylemark_last_error()`.
pub(crate) struct Failure {
    pub status: StylemarkStatus,
    pub message: String,
}

impl Failure {
    pub fn null(argument: &str) -> Failure {
        Failure {
            status: StylemarkStatus::NullPointer,
            message: format!("`{argument}` is NULL"),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            status: StylemarkStatus::InvalidArgument,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let status = match error.kind() {
            ErrorKind::InvalidImage => StylemarkStatus::InvalidImage,
            ErrorKind::LimitExceeded => StylemarkStatus::LimitExceeded,
            ErrorKind::InvalidOptions => StylemarkStatus::InvalidOptions,
            ErrorKind::Weights => StylemarkStatus::Weights,
            ErrorKind::Device => StylemarkStatus::Device,
            ErrorKind::Io => StylemarkStatus::Io,
            _ => StylemarkStatus::Internal,
        };
        Failure {
            status,
            message: error.to_string(),
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // Interior NULs cannot go into a C string; they never occur in our messages.
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|last| *last.borrow_mut() = text);
}

/// Runs an entry point: clears the last error, turns failures and panics into a status
/// and a message. Nothing unwinds into C.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> StylemarkStatus {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => StylemarkStatus::Ok,
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            failure.status
        }
        Err(panic) => {
            set_last_error(&stylemark_core::Error::from_panic(&*panic).to_string());
            StylemarkStatus::Internal
        }
    }
}

/// Runs an entry point that has no status to return (the `free` functions, `version`,
/// `last_error`): a panic is caught, recorded as the last error and `fallback` returned,
/// so nothing unwinds into C from these either.
pub(crate) fn no_unwind<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let message = stylemark_core::Error::from_panic(&*panic).to_string();
        // `set_last_error` itself only allocates; if even that fails, give up quietly.
        let _ = catch_unwind(|| set_last_error(&message));
        fallback
    })
}

/// The message of the last failed call on this thread ("" after a successful call).
///
/// Each thread has its own: concurrent calls never see each other's errors. The pointer
/// stays valid until the next stylemark call on the same thread; copy it to keep it.
#[unsafe(no_mangle)]
pub extern "C" fn stylemark_last_error() -> *const c_char {
    no_unwind(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|last| last.borrow().as_ptr())
            .unwrap_or(c"".as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        // SAFETY: the pointer is valid until the next call on this thread.
        unsafe { std::ffi::CStr::from_ptr(stylemark_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    /// Every exported function's body runs inside `guard` or `no_unwind`: a panic that
    /// unwinds into C is undefined behaviour (or an abort of the caller's process).
    #[test]
    fn every_entry_point_is_guarded() {
        let sources = [
            include_str!("engine.rs"),
            include_str!("memory.rs"),
            include_str!("ops.rs"),
            include_str!("options.rs"),
            include_str!("status.rs"),
        ];
        let mut checked = 0;
        for source in sources {
            for (start, _) in source.match_indices("\n#[unsafe(no_mangle)]") {
                let rest = &source[start..];
                let name_at = rest.find("fn ").unwrap() + 3;
                let name: String = rest[name_at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let body = &rest[..rest.find("\n}\n").unwrap()];
                assert!(
                    body.contains("guard(") || body.contains("no_unwind("),
                    "{name} is not inside guard() or no_unwind()"
                );
                checked += 1;
            }
        }
        assert!(checked >= 17, "found only {checked} entry points");
    }

    #[test]
    fn entry_points_without_a_status_catch_panics_too() {
        assert_eq!(no_unwind(7, || panic!("in a free function")), 7);
        assert!(
            last_error().contains("in a free function"),
            "{}",
            last_error()
        );
        assert_eq!(no_unwind(7, || 3), 3);
    }

    #[test]
    fn panics_become_internal_errors_and_success_clears_the_message() {
        assert_eq!(guard(|| panic!("boom")), StylemarkStatus::Internal);
        assert!(last_error().contains("boom") && last_error().contains("bug in stylemark"));
        assert_eq!(guard(|| Ok(())), StylemarkStatus::Ok);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn errors_are_per_thread() {
        assert_eq!(
            guard(|| Err(Failure::invalid("main thread"))),
            StylemarkStatus::InvalidArgument
        );
        std::thread::spawn(|| {
            assert_eq!(last_error(), "");
            guard(|| Err(Failure::null("other")));
            assert!(last_error().contains("other"));
        })
        .join()
        .unwrap();
        assert_eq!(last_error(), "main thread");
    }
}
