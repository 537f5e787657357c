//! Pipeline jobs: one serde description of a chain of operations on named images, run the
//! same way by every entry point (`stylemark run JOB.json`, Python's `stylemark.run`, the
//! C `stylemark_run_job` and the HTTP `POST /v1/jobs`).
//!
//! A job has an optional `input` (the name of the image the first step works on), a list of
//! `steps`, each with an `op` and its `options` (the same option structs as the Rust API,
//! with the same names and defaults), and an `output` format. Each step works on the
//! image the previous one produced. The format is documented with examples in
//! `docs/JOBS.md`.
//!
//! ```
//! use stylemark::Session;
//! use stylemark::job::{Job, JobInputs};
//!
//! let job = Job::from_json(r#"{
//!     "input": "photo",
//!     "steps": [
//!         {"op": "watermark_text", "text": "© Ada", "options": {"size": "6%"}},
//!         {"op": "mark_embed", "payload": "c0ffee", "key": "secret"},
//!         {"op": "mark_detect", "key": "secret"}
//!     ],
//!     "output": {"format": "jpeg", "quality": 85}
//! }"#)?;
//! let mut inputs = JobInputs::default();
//! inputs.images.insert("photo".into(), stylemark::samples::photo(640, 480, 1));
//! let outcome = Session::default().run_job(&job, &inputs)?;
//! assert_eq!(outcome.steps[2].details["payload"], "c0ffee");
//! let jpeg = outcome.encoded()?;
//! assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
//! # Ok::<(), stylemark::Error>(())
//! ```

mod fields;
mod form;
mod run;
mod step;

use std::collections::HashMap;
use std::time::Duration;

use image::DynamicImage;
use serde::{Deserialize, Serialize};

pub use form::parse_size;
pub use step::{
    DoodleStep, MarkDetectStep, MarkEmbedStep, Step, WatermarkLogoStep, WatermarkTextStep,
};

use crate::doodle::Engine;
use crate::io::OutputFormat;
use crate::watermark::visible::Font;
use crate::{Error, Result};

/// A chain of operations on named images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// The name of the input image the first step works on. Leave it out when the first
    /// step makes an image (a doodle).
    #[serde(default)]
    pub input: Option<String>,
    /// The operations, in order.
    pub steps: Vec<Step>,
    /// How the final image is encoded. Default PNG.
    #[serde(default = "default_output")]
    pub output: OutputFormat,
    /// Seconds the whole job may take (JSON `time_budget`; every step, and whatever the
    /// caller counts before [`Session::run_job_until`](crate::Session::run_job_until)). A doodle step paints at most until it
    /// runs out (returning its best image), and a step that would start after it is an
    /// error; unset: no job-wide limit (a doodle's own `time_budget` still applies).
    #[serde(
        default,
        with = "crate::doodle::optional_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_budget: Option<Duration>,
}

fn default_output() -> OutputFormat {
    OutputFormat::Png
}

/// The named images (and fonts) a job refers to.
#[derive(Debug, Clone, Default)]
pub struct JobInputs {
    /// Images by name.
    pub images: HashMap<String, DynamicImage>,
    /// Fonts by name, for text steps' `fonts`.
    pub fonts: HashMap<String, Font>,
}

/// What a job produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobOutcome {
    /// The final image (`None` when no step produced one, e.g. a job that only detects).
    pub image: Option<DynamicImage>,
    /// One report per step, in order.
    pub steps: Vec<StepReport>,
    /// The output format the job asked for.
    pub output: OutputFormat,
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StepReport {
    /// The step's `op`.
    pub op: &'static str,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The step's own figures: the doodle report, the watermark status, the mark's PSNR,
    /// the detection.
    pub details: serde_json::Value,
}

