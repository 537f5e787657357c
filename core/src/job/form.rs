//! Text fields as a form, a query string or the command line sends them, read for one
//! operation: names normalised (`content-weight` is `content_weight`), unknown and repeated
//! fields refused, values parsed with errors naming the field. Each job step reads its own
//! fields with these (`Operation::from_fields`).

use std::collections::HashSet;
use std::str::FromStr;

use crate::field::Field;
use crate::{Error, Result};

/// The fields every op takes: the output encoding.
const OUTPUT_FIELDS: &[&str] = &["format", "quality"];

/// Parses `WIDTHxHEIGHT` (`512x384`), as `--output-size` takes it.
///
/// ```
/// assert_eq!(stylemark::job::parse_size("512x384")?, (512, 384));
/// assert!(stylemark::job::parse_size("512").is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn parse_size(text: &str) -> Result<(u32, u32)> {
    let bad = |reason: String| Error::option("output_size", reason);
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| bad(format!("`{text}` is not WIDTHxHEIGHT, e.g. 512x384")))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| bad(format!("`{s}` is not a number of pixels")))
    };
    Ok((parse(w)?, parse(h)?))
}

/// The images a one-step job will be given, by role (`image`, `logo`, `style`, ...).
pub(crate) struct Roles<'a>(HashSet<&'a str>);

impl<'a> Roles<'a> {
    /// The roles of the images the caller will give.
    pub fn new(images: &[&'a str]) -> Self {
        Roles(images.iter().copied().collect())
    }

    /// The role's name when the caller gives that image.
    pub fn has(&self, name: &str) -> Option<String> {
        self.0.contains(name).then(|| name.to_string())
    }

    /// The role's name, or an error saying the image is required.
    pub fn require(&self, name: &str, what: &str) -> Result<String> {
        self.has(name)
            .ok_or_else(|| Error::option(name, format!("is required: give {what}")))
    }
}

/// Text fields by normalised name (`content_weight` and `content-weight` are one field).
pub(crate) struct Fields<'a> {
    pairs: Vec<(String, &'a str)>,
}

impl<'a> Fields<'a> {
    pub fn new(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut pairs: Vec<(String, &str)> = Vec::new();
        for (name, value) in fields {
            let name = name.trim().to_ascii_lowercase().replace('-', "_");
            if pairs.iter().any(|(known, _)| *known == name) {
                return Err(Error::option(name, "is given twice; give it once"));
            }
            pairs.push((name, value));
        }
        Ok(Fields { pairs })
    }

    /// Refuses a field none of `groups` (or the output's `format` and `quality`) names,
    /// listing the ones that are accepted.
    pub fn allow(&self, groups: &[&[&str]]) -> Result<()> {
        let known: Vec<&str> = groups
            .iter()
            .chain([&OUTPUT_FIELDS])
            .flat_map(|g| g.iter().copied())
            .collect();
        match self
            .pairs
            .iter()
            .find(|(name, _)| !known.contains(&name.as_str()))
        {
            Some((name, _)) => Err(Error::option(
                name.clone(),
                format!("is not a field of this operation; use {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| *value)
    }

    pub fn required(&self, name: &str, what: &str) -> Result<String> {
        self.get(name)
            .map(str::to_string)
            .ok_or_else(|| Error::option(name, format!("is required: give {what}")))
    }

    /// A value parsed by its type's `FromStr`; parse errors name the field.
    pub fn parse<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        value.trim().parse::<T>().map(Some).map_err(|_| {
            Error::option(name, format!("`{value}` is not a valid {}", kind_of::<T>()))
        })
    }

    /// A value parsed by a stylemark type, whose own error already says what to give.
    pub fn parse_with<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T>,
    ) -> Result<Option<T>> {
        self.get(name)
            .map(|value| {
                parse(value).map_err(|e| match e {
                    Error::InvalidOption { reason, .. } => Error::option(name, reason),
                    other => other,
                })
            })
            .transpose()
    }

    /// `defaults` with every field of `table` that was given set from its text.
    pub fn options<O: 'static>(&self, mut defaults: O, table: &[Field<O>]) -> Result<O> {
        crate::field::apply(&mut defaults, table, |name| self.get(name))?;
        Ok(defaults)
    }
}

fn kind_of<T>() -> &'static str {
    match std::any::type_name::<T>() {
        "f32" | "f64" => "number",
        "u8" | "u32" | "u64" | "usize" => "whole number",
        _ => "value",
    }
}

/// Every name and alias of `fields`, as a field list [`Fields::allow`] takes.
pub(crate) fn field_names<O: 'static>(fields: &[Field<O>]) -> Vec<&'static str> {
    fields
        .iter()
        .flat_map(|field| std::iter::once(field.name()).chain(field.alias()))
        .collect()
}
