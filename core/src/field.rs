//! Options as text fields: how an HTML form, a query string and the command line spell
//! the options of the watermark operations, from the one declaration of each option next
//! to its struct (`declare_options!`). The struct, its `Default`, its setters and its
//! text fields all come from that declaration, so a new option is one entry plus its
//! logic. (Doodle options have a richer table of their own,
//! [`OptionSpec`](crate::doodle::OptionSpec), which adds the methods each one applies to.)
//!
//! ```
//! use stylemark::watermark::visible::TextOptions;
//!
//! let fields = TextOptions::fields();
//! let size = fields.iter().find(|f| f.name() == "size").unwrap();
//! assert_eq!(size.default_text().as_deref(), Some("5%"));
//! let mut options = TextOptions::default();
//! size.set_from_text(&mut options, "32px")?;
//! assert_eq!(options.size.to_string(), "32px");
//! let err = size.set_from_text(&mut options, "big").unwrap_err();
//! assert!(err.to_string().contains("`size`"), "{err}");
//! # Ok::<(), stylemark::Error>(())
//! ```

use std::sync::Arc;

use crate::{Error, Result};

/// A setter from text, shared by the fields lifted into several option structs.
type Setter<O> = Arc<dyn Fn(&mut O, &str) -> Result<()> + Send + Sync>;

/// One option as a text field: its name (`snake_case`, the spelling of JSON, Python, C,
/// the form and every error; the CLI flag is the same in `kebab-case`), an older spelling
/// still accepted, its documentation, its default as text and how to set it from text.
pub struct Field<O> {
    name: &'static str,
    alias: Option<&'static str>,
    /// The doc comment's lines as one paragraph.
    doc: String,
    is_flag: bool,
    default_text: Option<String>,
    set: Setter<O>,
}

impl<O> Clone for Field<O> {
    fn clone(&self) -> Self {
        Field {
            name: self.name,
            alias: self.alias,
            doc: self.doc.clone(),
            is_flag: self.is_flag,
            default_text: self.default_text.clone(),
            set: Arc::clone(&self.set),
        }
    }
}

impl<O> std::fmt::Debug for Field<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .field("default", &self.default_text)
            .finish_non_exhaustive()
    }
}

impl<O: 'static> Field<O> {
    /// A field that sets a value of type `T`, parsed by its [`OptionValue`] impl.
    pub(crate) fn typed<T: OptionValue + 'static>(
        name: &'static str,
        alias: Option<&'static str>,
        doc: &'static str,
        default: &T,
        set: fn(&mut O, T),
    ) -> Self {
        Field {
            name,
            alias,
            doc: one_paragraph(doc),
            is_flag: T::IS_FLAG,
            default_text: default.to_text(),
            set: Arc::new(move |options, text| {
                set(options, T::from_text(text, name)?);
                Ok(())
            }),
        }
    }

    /// A field spelled differently from the struct (an on/off flag that clears a value, a
    /// part of a nested value): its own logic in `set`.
    pub(crate) fn custom(
        name: &'static str,
        doc: &'static str,
        is_flag: bool,
        default_text: Option<String>,
        set: impl Fn(&mut O, &str) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        Field {
            name,
            alias: None,
            doc: one_paragraph(doc),
            is_flag,
            default_text,
            set: Arc::new(set),
        }
    }

    /// The same field on a struct `P` that holds an `O` (a placement inside text options).
    pub(crate) fn lift<P: 'static>(self, part: fn(&mut P) -> &mut O) -> Field<P> {
        let set = self.set;
        Field {
            name: self.name,
            alias: self.alias,
            doc: self.doc,
            is_flag: self.is_flag,
            default_text: self.default_text,
            set: Arc::new(move |options, text| set(part(options), text)),
        }
    }

    /// The field's name, `snake_case`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// An older spelling accepted as well (`rotate` for `rotation`).
    pub fn alias(&self) -> Option<&'static str> {
        self.alias
    }

    /// The field's documentation, one paragraph.
    pub fn doc(&self) -> &str {
        &self.doc
    }

    /// The documentation's first sentence, for one-line help.
    pub fn summary(&self) -> &str {
        summary(self.doc())
    }

    /// Whether the field is on/off (a CLI flag without a value).
    pub fn is_flag(&self) -> bool {
        self.is_flag
    }

    /// The default as text (as the form and the CLI write it), `None` when unset.
    pub fn default_text(&self) -> Option<String> {
        self.default_text.clone()
    }

    /// Sets the option in `options` from text, as the form and the CLI give it; a bad
    /// value is an option error naming the field. Ranges are checked by the options'
    /// `validate`, not here.
    pub fn set_from_text(&self, options: &mut O, text: &str) -> Result<()> {
        (self.set)(options, text)
    }
}

