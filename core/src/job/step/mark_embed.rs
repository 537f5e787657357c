//! `mark_embed`: an invisible mark.

use serde::{Deserialize, Serialize};

use super::{Operation, StepContext, StepOutput};
use crate::Result;
use crate::job::form::{Fields, Roles, field_names};
use crate::watermark::invisible::{MarkOptions, parse_hex};

/// An invisible mark in the current image.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkEmbedStep {
    /// Payload in hex, 1 to 8 bytes.
    pub payload: String,
    /// The secret key.
    pub key: String,
    /// The mark options.
    #[serde(default)]
    pub options: MarkOptions,
}

impl Operation for MarkEmbedStep {
    fn from_fields(fields: &Fields<'_>, roles: &Roles<'_>) -> Result<(Self, Option<String>)> {
        fields.allow(&[&["payload", "key"], &field_names(MarkOptions::fields())])?;
        let step = MarkEmbedStep {
            payload: fields.required("payload", "the payload in hex, e.g. c0ffee")?,
            key: fields.required("key", "the secret key")?,
            options: fields.options(MarkOptions::default(), MarkOptions::fields())?,
        };
        Ok((step, Some(roles.require("image", "the image to mark")?)))
    }

    fn validate(&self) -> Result<()> {
        parse_hex(&self.payload)?;
        self.options.validate()
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepOutput> {
        let payload = parse_hex(&self.payload)?;
        let marked =
            context
                .session
                .mark_embed(context.image()?, &payload, &self.key, &self.options)?;
        Ok(StepOutput {
            details: marked.report_json(),
            image: Some(marked.image),
        })
    }
}
