//! The operations a job chains: one [`Step`] variant per operation, each a type of its own
//! in this folder that names its images, checks its options and runs through the
//! [`Session`]. Adding an operation is one file here, one variant below and the function it
//! calls (see `docs/ARCHITECTURE.md`).

mod doodle;
mod mark_detect;
mod mark_embed;
mod watermark_logo;
mod watermark_text;

use std::time::Duration;

use image::DynamicImage;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use doodle::DoodleStep;
pub use mark_detect::MarkDetectStep;
pub use mark_embed::MarkEmbedStep;
pub use watermark_logo::WatermarkLogoStep;
pub use watermark_text::WatermarkTextStep;

use super::JobInputs;
use super::form::{Fields, Roles};
use crate::doodle::CancelToken;
use crate::{Error, Result, Session};

/// Declares the operations: the [`Step`] enum (one variant per operation, tagged by
/// `op` in JSON), its `op` names, and the dispatch to each operation's type.
macro_rules! operations {
    ($($(#[$doc:meta])* $variant:ident($step:ident) = $op:literal;)*) => {
        /// One operation of a job, by its `op` name. Image fields name entries of
        /// [`JobInputs::images`].
        ///
        /// ```
        /// use stylemark::job::{MarkDetectStep, Step};
        /// let step: Step = serde_json::from_str(r#"{"op": "mark_detect", "key": "k"}"#)?;
        /// assert_eq!(step, Step::MarkDetect(MarkDetectStep { key: "k".into() }));
        /// assert_eq!(step.op(), "mark_detect");
        /// # Ok::<(), serde_json::Error>(())
        /// ```
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "op")]
        pub enum Step {
            $($(#[$doc])* #[serde(rename = $op)] $variant($step),)*
        }

        impl Step {
            /// Every operation's `op` name, in the order they are declared.
            pub const OPS: &'static [&'static str] = &[$($op),*];

            /// The `op` name, as JSON spells it.
            pub fn op(&self) -> &'static str {
                match self {
                    $(Step::$variant(_) => $op,)*
                }
            }

            /// The operation behind the step.
            fn operation(&self) -> &dyn Operation {
                match self {
                    $(Step::$variant(step) => step,)*
                }
            }

            /// The one-step job's step for `op` from text fields, and the role of the
            /// image it works on (see [`Job::from_fields`](super::Job::from_fields)).
            pub(crate) fn from_fields(
                op: &str,
                fields: &Fields<'_>,
                roles: &Roles<'_>,
            ) -> Result<(Step, Option<String>)> {
                match op {
                    $($op => {
                        let (step, input) = $step::from_fields(fields, roles)?;
                        Ok((Step::$variant(step), input))
                    })*
                    other => Err(Error::option(
                        "op",
                        format!("`{other}` is not an operation; use {}", one_of(Step::OPS)),
                    )),
                }
            }
        }
    };
}

operations! {
    /// Semantic style transfer ([`DoodleStep`]).
    Doodle(DoodleStep) = "doodle";
    /// A visible text watermark on the current image ([`WatermarkTextStep`]).
    WatermarkText(WatermarkTextStep) = "watermark_text";
    /// A visible logo watermark on the current image ([`WatermarkLogoStep`]).
    WatermarkLogo(WatermarkLogoStep) = "watermark_logo";
    /// An invisible mark in the current image ([`MarkEmbedStep`]).
    MarkEmbed(MarkEmbedStep) = "mark_embed";
    /// Reads an invisible mark from the current image ([`MarkDetectStep`]).
    MarkDetect(MarkDetectStep) = "mark_detect";
}

impl Step {
    /// The names of the images and fonts this step reads from the job's inputs.
    pub(crate) fn input_names(&self) -> Vec<&str> {
        self.operation().input_names()
    }

    /// Checks the options that can be checked before any image is seen.
    pub(crate) fn validate(&self) -> Result<()> {
        self.operation().validate()
    }

    /// Whether the step paints (needs the session's engine, and may stop early).
    pub(crate) fn paints(&self) -> bool {
        matches!(self, Step::Doodle(_))
    }

    /// Runs the step on the current image.
    pub(crate) fn run(&self, context: &StepContext<'_>) -> Result<StepOutput> {
        self.operation().run(context)
    }
}

/// `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// What every operation of a job does. Each is a serde type holding the operation's
/// arguments: image and font names, and its options.
pub(crate) trait Operation {
    /// The step from a form's or the CLI's text fields (names as the CLI's flags), and the
    /// role of the image it works on (`image`), if any; `roles` are the images the caller
    /// gives.
    fn from_fields(fields: &Fields<'_>, roles: &Roles<'_>) -> Result<(Self, Option<String>)>
    where
        Self: Sized;

    /// The names of the images and fonts it reads from the job's inputs.
    fn input_names(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Checks what can be checked before any image is seen.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Runs on the current image, through the session (its limits, its engine).
    fn run(&self, context: &StepContext<'_>) -> Result<StepOutput>;
}

/// What a step runs with: the session, the image so far, the job's named inputs, and
/// when to stop.
pub(crate) struct StepContext<'a> {
    /// The session the job runs in.
    pub session: &'a Session,
    /// The image the previous step produced (or the job's input).
    pub current: Option<&'a DynamicImage>,
    /// The job's named images and fonts.
    pub inputs: &'a JobInputs,
    /// Stops a painting step early.
    pub cancel: &'a CancelToken,
    /// The time this step may take, when the job has a deadline.
    pub time_left: Option<Duration>,
    /// The step's `op`, for errors.
    pub op: &'static str,
}

impl StepContext<'_> {
    /// The current image, or an error saying the step needs one.
    pub fn image(&self) -> Result<&DynamicImage> {
        self.current.ok_or_else(|| {
            Error::option(
                "op",
                format!(
                    "`{}` needs an image: give the job an `input`, or put a doodle first",
                    self.op
                ),
            )
        })
    }

    /// The input image called `name`, or an error naming the `field` that asked for it.
    pub fn named(&self, name: &str, field: &str) -> Result<&DynamicImage> {
        image_named(self.inputs, name, field)
    }
}

/// What a step produced: a new image (if it makes one) and its figures.
pub(crate) struct StepOutput {
    /// The new current image; `None` leaves the current one.
    pub image: Option<DynamicImage>,
    /// The step's figures, for its [`StepReport`](super::StepReport).
    pub details: Value,
}

/// The input image called `name`, or an error naming the field that asked for it.
pub(crate) fn image_named<'a>(
    inputs: &'a JobInputs,
    name: &str,
    field: &str,
) -> Result<&'a DynamicImage> {
    inputs.images.get(name).ok_or_else(|| {
        let mut known: Vec<&str> = inputs.images.keys().map(String::as_str).collect();
        known.sort_unstable();
        Error::option(
            field,
            format!(
                "no image named `{name}` was given to the job (given: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )
    })
}
