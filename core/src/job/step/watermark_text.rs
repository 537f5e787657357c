//! `watermark_text`: a visible text watermark.

use serde::{Deserialize, Serialize};

use super::{Operation, StepContext, StepOutput};
use crate::job::form::{Fields, Roles, field_names};
use crate::watermark::visible::TextOptions;
use crate::{Error, Result};

/// A visible text watermark on the current image.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatermarkTextStep {
    /// The text.
    pub text: String,
    /// Names of fonts in [`JobInputs::fonts`](crate::job::JobInputs::fonts), tried before
    /// the built-in one.
    #[serde(default)]
    pub fonts: Vec<String>,
    /// The text options.
    #[serde(default)]
    pub options: TextOptions,
}

impl Operation for WatermarkTextStep {
    fn from_fields(fields: &Fields<'_>, roles: &Roles<'_>) -> Result<(Self, Option<String>)> {
        let options = field_names(TextOptions::fields());
        fields.allow(&[&["text"], &options])?;
        let step = WatermarkTextStep {
            text: fields.required("text", "the text to draw")?,
            fonts: Vec::new(),
            options: fields.options(TextOptions::default(), TextOptions::fields())?,
        };
        Ok((
            step,
            Some(roles.require("image", "the image to watermark")?),
        ))
    }

    fn input_names(&self) -> Vec<&str> {
        self.fonts.iter().map(String::as_str).collect()
    }

    fn validate(&self) -> Result<()> {
        self.options.validate()
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepOutput> {
        let mut options = self.options.clone();
        for name in &self.fonts {
            let font = context.inputs.fonts.get(name).ok_or_else(|| {
                Error::option(
                    "fonts",
                    format!("no font named `{name}` was given to the job"),
                )
            })?;
            options.fonts.push(font.clone());
        }
        let marked = context
            .session
            .watermark_text(context.image()?, &self.text, &options)?;
        Ok(StepOutput {
            details: marked.report_json(),
            image: Some(marked.image),
        })
    }
}
