//! The operations a job chains.

use std::time::Duration;

use image::DynamicImage;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::JobInputs;
use crate::doodle::{CancelToken, DoodleOptions, DoodleRequest, Engine, Observer};
use crate::watermark::invisible::{self as mark, MarkOptions};
use crate::watermark::visible::{self as watermark, LogoOptions, TextOptions};
use crate::{Error, Limits, Result};

/// One operation of a job. Image fields name entries of [`JobInputs::images`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Semantic style transfer. The content is `content` when given, else the current
    /// image when there is one; without either it paints the `content_map` (a doodle) or a
    /// texture of `output_size`.
    Doodle {
        /// The style painting.
        style: String,
        /// The style's semantic map.
        #[serde(default)]
        style_map: Option<String>,
        /// The image to repaint (default: the current image).
        #[serde(default)]
        content: Option<String>,
        /// The target's semantic map.
        #[serde(default)]
        content_map: Option<String>,
        /// Output size `[width, height]`.
        #[serde(default)]
        output_size: Option<(u32, u32)>,
        /// The doodle options (CLI names with `_`).
        #[serde(default)]
        options: DoodleOptions,
    },
    /// A visible text watermark on the current image.
    WatermarkText {
        /// The text.
        text: String,
        /// Names of fonts in [`JobInputs::fonts`], tried before the built-in one.
        #[serde(default)]
        fonts: Vec<String>,
        /// The text options.
        #[serde(default)]
        options: TextOptions,
    },
    /// A visible logo watermark on the current image.
    WatermarkLogo {
        /// The logo image.
        logo: String,
        /// The logo options.
        #[serde(default)]
        options: LogoOptions,
    },
    /// An invisible mark in the current image.
    MarkEmbed {
        /// Payload in hex, 1 to 8 bytes.
        payload: String,
        /// The secret key.
        key: String,
        /// The mark options.
        #[serde(default)]
        options: MarkOptions,
    },
    /// Reads an invisible mark from the current image (the image passes through).
    MarkDetect {
        /// The secret key.
        key: String,
    },
}

impl Step {
    /// The names of the images and fonts this step reads from the job's inputs.
    pub(super) fn input_names(&self) -> Vec<&str> {
        match self {
            Step::Doodle {
                style,
                style_map,
                content,
                content_map,
                ..
            } => std::iter::once(style)
                .chain(style_map)
                .chain(content)
                .chain(content_map)
                .map(String::as_str)
                .collect(),
            Step::WatermarkText { fonts, .. } => fonts.iter().map(String::as_str).collect(),
            Step::WatermarkLogo { logo, .. } => vec![logo.as_str()],
            Step::MarkEmbed { .. } | Step::MarkDetect { .. } => Vec::new(),
        }
    }

    /// The `op` name.
    pub fn op(&self) -> &'static str {
        match self {
            Step::Doodle { .. } => "doodle",
            Step::WatermarkText { .. } => "watermark_text",
            Step::WatermarkLogo { .. } => "watermark_logo",
            Step::MarkEmbed { .. } => "mark_embed",
            Step::MarkDetect { .. } => "mark_detect",
        }
    }

    /// Checks the options that can be checked before any image is seen.
    pub(super) fn validate(&self) -> Result<()> {
        match self {
            Step::Doodle { options, .. } => options.validate(),
            Step::WatermarkText { options, .. } => options.validate(),
            Step::WatermarkLogo { options, .. } => options.validate(),
            Step::MarkEmbed {
                payload, options, ..
            } => {
                mark::parse_hex(payload)?;
                options.validate()
            }
            Step::MarkDetect { .. } => Ok(()),
        }
    }

    /// Runs the step on the current image; returns the new image (if it makes one) and
    /// the step's figures.
    pub(super) fn run(
        &self,
        current: Option<&DynamicImage>,
        inputs: &JobInputs,
        engine: Option<&Engine>,
        cancel: &CancelToken,
        time_left: Option<Duration>,
        limits: &Limits,
    ) -> Result<(Option<DynamicImage>, Value)> {
        let needs_image = || {
            current.ok_or_else(|| {
                Error::option(
                    "op",
                    format!(
                        "`{}` needs an image: give the job an `input`, or put a doodle first",
                        self.op()
                    ),
                )
            })
        };
        match self {
            Step::Doodle {
                style,
                style_map,
                content,
                content_map,
                output_size,
                options,
            } => {
                let engine = engine.ok_or_else(|| {
                    Error::option(
                        "op",
                        "a doodle step needs an engine (the entry point creates one)",
                    )
                })?;
                let named = |name: &String, field: &str| image_named(inputs, name, field).cloned();
                let mut request = DoodleRequest::new(named(style, "style")?).limits(*limits);
                request.style_map = style_map
                    .as_ref()
                    .map(|n| named(n, "style_map"))
                    .transpose()?;
                request.content = match content {
                    Some(name) => Some(named(name, "content")?),
                    None => current.cloned(),
                };
                request.content_map = content_map
                    .as_ref()
                    .map(|n| named(n, "content_map"))
                    .transpose()?;
                request.output_size = *output_size;
                let mut options = options.clone();
                if let Some(left) = time_left {
                    options.time_budget =
                        Some(options.time_budget.map_or(left, |own| own.min(left)));
                }
                let outcome = engine.doodle(
                    &request,
                    &options,
                    Observer::default().cancel_token(cancel.clone()),
                )?;
                let details = outcome.report_json();
                Ok((Some(DynamicImage::ImageRgb8(outcome.image)), details))
            }
            Step::WatermarkText {
                text,
                fonts,
                options,
            } => {
                let mut options = options.clone();
                options.limits = *limits;
                for name in fonts {
                    let font = inputs.fonts.get(name).ok_or_else(|| {
                        Error::option(
                            "fonts",
                            format!("no font named `{name}` was given to the job"),
                        )
                    })?;
                    options.fonts.push(font.clone());
                }
                let marked = watermark::text(needs_image()?, text, &options)?;
                let details = marked.report_json();
                Ok((Some(marked.image), details))
            }
            Step::WatermarkLogo { logo, options } => {
                let logo = image_named(inputs, logo, "logo")?;
                let options = LogoOptions {
                    limits: *limits,
                    ..options.clone()
                };
                let marked = watermark::logo(needs_image()?, logo, &options)?;
                let details = marked.report_json();
                Ok((Some(marked.image), details))
            }
            Step::MarkEmbed {
                payload,
                key,
                options,
            } => {
                let options = MarkOptions {
                    limits: *limits,
                    ..options.clone()
                };
                let payload = mark::parse_hex(payload)?;
                let marked = mark::embed(needs_image()?, &payload, key, &options)?;
                let details = marked.report_json();
                Ok((Some(marked.image), details))
            }
            Step::MarkDetect { key } => {
                let detection = mark::detect_within(needs_image()?, key, limits)?;
                Ok((
                    None,
                    serde_json::to_value(&detection).unwrap_or(Value::Null),
                ))
            }
        }
    }
}

/// The input image called `name`, or an error naming the field that asked for it.
pub(super) fn image_named<'a>(
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
