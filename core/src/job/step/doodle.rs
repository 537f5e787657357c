//! `doodle`: semantic style transfer.

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use super::{Operation, StepContext, StepOutput};
use crate::doodle::{DoodleOptions, DoodleRequest, Observer, Seed};
use crate::job::form::parse_size;
use crate::job::form::{Fields, Roles, field_names};
use crate::{Error, Result};

/// A doodle's fields besides its options (which come from [`DoodleOptions::fields`]).
const DOODLE_FIELDS: &[&str] = &["output_size"];

/// Semantic style transfer. The content is `content` when given, else the current image
/// when there is one; without either it paints the `content_map` (a doodle) or a texture
/// of `output_size`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoodleStep {
    /// The style painting.
    pub style: String,
    /// The style's semantic map.
    #[serde(default)]
    pub style_map: Option<String>,
    /// The image to repaint (default: the current image).
    #[serde(default)]
    pub content: Option<String>,
    /// The target's semantic map.
    #[serde(default)]
    pub content_map: Option<String>,
    /// Output size `[width, height]`.
    #[serde(default)]
    pub output_size: Option<(u32, u32)>,
    /// The doodle options (CLI names with `_`).
    #[serde(default)]
    pub options: DoodleOptions,
}

impl Operation for DoodleStep {
    fn from_fields(fields: &Fields<'_>, roles: &Roles<'_>) -> Result<(Self, Option<String>)> {
        fields.allow(&[DOODLE_FIELDS, &field_names(DoodleOptions::fields())])?;
        let step = DoodleStep {
            style: roles.require("style", "the style painting")?,
            style_map: roles.has("style_map"),
            content: roles.has("content"),
            content_map: roles.has("content_map"),
            output_size: fields.get("output_size").map(parse_size).transpose()?,
            options: options_from(fields)?,
        };
        Ok((step, None))
    }

    fn input_names(&self) -> Vec<&str> {
        std::iter::once(&self.style)
            .chain(&self.style_map)
            .chain(&self.content)
            .chain(&self.content_map)
            .map(String::as_str)
            .collect()
    }

    fn validate(&self) -> Result<()> {
        self.options.validate()
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepOutput> {
        let named = |name: &String, field: &str| context.named(name, field).cloned();
        let optional = |name: &Option<String>, field: &str| {
            name.as_ref().map(|name| named(name, field)).transpose()
        };
        let mut request = DoodleRequest::new(named(&self.style, "style")?);
        request.style_map = optional(&self.style_map, "style_map")?;
        request.content = match &self.content {
            Some(name) => Some(named(name, "content")?),
            None => context.current.cloned(),
        };
        request.content_map = optional(&self.content_map, "content_map")?;
        request.output_size = self.output_size;
        let mut options = self.options.clone();
        if let Some(left) = context.time_left {
            options.time_budget = Some(options.time_budget.map_or(left, |own| own.min(left)));
        }
        let observer = Observer::default().cancel_token(context.cancel.clone());
        let outcome = context.session.doodle(&request, &options, observer)?;
        Ok(StepOutput {
            details: outcome.report_json(),
            image: Some(DynamicImage::ImageRgb8(outcome.image)),
        })
    }
}

/// The doodle options given as text fields; an image seed needs an image no form gives.
fn options_from(fields: &Fields<'_>) -> Result<DoodleOptions> {
    let options = fields.options(DoodleOptions::default(), DoodleOptions::fields())?;
    if options.seed == Seed::Image {
        return Err(Error::option(
            "seed",
            "an image seed is not available here; use noise or content",
        ));
    }
    Ok(options)
}
