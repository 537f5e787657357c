//! The machinery behind the one declaration of every doodle option (in `options.rs`): from
//! it come the struct, its `Default`, its validation, the "ignored by this method"
//! warnings, the text parsing of the HTTP form and the CLI, the CLI's flags and the
//! Python keywords and docstring. Adding an option is one entry there plus its logic.

use std::time::Duration;

use super::options::{DoodleOptions, Method, Optimizer, Seed};
use crate::Result;
use crate::encoder::{LayerName, parse_layer_names};
pub(super) use crate::field::OptionValue;
use crate::field::{parsed, renamed};

/// One doodle option as every entry point sees it: its name (`snake_case`, the spelling
/// of JSON, Python, C, the HTTP form and every error; the CLI flag is the same in
/// `kebab-case`), its documentation, its default and the methods that use it.
///
/// ```
/// use stylemark::doodle::{DoodleOptions, Method};
///
/// let spec = DoodleOptions::spec("patch_size").unwrap();
/// assert_eq!(spec.default_text().as_deref(), Some("5"));
/// assert!(!spec.applies_to(Method::Optimize));
/// let mut options = DoodleOptions::default();
/// spec.set_from_text(&mut options, "7")?;
/// assert_eq!(options.patch_size, 7);
/// assert!(spec.set_from_text(&mut options, "seven").unwrap_err().to_string().contains("patch_size"));
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct OptionSpec {
    pub(super) name: &'static str,
    pub(super) doc: &'static str,
    pub(super) methods: &'static [Method],
    pub(super) is_flag: bool,
    pub(super) set: fn(&mut DoodleOptions, &str) -> Result<()>,
    pub(super) default_text: fn() -> Option<String>,
    pub(super) differs: fn(&DoodleOptions, &DoodleOptions) -> bool,
    pub(super) check: fn(&DoodleOptions) -> Result<()>,
}

impl std::fmt::Debug for OptionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptionSpec")
            .field("name", &self.name)
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

impl OptionSpec {
    /// The option's name, `snake_case`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The option's documentation (the struct field's doc comment).
    pub fn doc(&self) -> &'static str {
        self.doc.trim()
    }

    /// The documentation's first sentence, for one-line help.
    pub fn summary(&self) -> &'static str {
        crate::field::summary(self.doc())
    }

    /// The methods that use the option (setting it for another is warned about).
    pub fn methods(&self) -> &'static [Method] {
        self.methods
    }

    /// Whether `method` uses the option.
    pub fn applies_to(&self, method: Method) -> bool {
        self.methods.contains(&method)
    }

    /// Whether the option is on/off (a CLI flag without a value).
    pub fn is_flag(&self) -> bool {
        self.is_flag
    }

    /// The default as text (as the form and the CLI write it), `None` when unset.
    pub fn default_text(&self) -> Option<String> {
        (self.default_text)()
    }

    /// Sets the option in `options` from text, as the HTTP form and the CLI give it; a
    /// bad value is an option error naming it. The value is checked by
    /// [`DoodleOptions::validate`], not here.
    pub fn set_from_text(&self, options: &mut DoodleOptions, text: &str) -> Result<()> {
        (self.set)(options, text)
    }

    pub(super) fn check(&self, options: &DoodleOptions) -> Result<()> {
        (self.check)(options)
    }

    pub(super) fn differs(&self, a: &DoodleOptions, b: &DoodleOptions) -> bool {
        (self.differs)(a, b)
    }
}