impl Job {
    /// Parses a job from JSON; a malformed job is an error naming the bad field
    /// (`steps[1].options.opacity: ...`).
    ///
    /// ```
    /// let err = stylemark::job::Job::from_json(r#"{"steps": [{"op": "watermark_text", "txt": "x"}]}"#)
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("steps[0]"), "{err}");
    /// assert!(err.to_string().contains("txt"), "{err}");
    /// ```
    pub fn from_json(json: &str) -> Result<Job> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let job: Job = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            Error::option(
                if path == "." {
                    "job".to_string()
                } else {
                    format!("job.{path}")
                },
                format!("{inner}; see docs/JOBS.md for the job format"),
            )
        })?;
        job.validate()?;
        Ok(job)
    }

    /// Checks the parts that parsing cannot: at least one step, and every step's options.
    /// The session that runs the job checks its limits
    /// ([`Session::check_job`](crate::Session::check_job)).
    pub fn validate(&self) -> Result<()> {
        if self.steps.is_empty() {
            return Err(Error::option(
                "job.steps",
                "is empty; give at least one step",
            ));
        }
        for (index, step) in self.steps.iter().enumerate() {
            step.validate().map_err(|e| at_step(index, e))?;
        }
        Ok(())
    }

    /// Checks every doodle step's layer names against the engine's encoder before the
    /// first step runs, so a misnamed layer in step 3 does not cost steps 1 and 2. A step
    /// has a content image when it names one or an image comes before it.
    pub(crate) fn check_layers(&self, engine: &Engine) -> Result<()> {
        let mut has_image = self.input.is_some();
        for (index, step) in self.steps.iter().enumerate() {
            if let Step::Doodle(doodle) = step {
                engine
                    .check_layers(&doodle.options, has_image || doodle.content.is_some())
                    .map_err(|e| at_step(index, e))?;
                has_image = true;
            }
        }
        Ok(())
    }

    /// The names of the images and fonts the job refers to (`input`, and each step's
    /// images and fonts), so a caller can refuse, before decoding anything, inputs no step
    /// would use.
    ///
    /// ```
    /// let job = stylemark::job::Job::from_json(
    ///     r#"{"input": "photo", "steps": [{"op": "watermark_logo", "logo": "brand"}]}"#,
    /// )?;
    /// assert_eq!(job.input_names(), ["brand", "photo"].into());
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn input_names(&self) -> std::collections::BTreeSet<&str> {
        let mut names: std::collections::BTreeSet<&str> =
            self.input.iter().map(String::as_str).collect();
        for step in &self.steps {
            names.extend(step.input_names());
        }
        names
    }

    /// Whether a step paints, so needs the session's [`Engine`] (opened on first use).
    pub fn needs_engine(&self) -> bool {
        self.steps.iter().any(Step::paints)
    }
}

impl JobOutcome {
    /// The final image encoded in the job's output format.
    pub fn encoded(&self) -> Result<Vec<u8>> {
        let image = self.image.as_ref().ok_or_else(|| {
            Error::option(
                "job.steps",
                "no step produced an image (give `input`, or start with a doodle)",
            )
        })?;
        crate::io::encode(image, self.output)
    }

    /// The step reports as a JSON array.
    pub fn report_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.steps).unwrap_or(serde_json::Value::Null)
    }
}

/// Parses one of the core's option structs ([`DoodleOptions`](crate::doodle::DoodleOptions),
/// [`TextOptions`](crate::watermark::visible::TextOptions), ...) from JSON, as the bindings receive
/// them; omitted fields take their defaults, and an error names the bad field.
///
/// ```
/// use stylemark::watermark::visible::TextOptions;
/// let options: TextOptions = stylemark::job::parse_options(r#"{"opacity": 0.5}"#)?;
/// assert_eq!(options.opacity, 0.5);
/// let err = stylemark::job::parse_options::<TextOptions>(r#"{"placement": {"positon": "tile"}}"#)
///     .unwrap_err();
/// assert!(err.to_string().contains("`placement.positon`"), "{err}");
/// assert!(err.to_string().contains("positon"), "{err}");
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn parse_options<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let name = if path == "." {
            "options".to_string()
        } else {
            path
        };
        Error::option(name, e.into_inner().to_string())
    })
}

/// Prefixes an option error with the step it came from.
pub(crate) fn at_step(index: usize, error: Error) -> Error {
    match error {
        Error::InvalidOption { name, reason } if !name.starts_with("job.") => {
            Error::InvalidOption {
                name: format!("job.steps[{index}].{name}"),
                reason,
            }
        }
        other => other,
    }
}
