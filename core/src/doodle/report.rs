//! What a run did, for logs, HTTP headers and `--report PATH.json`.

use serde::Serialize;

use super::observe::{Losses, RunStatus};
use super::options::Method;
use super::request::Mode;

/// A summary of a style-transfer run.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// How the run ended.
    pub status: RunStatus,
    /// The mode the inputs selected.
    pub mode: Mode,
    /// How it was painted.
    pub method: Method,
    /// The device it ran on.
    pub device: String,
    /// The encoder it ran through.
    pub encoder: String,
    /// Where its evaluations ran (`host` or `tensors`).
    pub compute_path: super::ComputePath,
    /// The random seed used (pass it back as `random_seed` to reproduce the run).
    pub random_seed: u64,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Wall-clock seconds for the whole run.
    pub seconds: f64,
    /// Number of semantic labels found in the maps (none without maps).
    pub labels: Option<usize>,
    /// One entry per phase that ran.
    pub phases: Vec<PhaseReport>,
    /// Things worth knowing that did not stop the run (skipped phases, unmatched labels).
    pub warnings: Vec<String>,
}

/// What one phase did.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// Phase number, from 1.
    pub phase: usize,
    /// Resolution of the phase.
    pub width: u32,
    /// Resolution of the phase.
    pub height: u32,
    /// Loss evaluations made.
    pub evaluations: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Of which finding nearest patches.
    pub matching_seconds: f64,
    /// Evaluations that searched for nearest patches; the others reused the latest
    /// matches (see [`DoodleOptions::rematch_every`](super::DoodleOptions)).
    pub matchings: usize,
    /// Loss terms at the phase's best image.
    pub losses: Losses,
}
