//! Watching and steering a run: progress, frames, cancellation, and how it ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// A flag another thread can raise to stop a run early. Cheap to clone; clones share it.
///
/// A cancelled run is not an error: it returns the best image so far with
/// [`RunStatus::Cancelled`].
///
/// ```
/// use stylemark::doodle::CancelToken;
/// let token = CancelToken::new();
/// let remote = token.clone();
/// std::thread::spawn(move || remote.cancel()).join().unwrap();
/// assert!(token.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop at the next evaluation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How a run ended. Every status comes with an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// Every phase ran all its evaluations.
    Completed,
    /// The time budget ran out; the image is the best found until then.
    TimeBudgetExhausted,
    /// The run was cancelled (token or progress callback); the image is the best so far.
    Cancelled,
}

impl RunStatus {
    /// The status as written in reports and HTTP headers (`completed`, ...).
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::TimeBudgetExhausted => "time_budget_exhausted",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the run stopped before doing all its work.
    pub fn stopped_early(self) -> bool {
        self != RunStatus::Completed
    }
}

/// The loss terms of one evaluation, each already multiplied by its weight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Losses {
    /// Content term.
    pub content: f32,
    /// Style (patch) term.
    pub style: f32,
    /// Smoothness (total variation) term.
    pub smoothness: f32,
    /// Their sum, the value being minimised.
    pub total: f32,
}

/// What a progress callback receives after each evaluation.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// Phase number, from 1.
    pub phase: usize,
    /// Number of phases.
    pub phases: usize,
    /// Evaluation number within the phase, from 1.
    pub evaluation: usize,
    /// Evaluations per phase.
    pub evaluations: usize,
    /// Resolution of this phase.
    pub width: u32,
    /// Resolution of this phase.
    pub height: u32,
    /// The loss terms of this evaluation.
    pub losses: Losses,
    /// Time since the run started.
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
}

impl Progress {
    /// Fraction of the run's evaluations done, 0 to 1.
    pub fn fraction(&self) -> f64 {
        let done = (self.phase - 1) * self.evaluations + self.evaluation;
        done as f64 / (self.phases * self.evaluations) as f64
    }
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// An intermediate image, delivered every N evaluations when asked for.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Phase number, from 1.
    pub phase: usize,
    /// Evaluation number within the phase, from 1.
    pub evaluation: usize,
    /// The current image at the phase's resolution.
    pub image: RgbImage,
}

/// Progress callback: return `false` to cancel the run.
pub type ProgressFn<'a> = dyn FnMut(&Progress) -> bool + Send + 'a;
/// Frame callback.
pub type FrameFn<'a> = dyn FnMut(&Frame) + Send + 'a;

/// The ways a caller watches and steers a run; all optional.
///
/// ```
/// use stylemark::doodle::{CancelToken, Observer};
/// let token = CancelToken::new();
/// let mut seen = 0;
/// let mut on_progress = |_: &stylemark::doodle::Progress| { seen += 1; true };
/// let observer = Observer::default().progress(&mut on_progress).cancel_token(token);
/// ```
#[derive(Default)]
pub struct Observer<'a> {
    pub(crate) progress: Option<&'a mut ProgressFn<'a>>,
    pub(crate) frame: Option<(usize, &'a mut FrameFn<'a>)>,
    pub(crate) cancel: Option<CancelToken>,
}

impl<'a> Observer<'a> {
    /// Calls `callback` after every evaluation; returning `false` cancels the run.
    pub fn progress(mut self, callback: &'a mut ProgressFn<'a>) -> Self {
        self.progress = Some(callback);
        self
    }

    /// Calls `callback` with the current image every `every` evaluations (and at the end
    /// of each phase).
    pub fn frames(mut self, every: usize, callback: &'a mut FrameFn<'a>) -> Self {
        self.frame = Some((every.max(1), callback));
        self
    }

    /// Stops the run when `token` is cancelled.
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
    }

    /// What stops work inside an evaluation: this observer's cancellation, and `deadline`.
    pub(crate) fn stop(&self, deadline: Option<std::time::Instant>) -> Stop {
        Stop {
            cancel: self.cancel.clone(),
            deadline,
        }
    }
}

/// When work that may run long (one evaluation's nearest-patch search at a fine layer can
/// take minutes) must stop: a cancellation or a passed deadline. Checked often enough
/// inside that work to stop within a second or two; cheap to check.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stop {
    cancel: Option<CancelToken>,
    deadline: Option<std::time::Instant>,
}

impl Stop {
    /// Whether the work should stop now.
    pub fn requested(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
            || self
                .deadline
                .is_some_and(|deadline| std::time::Instant::now() >= deadline)
    }
}
