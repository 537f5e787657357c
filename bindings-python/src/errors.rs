//! Core errors as Python exceptions, and running core work without the GIL.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use stylemark_core::doodle::CancelToken;
use stylemark_core::{Error, ErrorKind};

/// The exception class of `stylemark.errors` for an error kind.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidImage => "InvalidImageError",
        ErrorKind::LimitExceeded => "LimitExceededError",
        ErrorKind::InvalidOptions => "InvalidOptionsError",
        ErrorKind::Weights => "WeightsError",
        ErrorKind::Device => "DeviceError",
        ErrorKind::Io => "StylemarkIOError",
        _ => "StylemarkError",
    }
}

/// The Python exception for a core error: the class for its kind, the core's message.
pub(crate) fn to_py(error: Error) -> PyErr {
    Python::attach(|py| {
        let message = error.to_string();
        let raised = py
            .import("stylemark.errors")
            .and_then(|module| module.getattr(class_name(error.kind())))
            .and_then(|class| class.call1((message.clone(), error.kind().name())));
        match raised {
            Ok(exception) => PyErr::from_value(exception),
            // Only if the package is broken: still say what went wrong.
            Err(_) => PyRuntimeError::new_err(message),
        }
    })
}

/// Runs `work` with the GIL released, so other Python threads run meanwhile; a core error
/// becomes its exception, and a panic (a bug) becomes a `StylemarkError` rather than
/// crossing into Python.
pub(crate) fn detached<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> stylemark_core::Result<T> + Send,
{
    py.detach(|| catch_unwind(AssertUnwindSafe(work)))
        .unwrap_or_else(|panic| Err(Error::from_panic(&*panic)))
        .map_err(to_py)
}

/// [`detached`] for work that may run long and can be cancelled (a doodle, a job): the
/// work runs on its own thread while this one, every 50 ms, takes the GIL to let Python
/// handle signals. On Ctrl-C (or any exception a signal handler raises) `cancel` is
/// cancelled, the work stops within a second or two (even inside one long evaluation) and
/// the exception is raised once it has.
pub(crate) fn detached_cancellable<T, F>(
    py: Python<'_>,
    cancel: &CancelToken,
    mut heartbeat: impl FnMut(Python<'_>) -> bool,
    work: F,
) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> stylemark_core::Result<T> + Send,
{
    const POLL: std::time::Duration = std::time::Duration::from_millis(50);
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| catch_unwind(AssertUnwindSafe(work)));
        let mut interrupted = None;
        while !worker.is_finished() {
            py.detach(|| std::thread::sleep(POLL));
            if interrupted.is_none()
                && let Err(signal) = py.check_signals()
            {
                cancel.cancel();
                interrupted = Some(signal);
            }
            if !heartbeat(py) {
                cancel.cancel();
            }
        }
        // The worker has finished: joining does not wait.
        let outcome = worker
            .join()
            .unwrap_or_else(Err)
            .unwrap_or_else(|panic| Err(Error::from_panic(&*panic)));
        match interrupted {
            Some(signal) => Err(signal),
            None => outcome.map_err(to_py),
        }
    })
}

/// Runs quick core work with the GIL held (parsing options, building an engine); a core
/// error becomes its exception and a panic a `StylemarkError`, never a `PanicException`.
pub(crate) fn guarded<T>(work: impl FnOnce() -> stylemark_core::Result<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(work))
        .unwrap_or_else(|panic| Err(Error::from_panic(&*panic)))
        .map_err(to_py)
}
