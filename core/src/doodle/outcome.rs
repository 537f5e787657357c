//! What a painting run returns: always an image, and how the run ended.

use image::RgbImage;

use super::observe::RunStatus;
use super::report::Report;

/// The result of a run: always an image, and how it ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DoodleOutcome {
    /// The painting, at the output size.
    pub image: RgbImage,
    /// Completed, or stopped early by the time budget or a cancellation.
    pub status: RunStatus,
    /// Figures of the run.
    pub report: Report,
}

impl DoodleOutcome {
    /// How the run ended and its figures, as every entry point reports them:
    /// `{"status": "completed", "report": {...}}`.
    pub fn report_json(&self) -> serde_json::Value {
        serde_json::json!({"status": self.status, "report": self.report})
    }
}
