//! `watermark_logo`: a visible logo watermark.

use serde::{Deserialize, Serialize};

use super::{Operation, StepContext, StepOutput};
use crate::Result;
use crate::job::form::{Fields, Roles, field_names};
use crate::watermark::visible::LogoOptions;

/// A visible logo watermark on the current image.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatermarkLogoStep {
    /// The name of the logo image.
    pub logo: String,
    /// The logo options.
    #[serde(default)]
    pub options: LogoOptions,
}

impl Operation for WatermarkLogoStep {
    fn from_fields(fields: &Fields<'_>, roles: &Roles<'_>) -> Result<(Self, Option<String>)> {
        fields.allow(&[&field_names(LogoOptions::fields())])?;
        let step = WatermarkLogoStep {
            logo: roles.require("logo", "the logo image")?,
            options: fields.options(LogoOptions::default(), LogoOptions::fields())?,
        };
        Ok((
            step,
            Some(roles.require("image", "the image to watermark")?),
        ))
    }

    fn input_names(&self) -> Vec<&str> {
        vec![self.logo.as_str()]
    }

    fn validate(&self) -> Result<()> {
        self.options.validate()
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepOutput> {
        let logo = context.named(&self.logo, "logo")?;
        let marked = context
            .session
            .watermark_logo(context.image()?, logo, &self.options)?;
        Ok(StepOutput {
            details: marked.report_json(),
            image: Some(marked.image),
        })
    }
}