impl OptionValue for Vec<LayerName> {
    fn from_text(text: &str, name: &str) -> Result<Self> {
        renamed(parse_layer_names(text), name)
    }
    fn to_text(&self) -> Option<String> {
        Some(
            self.iter()
                .map(LayerName::to_string)
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

impl OptionValue for (u8, u8) {
    fn from_text(text: &str, name: &str) -> Result<Self> {
        renamed(super::options::parse_seed_range(text), name)
    }
    fn to_text(&self) -> Option<String> {
        Some(format!("{}:{}", self.0, self.1))
    }
}

impl OptionValue for Duration {
    fn from_text(text: &str, name: &str) -> Result<Self> {
        super::options::time_budget(parsed(text, name, "number of seconds")?, name)
    }
    fn to_text(&self) -> Option<String> {
        Some(self.as_secs_f64().to_string())
    }
}

impl OptionValue for Method {
    fn from_text(text: &str, name: &str) -> Result<Self> {
        renamed(text.parse(), name)
    }
    fn to_text(&self) -> Option<String> {
        Some(self.name().to_string())
    }
}

impl OptionValue for Seed {
    fn from_text(text: &str, name: &str) -> Result<Self> {
        renamed(text.parse(), name)
    }
    fn to_text(&self) -> Option<String> {
        Some(format!("{self:?}").to_ascii_lowercase())
    }
}

impl OptionValue for Optimizer {
    fn from_text(text: &str, name: &str) -> Result<Self> {
        renamed(text.parse(), name)
    }
    fn to_text(&self) -> Option<String> {
        Some(
            match self {
                Optimizer::Lbfgs { .. } => "lbfgs",
                Optimizer::Adam { .. } => "adam",
            }
            .to_string(),
        )
    }
}

/// The methods an option applies to.
pub(super) const ALL: &[Method] = &[Method::Patch, Method::Optimize, Method::Hybrid];
/// Options of the optimisation (patch synthesis ignores them).
pub(super) const OPTIMIZING: &[Method] = &[Method::Optimize, Method::Hybrid];
/// Options of patch synthesis (the optimisation ignores them).
pub(super) const PATCHING: &[Method] = &[Method::Patch, Method::Hybrid];

/// Declares the doodle options: for each, its doc comment, optional serde attributes,
/// `name: Type = default`, the methods that use it and the check of its value (a closure
/// from `&Type` to `Result<(), String>`, the reason).
macro_rules! declare_doodle_options {
    ($(
        $(#[doc = $doc:literal])+
        $(#[serde($($serde:tt)*)])?
        $name:ident: $ty:ty = $default:expr, for $methods:expr, valid $check:expr;
    )+) => {
        /// Options of a style-transfer run. The defaults are those of the reference
        /// implementation (`doodle.py`), except [`method`](Self::method): patch synthesis,
        /// which ignores the optimiser's options (`phases`, `iterations`, ...; a run that
        /// sets them without `method = optimize` or `hybrid` says so in its report's
        /// warnings). [`DoodleOptions::specs`] lists them for help texts and bindings.
        ///
        /// ```
        /// use stylemark::doodle::DoodleOptions;
        ///
        /// let options = DoodleOptions::default().phases(2).iterations(20);
        /// options.validate()?;
        /// assert_eq!(options.style_weight, 25.0);
        /// # Ok::<(), stylemark::Error>(())
        /// ```
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        #[non_exhaustive]
        pub struct DoodleOptions {
            $(
                $(#[doc = $doc])+
                $(#[serde($($serde)*)])?
                pub $name: $ty,
            )+
        }

        impl Default for DoodleOptions {
            fn default() -> Self {
                DoodleOptions { $($name: $default,)+ }
            }
        }

        /// Setters, one per option, so options can be built outside this crate although
        /// the struct may gain fields: `DoodleOptions::default().phases(2).iterations(20)`.
        impl DoodleOptions {
            $(
                #[doc = concat!("Sets [`", stringify!($name), "`](Self::", stringify!($name), ").")]
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )+
        }

        /// Every option, in declaration order.
        const SPECS: &[$crate::doodle::OptionSpec] = &[$(
            $crate::doodle::OptionSpec {
                name: stringify!($name),
                doc: concat!($($doc, "\n"),+),
                methods: $methods,
                is_flag: <$ty as OptionValue>::IS_FLAG,
                set: |options, text| {
                    options.$name = <$ty as OptionValue>::from_text(text, stringify!($name))?;
                    Ok(())
                },
                default_text: || OptionValue::to_text(&DoodleOptions::default().$name),
                differs: |a, b| a.$name != b.$name,
                check: |options| {
                    let check: fn(&$ty) -> std::result::Result<(), String> = $check;
                    check(&options.$name).map_err(|reason| Error::option(stringify!($name), reason))
                },
            },
        )+];
    };
}

pub(super) use declare_doodle_options;

/// `Ok` when `ok`, else the reason.
pub(super) fn require(ok: bool, reason: &str) -> std::result::Result<(), String> {
    if ok { Ok(()) } else { Err(reason.to_string()) }
}

/// A finite weight, 0 or more.
pub(super) fn weight(value: &f32) -> std::result::Result<(), String> {
    require(
        value.is_finite() && *value >= 0.0,
        "must be a finite number, 0 or more",
    )
}

/// A finite number within `range`.
pub(super) fn within(
    value: f32,
    range: std::ops::RangeInclusive<f32>,
    reason: &str,
) -> std::result::Result<(), String> {
    require(value.is_finite() && range.contains(&value), reason)
}

/// A layer list naming each layer once: a layer named twice only multiplies the work
/// (200 copies of conv1_1 once exhausted memory).
pub(super) fn distinct<T: std::hash::Hash + Eq + std::fmt::Display>(
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