/// A doc comment's lines as one paragraph.
fn one_paragraph(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first sentence of `doc`.
pub(crate) fn summary(doc: &str) -> &str {
    let end = doc
        .char_indices()
        .find(|&(i, c)| c == '.' && doc[i + 1..].starts_with([' ', '\n']))
        .map_or(doc.len(), |(i, _)| i + 1);
    &doc[..end]
}

/// Sets every field of `fields` that `lookup` finds a value for, in the table's order
/// (so a field that refines another, like `outline_width`, comes after it). A field given
/// under both its name and its alias is an error.
pub(crate) fn apply<'a, O: 'static>(
    options: &mut O,
    fields: &[Field<O>],
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Result<()> {
    for field in fields {
        let by_alias = field.alias.and_then(&lookup);
        let value = match (lookup(field.name), by_alias) {
            // Errors name the spelling the caller wrote.
            (None, Some(value)) => {
                let alias = field.alias.unwrap_or(field.name);
                renamed(field.set_from_text(options, value), alias)?;
                continue;
            }
            (Some(_), Some(_)) => {
                return Err(Error::option(
                    field.name,
                    format!(
                        "is the same as `{}`; give one of them",
                        field.alias.unwrap_or_default()
                    ),
                ));
            }
            (value, by_alias) => value.or(by_alias),
        };
        if let Some(value) = value {
            field.set_from_text(options, value)?;
        }
    }
    Ok(())
}

/// A type an option may have: parsed from the text of a form field or a CLI flag, and
/// written back as text for help and docs.
pub(crate) trait OptionValue: Sized {
    /// On/off options are flags: present means on.
    const IS_FLAG: bool = false;
    /// Parses `text`; errors name the option `name`.
    fn from_text(text: &str, name: &str) -> Result<Self>;
    /// The value as text; `None` for an unset optional value.
    fn to_text(&self) -> Option<String>;
}

/// `text` parsed by `T`'s `FromStr`; an error names the option and the kind of value.
pub(crate) fn parsed<T: std::str::FromStr>(text: &str, name: &str, kind: &str) -> Result<T> {
    text.trim()
        .parse()
        .map_err(|_| Error::option(name, format!("`{text}` is not a valid {kind}")))
}

/// The option's own error, renamed to the option (a type's parser names itself).
pub(crate) fn renamed<T>(outcome: Result<T>, name: &str) -> Result<T> {
    outcome.map_err(|error| match error {
        Error::InvalidOption { reason, .. } => Error::option(name, reason),
        other => other,
    })
}

/// [`OptionValue`] for types whose `FromStr` error is a plain parse failure.
macro_rules! option_value_by_from_str {
    ($($ty:ty => $kind:literal),* $(,)?) => {$(
        impl OptionValue for $ty {
            fn from_text(text: &str, name: &str) -> Result<Self> {
                parsed(text, name, $kind)
            }
            fn to_text(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}

/// [`OptionValue`] for stylemark types whose `FromStr` error already says what to give.
macro_rules! option_value_by_own_parser {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::field::OptionValue for $ty {
            fn from_text(text: &str, name: &str) -> $crate::Result<Self> {
                $crate::field::renamed(text.parse(), name)
            }
            fn to_text(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}

pub(crate) use option_value_by_own_parser;

/// `Serialize` and `Deserialize` as the type's text form (`Display` and `FromStr`), so JSON
/// holds what the command line takes and is checked by the same parser.
macro_rules! serde_by_text {
    ($($ty:ty),* $(,)?) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    )*};
}

pub(crate) use serde_by_text;

option_value_by_from_str!(f32 => "number", usize => "whole number", u32 => "whole number", u64 => "whole number");

impl OptionValue for bool {
    const IS_FLAG: bool = true;
    fn from_text(text: &str, name: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "1" | "true" | "on" | "yes" => Ok(true),
            "0" | "false" | "off" | "no" => Ok(false),
            other => Err(Error::option(
                name,
                format!("`{other}` is not on or off; use true or false"),
            )),
        }
    }
    fn to_text(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl<T: OptionValue> OptionValue for Option<T> {
    fn from_text(text: &str, name: &str) -> Result<Self> {
        T::from_text(text, name).map(Some)
    }
    fn to_text(&self) -> Option<String> {
        self.as_ref().and_then(T::to_text)
    }
}

/// Declares an options struct whose options are also text fields: for each, its doc
/// comment, `name: Type = default` (`name | alias: ...` for an older spelling still
/// accepted as text); then, after `carried`, fields that are not text fields (nested
/// values spelled by custom fields, limits set by the caller), with their attributes.
/// Generates the struct (`#[non_exhaustive]`), its `Default`, one setter per field and
/// `typed_fields()`, the text fields of the declared options in order.
macro_rules! declare_options {
    (
        $(#[$meta:meta])*
        pub struct $struct:ident {
            $(
                $(#[doc = $doc:literal])+
                $name:ident $(| $alias:ident)?: $ty:ty = $default:expr;
            )*
            carried {
                $(
                    $(#[$carried_meta:meta])*
                    $carried:ident: $carried_ty:ty = $carried_default:expr;
                )*
            }
        }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        pub struct $struct {
            $(
                $(#[doc = $doc])+
                pub $name: $ty,
            )*
            $(
                $(#[$carried_meta])*
                pub $carried: $carried_ty,
            )*
        }

        impl Default for $struct {
            fn default() -> Self {
                $struct {
                    $($name: $default,)*
                    $($carried: $carried_default,)*
                }
            }
        }

        /// Setters, one per field, so options can be built outside this crate although
        /// the struct may gain fields.
        impl $struct {
            $(
                #[doc = concat!("Sets [`", stringify!($name), "`](Self::", stringify!($name), ").")]
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
            $(
                #[doc = concat!("Sets [`", stringify!($carried), "`](Self::", stringify!($carried), ").")]
                #[must_use]
                pub fn $carried(mut self, value: $carried_ty) -> Self {
                    self.$carried = value;
                    self
                }
            )*

            /// The text fields of the options declared with a type, in order.
            fn typed_fields() -> Vec<$crate::field::Field<Self>> {
                let defaults = Self::default();
                vec![$(
                    $crate::field::Field::typed(
                        stringify!($name),
                        $crate::field::declare_options!(@alias $($alias)?),
                        concat!($($doc, "\n"),+),
                        &defaults.$name,
                        |options: &mut Self, value| options.$name = value,
                    ),
                )*]
            }
        }
    };
    (@alias) => { None };
    (@alias $alias:ident) => { Some(stringify!($alias)) };
}

pub(crate) use declare_options;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_the_first_sentence() {
        assert_eq!(summary("Opacity, 0 to 1. More text."), "Opacity, 0 to 1.");
        assert_eq!(summary("Version 1.5 of it"), "Version 1.5 of it");
    }

    #[test]
    fn apply_takes_the_alias_and_refuses_both_spellings() {
        #[derive(Default)]
        struct Angle(f32);
        let fields = [Field::typed(
            "rotation",
            Some("rotate"),
            "Degrees.",
            &0.0,
            |a: &mut Angle, v| a.0 = v,
        )];
        let mut angle = Angle::default();
        apply(&mut angle, &fields, |name| {
            (name == "rotate").then_some("-30")
        })
        .unwrap();
        assert_eq!(angle.0, -30.0);
        let both = apply(&mut angle, &fields, |_| Some("1")).unwrap_err();
        assert!(both.to_string().contains("`rotate`"), "{both}");
        let bad = apply(&mut angle, &fields, |name| {
            (name == "rotation").then_some("x")
        });
        let bad = bad.unwrap_err();
        assert!(bad.to_string().contains("`rotation`"), "{bad}");
        // Given under its alias, the error names the alias.
        let bad = apply(&mut angle, &fields, |name| {
            (name == "rotate").then_some("x")
        });
        let bad = bad.unwrap_err();
        assert!(bad.to_string().contains("`rotate`"), "{bad}");
    }
}
