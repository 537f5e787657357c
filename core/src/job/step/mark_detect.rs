//! `mark_detect`: reads an invisible mark.

use serde::{Deserialize, Serialize};

use super::{Operation, StepContext, StepOutput};
use crate::job::form::{Fields, Roles};
use crate::{Error, Result};

/// Reads an invisible mark from the current image (the image passes through).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkDetectStep {
    /// The secret key.
    pub key: String,
}

impl Operation for MarkDetectStep {
    fn from_fields(fields: &Fields<'_>, roles: &Roles<'_>) -> Result<(Self, Option<String>)> {
        fields.allow(&[&["key"]])?;
        let step = MarkDetectStep {
            key: fields.required("key", "the secret key")?,
        };
        Ok((step, Some(roles.require("image", "the image to read")?)))
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepOutput> {
        let detection = context.session.mark_detect(context.image()?, &self.key)?;
        Ok(StepOutput {
            details: serde_json::to_value(&detection)
                .map_err(|e| Error::Internal(e.to_string()))?,
            image: None,
        })
    }
}
