//! The option table: every option of every operation (doodle, text and logo watermarks,
//! invisible marks) as a [`Field`]: its name, an older spelling, its type and default, its
//! check, its documentation, and for doodle options the methods it applies to. It comes
//! from the one declaration of each option next to its struct (`declare_options!`): the
//! struct, its `Default`, its setters, its validation and its fields all come from there,
//! so a new option is one entry plus its logic. The CLI's flags, the form's fields, the
//! job parser, Python's keywords and the docs read this one table.
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
/// A check of the option's value in a whole options struct.
type Checker<O> = Arc<dyn Fn(&O) -> Result<()> + Send + Sync>;
/// Whether two options structs differ in this option.
type Differ<O> = Arc<dyn Fn(&O, &O) -> bool + Send + Sync>;

/// One option as every entry point sees it: its name (`snake_case`, the spelling of JSON,
/// Python, C, the form and every error; the CLI flag is the same in `kebab-case`), an
/// older spelling still accepted, its documentation, its default as text, how to set it
/// from text, the check of its value, and the doodle methods it applies to.
pub struct Field<O> {
    name: &'static str,
    alias: Option<&'static str>,
    /// The doc comment's lines as one paragraph.
    doc: String,
    is_flag: bool,
    default_text: Option<String>,
    set: Setter<O>,
    methods: &'static [&'static str],
    group: Option<&'static str>,
    check: Option<Checker<O>>,
    differs: Option<Differ<O>>,
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
            methods: self.methods,
            group: self.group,
            check: self.check.clone(),
            differs: self.differs.clone(),
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
    /// A field holding a value of type `T` (read by `get`, written by `set`), parsed by
    /// its [`OptionValue`] impl.
    pub(crate) fn typed<T: OptionValue + PartialEq + 'static>(
        name: &'static str,
        alias: Option<&'static str>,
        doc: &'static str,
        default: &T,
        get: fn(&O) -> &T,
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
            methods: &[],
            group: None,
            check: None,
            differs: Some(Arc::new(move |a, b| get(a) != get(b))),
        }
    }

    /// The same field, checked by `check` (the reason a value is refused).
    pub(crate) fn checked<T: 'static>(
        mut self,
        get: fn(&O) -> &T,
        check: fn(&T) -> std::result::Result<(), String>,
    ) -> Self {
        let name = self.name;
        self.check = Some(Arc::new(move |options| {
            check(get(options)).map_err(|reason| Error::option(name, reason))
        }));
        self
    }

    /// The same field, used only by the doodle methods named in `methods`.
    pub(crate) fn for_methods(mut self, methods: &'static [&'static str]) -> Self {
        self.methods = methods;
        self
    }

    /// The same field, shown in help under `group`.
    pub(crate) fn in_group(mut self, group: &'static str) -> Self {
        self.group = Some(group);
        self
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
            methods: &[],
            group: None,
            check: None,
            differs: None,
        }
    }

    /// The same field on a struct `P` that holds an `O` (a placement inside text options),
    /// reached by `part` (to read) and `part_mut` (to write).
    pub(crate) fn lift<P: 'static>(
        self,
        part: fn(&P) -> &O,
        part_mut: fn(&mut P) -> &mut O,
    ) -> Field<P> {
        let (set, check, differs) = (self.set, self.check, self.differs);
        Field {
            name: self.name,
            alias: self.alias,
            doc: self.doc,
            is_flag: self.is_flag,
            default_text: self.default_text,
            set: Arc::new(move |options, text| set(part_mut(options), text)),
            methods: self.methods,
            group: self.group,
            check: check.map(|check| -> Checker<P> { Arc::new(move |p| check(part(p))) }),
            differs: differs
                .map(|differs| -> Differ<P> { Arc::new(move |a, b| differs(part(a), part(b))) }),
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
    /// `validate` (through [`check`](Self::check)), not here.
    pub fn set_from_text(&self, options: &mut O, text: &str) -> Result<()> {
        (self.set)(options, text)
    }

    /// The doodle methods (`patch`, `optimize`, `hybrid`) that use the option; empty for
    /// the options of other operations, which always apply.
    pub fn methods(&self) -> &'static [&'static str] {
        self.methods
    }

    /// The group the option is shown under in help (`Photo`, `Optimisation`, ...), if its
    /// declaration gives one.
    pub fn group(&self) -> Option<&'static str> {
        self.group
    }

    /// Whether `method` (a doodle method's name) uses the option.
    pub fn applies_to(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.contains(&method)
    }

    /// Checks the option's value in `options`; an option error names it.
    pub fn check(&self, options: &O) -> Result<()> {
        self.check.as_ref().map_or(Ok(()), |check| check(options))
    }

    /// Whether `a` and `b` differ in this option (`false` for fields spelled differently
    /// from the struct, whose values are other fields').
    pub fn differs(&self, a: &O, b: &O) -> bool {
        self.differs.as_ref().is_some_and(|differs| differs(a, b))
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

/// Declares an options struct and its option table. For each option: its doc comment,
/// optional `#[serde(...)]` attributes, `name: Type = default` (`name | alias: ...` for an
/// older spelling still accepted as text), then optionally `, for METHODS` (the doodle
/// methods' names that use it), `, in "Group"` (its heading in help) and `, valid CHECK` (a closure from `&Type` to
/// `Result<(), String>`, the reason). Then, in an optional `carried { ... }`, fields that
/// are not options of their own (nested values spelled by custom fields), with their
/// attributes. Generates the struct (`#[non_exhaustive]`), its `Default`, one setter per
/// field and `declared_fields()`, the declared options' [`Field`]s in order.
macro_rules! declare_options {
    (
        $(#[$meta:meta])*
        pub struct $struct:ident {
            $(
                $(#[doc = $doc:literal])+
                $(#[serde($($serde:tt)*)])*
                $name:ident $(| $alias:ident)?: $ty:ty = $default:expr
                    $(, for $methods:expr)? $(, in $group:literal)? $(, valid $check:expr)?;
            )*
            $(carried {
                $(
                    $(#[$carried_meta:meta])*
                    $carried:ident: $carried_ty:ty = $carried_default:expr;
                )*
            })?
        }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        pub struct $struct {
            $(
                $(#[doc = $doc])+
                $(#[serde($($serde)*)])*
                pub $name: $ty,
            )*
            $($(
                $(#[$carried_meta])*
                pub $carried: $carried_ty,
            )*)?
        }

        impl Default for $struct {
            fn default() -> Self {
                $struct {
                    $($name: $default,)*
                    $($($carried: $carried_default,)*)?
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
            $($(
                #[doc = concat!("Sets [`", stringify!($carried), "`](Self::", stringify!($carried), ").")]
                #[must_use]
                pub fn $carried(mut self, value: $carried_ty) -> Self {
                    self.$carried = value;
                    self
                }
            )*)?

            /// The declared options' fields, in order.
            fn declared_fields() -> Vec<$crate::field::Field<Self>> {
                let defaults = Self::default();
                vec![$(
                    $crate::field::Field::typed(
                        stringify!($name),
                        $crate::field::declare_options!(@alias $($alias)?),
                        concat!($($doc, "\n"),+),
                        &defaults.$name,
                        |options: &Self| &options.$name,
                        |options: &mut Self, value| options.$name = value,
                    )
                    $(.for_methods($methods))?
                    $(.in_group($group))?
                    $(.checked(|options: &Self| &options.$name, $check))?,
                )*]
            }
        }
    };
    (@alias) => { None };
    (@alias $alias:ident) => { Some(stringify!($alias)) };
}

/// A table built once: `fields()` of an options struct hands out `&'static` fields.
macro_rules! field_table {
    ($struct:ty, $build:expr) => {{
        static TABLE: std::sync::OnceLock<Vec<$crate::field::Field<$struct>>> =
            std::sync::OnceLock::new();
        TABLE.get_or_init($build).as_slice()
    }};
}

pub(crate) use declare_options;
pub(crate) use field_table;

// The checks options declare with `valid`: each gives the reason a value is refused.

/// `Ok` when `ok`, else the reason.
pub(crate) fn require(ok: bool, reason: &str) -> std::result::Result<(), String> {
    if ok { Ok(()) } else { Err(reason.to_string()) }
}

/// A finite weight, 0 or more.
pub(crate) fn weight(value: &f32) -> std::result::Result<(), String> {
    require(
        value.is_finite() && *value >= 0.0,
        "must be a finite number, 0 or more",
    )
}

/// A finite number within `range`.
pub(crate) fn within(
    value: f32,
    range: std::ops::RangeInclusive<f32>,
    reason: &str,
) -> std::result::Result<(), String> {
    require(value.is_finite() && range.contains(&value), reason)
}

/// A layer list naming each layer once: a layer named twice only multiplies the work
/// (200 copies of conv1_1 once exhausted memory).
pub(crate) fn distinct<T: std::hash::Hash + Eq + std::fmt::Display>(
    layers: &[T],
) -> std::result::Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    match layers.iter().find(|layer| !seen.insert(*layer)) {
        Some(twice) => Err(format!(
            "lists {twice} more than once; name each layer once"
        )),
        None => Ok(()),
    }
}

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
            |a: &Angle| &a.0,
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
