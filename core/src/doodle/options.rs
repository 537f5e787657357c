//! The knobs of a style-transfer run, with the reference implementation's defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::encoder::{Layer, LayerName, parse_layer_names};
use crate::field::{
    Field, OptionValue, declare_options, distinct, field_table, parsed, renamed, require, weight,
    within,
};
use crate::{Error, Result};

/// The methods an option applies to, by name (as the option table holds them).
const ALL: &[&str] = &[
    Method::Patch.name(),
    Method::Optimize.name(),
    Method::Hybrid.name(),
];
/// Options of the optimisation (patch synthesis ignores them).
const OPTIMIZING: &[&str] = &[Method::Optimize.name(), Method::Hybrid.name()];
/// Options of patch synthesis (the optimisation ignores them).
const PATCHING: &[&str] = &[Method::Patch.name(), Method::Hybrid.name()];

/// Where the optimisation starts in the first phase (later phases always start from the
/// previous phase's result, upscaled).
///
/// ```
/// use stylemark::doodle::Seed;
/// assert_eq!("content".parse::<Seed>()?, Seed::Content);
/// assert_eq!(Seed::default(), Seed::Noise);
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seed {
    /// Uniform noise in [`DoodleOptions::seed_range`].
    #[default]
    Noise,
    /// The content image itself (requires one).
    Content,
    /// The seed image given in the request ([`DoodleRequest::seed_image`](super::DoodleRequest)).
    Image,
}

impl std::str::FromStr for Seed {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "noise" => Ok(Seed::Noise),
            "content" => Ok(Seed::Content),
            "image" => Ok(Seed::Image),
            other => Err(Error::option(
                "seed",
                format!("`{other}` is not a seed; use noise, content, or pass an image path"),
            )),
        }
    }
}

/// The optimiser that updates the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Optimizer {
    /// L-BFGS with box bounds on the pixel values, as the reference (L-BFGS-B).
    Lbfgs {
        /// Number of past steps remembered (the reference uses 5).
        history: usize,
    },
    /// Adam with a fixed step size, in pixel units (0-255).
    Adam {
        /// Step size; 4 is a good start.
        learning_rate: f32,
    },
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer::Lbfgs { history: 5 }
    }
}

impl std::str::FromStr for Optimizer {
    type Err = Error;

    /// `lbfgs` (history 5, as the reference) or `adam` (step size 4).
    ///
    /// ```
    /// use stylemark::doodle::Optimizer;
    /// assert_eq!("adam".parse::<Optimizer>()?, Optimizer::Adam { learning_rate: 4.0 });
    /// assert!("sgd".parse::<Optimizer>().is_err());
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    fn from_str(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "lbfgs" | "l-bfgs" => Ok(Optimizer::default()),
            "adam" => Ok(Optimizer::Adam { learning_rate: 4.0 }),
            other => Err(Error::option(
                "optimizer",
                format!("`{other}` is not an optimiser; use lbfgs or adam"),
            )),
        }
    }
}

/// How the painting is made. The default is [`Method::Patch`] for every mode: measured
/// (docs/PERFORMANCE.md), it paints doodles, textures and photos in seconds, sharper than
/// the optimisation with the built-in encoder, which needs minutes.
///
/// ```
/// use stylemark::doodle::Method;
/// assert_eq!("patch".parse::<Method>()?, Method::Patch);
/// assert_eq!(Method::default(), Method::Patch);
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The reference algorithm: optimise the pixels against the encoder's losses.
    Optimize,
    /// Guided patch synthesis (the default): the output is assembled from the style's own
    /// patches, matched by PatchMatch under the maps and the content's luminance and edges,
    /// and blended by voting, coarse to fine. Seconds instead of minutes, and sharp; it
    /// cannot invent what the style lacks.
    #[default]
    Patch,
    /// Patch synthesis, then the optimisation at full size starting from it (only the
    /// last phase, `iterations` evaluations): the content loss pulls a photo's structure
    /// back while the strokes stay.
    Hybrid,
}

impl Method {
    /// The method's name (`optimize`, `patch`, `hybrid`).
    pub const fn name(self) -> &'static str {
        match self {
            Method::Optimize => "optimize",
            Method::Patch => "patch",
            Method::Hybrid => "hybrid",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "optimize" | "optimise" => Ok(Method::Optimize),
            "patch" => Ok(Method::Patch),
            "hybrid" => Ok(Method::Hybrid),
            other => Err(Error::option(
                "method",
                format!("`{other}` is not a method; use optimize, patch or hybrid"),
            )),
        }
    }
}

/// A default layer, by name.
fn layer(name: &str) -> LayerName {
    LayerName::Standard(name.parse::<Layer>().expect("a valid default layer"))
}

declare_options! {
    /// Options of a style-transfer run. The defaults are those of the reference
    /// implementation (`doodle.py`), except [`method`](Self::method): patch synthesis,
    /// which ignores the optimiser's options (`phases`, `iterations`, ...; a run that
    /// sets them without `method = optimize` or `hybrid` says so in its report's
    /// warnings). [`DoodleOptions::fields`] lists them for help texts and bindings.
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
    pub struct DoodleOptions {
    /// How the painting is made: patch synthesis (the default), the reference
    /// optimisation, or both.
    method: Method = Method::Patch, for ALL, in "Method";
    /// Side of the square patches patch synthesis matches (odd, 3 to 15).
    patch_size: usize = 5, for PATCHING, in "Patch synthesis",
        valid |size| require((3..=15).contains(size) && size % 2 == 1, "must be odd, from 3 to 15");
    /// Patch synthesis with a content image: how strongly the encoder's features of the
    /// content steer which style patches go where, on the scale of `content_weight` (which
    /// weighs the content's luminance and edges). 0, the default, leaves them out: with the
    /// built-in encoder they cost strokes (see docs/DOODLE.md); 10-100 help a photo
    /// without maps find the painting's matching parts, at about twice the time.
    feature_weight: f32 = 0.0, for PATCHING, in "Photo", valid weight;
    /// With a content image, every method: how far the result goes from the photo (0) to
    /// the full painting (1, the default). Below 1 the tones and colours move towards the
    /// photo's in proportion while the strokes fade more slowly, so a half-strength
    /// result still looks painted rather than cross-faded.
    strength: f32 = 1.0, for ALL, in "Photo",
        valid |v| within(*v, 0.0..=1.0, "must be between 0 (the photo) and 1 (the full painting)");
    /// With a content image, every method: keep the photo's own colours and light, and
    /// take only the painting's strokes (its luminance texture).
    preserve_colors: bool = false, for ALL, in "Photo";
    /// Patch synthesis with a content image: how large the painting's strokes appear in
    /// the output (0.25 to 4). At 1, the default, an output larger than the painting
    /// takes its strokes in proportion (the painting's longer side spans the output's),
    /// so a 4032x3024 photo shows the same strokes, relative to the picture, as at
    /// 512 px; up to 1.25 times the painting's size it is copied pixel for pixel; 2
    /// doubles them. Outputs larger than the strokes need are painted at a working size
    /// and enlarged guided by the photo (docs/DOODLE.md), which keeps a 12 MP photo to
    /// about a second.
    stroke_scale: f32 = 1.0, for PATCHING, in "Photo",
        valid |v| within(*v, 0.25..=4.0, "must be between 0.25 and 4 (1 keeps the painting's strokes in proportion)");
    /// Coarse-to-fine passes; phase `i` of `n` works at 1/2^(n-1-i) of the output size.
    phases: usize = 3, for OPTIMIZING, in "Optimisation",
        valid |n| require((1..=8).contains(n), "must be between 1 and 8");
    /// Loss evaluations per phase.
    iterations: usize = 100, for OPTIMIZING, in "Optimisation",
        valid |n| require(*n >= 1, "must be at least 1");
    /// Weight of the content loss.
    content_weight: f32 = 10.0, for ALL, in "Style and content", valid weight;
    /// Layers whose activations the content loss compares: stylemark's names (`conv4_2`)
    /// or, with an ONNX encoder, the file's node or output names (`stylemark info`).
    #[serde(deserialize_with = "layer_list")]
    content_layers: Vec<LayerName> = vec![layer("conv4_2")], for OPTIMIZING, in "Style and content",
        valid |layers| distinct(layers);
    /// Weight of the patch-based (MRF) style loss.
    style_weight: f32 = 25.0, for OPTIMIZING, in "Style and content", valid weight;
    /// Layers whose 3x3 patches are matched against the style's: stylemark's names or,
    /// with an ONNX encoder, the file's node or output names.
    #[serde(deserialize_with = "layer_list")]
    style_layers: Vec<LayerName> = vec![layer("conv3_1"), layer("conv4_1")], for ALL,
        in "Style and content",
        valid |layers| require(!layers.is_empty(), "needs at least one layer").and_then(|()| distinct(layers));
    /// How strongly the semantic maps steer the matching (0 ignores them).
    semantic_weight: f32 = 10.0, for ALL, in "Style and content", valid weight;
    /// Weight of the total-variation smoothness term (exponent 1.25).
    smoothness: f32 = 1.0, for OPTIMIZING, in "Optimisation", valid weight;
    /// How strongly patches already used are avoided, to spread the choice (0 to 1).
    variety: f32 = 0.0, for OPTIMIZING, in "Optimisation",
        valid |v| within(*v, 0.0..=1.0, "must be between 0 and 1");
    /// On GPU devices the style patches are matched in at least this many batches, to
    /// bound memory (more batches are used automatically when one would exceed 128 MB).
    /// CPU devices search in small tiles and ignore it.
    slices: usize = 2, for OPTIMIZING, in "Optimisation",
        valid |n| require(*n >= 1, "must be at least 1");
    /// Find the nearest style patches every this many evaluations and reuse them in
    /// between. 1 (the default) matches at every evaluation, as the reference does; matches
    /// change slowly, so 5-10 paints nearly the same in a fraction of the time, since
    /// matching is most of the work.
    rematch_every: usize = 1, for OPTIMIZING, in "Optimisation",
        valid |n| require(*n >= 1, "must be at least 1 (1 matches at every evaluation)");
    /// Starting point of the first phase: `noise`, `content`, or an image to start from
    /// (a path on the CLI, an image or path in Python, `image` with the request's
    /// `seed_image` in Rust).
    seed: Seed = Seed::Noise, for OPTIMIZING, in "Optimisation";
    /// Range of the uniform noise seed, in pixel values (`LOW:HIGH` as text).
    seed_range: (u8, u8) = (16, 240), for OPTIMIZING, in "Optimisation",
        valid |(low, high)| require(low <= high, "the low end must not exceed the high end");
    /// Seed of the random generator; unset picks one and reports it (same inputs, options
    /// and seed on the same device give the same pixels).
    random_seed: Option<u64> = None, for ALL, in "Method";
    /// Longest side of the working resolution; larger inputs are scaled down (maps with
    /// nearest-neighbour, so their colours stay exact). Unset keeps the input size.
    max_size: Option<u32> = None, for ALL, in "Method",
        valid |size| require(size.is_none_or(|s| s >= 16), "must be at least 16 pixels");
    /// The optimiser: `lbfgs` (history 5, as the reference) or `adam` (step size 4).
    optimizer: Optimizer = Optimizer::default(), for OPTIMIZING, in "Optimisation",
        valid |optimizer| match optimizer {
        Optimizer::Lbfgs { history } => require((1..=100).contains(history), "history must be between 1 and 100"),
        Optimizer::Adam { learning_rate } => require(
            learning_rate.is_finite() && *learning_rate > 0.0,
            "learning_rate must be a positive number",
        ),
    };
    /// Wall-clock budget for the whole run, in seconds. When it runs out, the best image
    /// so far is returned with the status `time_budget_exhausted`.
    #[serde(with = "optional_seconds")]
    time_budget: Option<Duration> = None, for ALL, in "Method",
        valid |budget| require(budget.is_none_or(|b| !b.is_zero()), "must be more than 0 seconds");
    }
}

impl DoodleOptions {
    /// Every option: its name, documentation, default, check and the methods that use it
    /// (the option table every entry point reads).
    ///
    /// ```
    /// use stylemark::doodle::DoodleOptions;
    /// let names: Vec<_> = DoodleOptions::fields().iter().map(|f| f.name()).collect();
    /// assert_eq!(names[0], "method");
    /// assert!(names.contains(&"preserve_colors"));
    /// let patch_size = DoodleOptions::field("patch-size").unwrap();
    /// assert_eq!(patch_size.default_text().as_deref(), Some("5"));
    /// assert!(!patch_size.applies_to("optimize"));
    /// ```
    pub fn fields() -> &'static [Field<DoodleOptions>] {
        field_table!(DoodleOptions, Self::declared_fields)
    }

    /// The option called `name` (`-` and `_` alike), if there is one.
    pub fn field(name: &str) -> Option<&'static Field<DoodleOptions>> {
        let name = name.trim().replace('-', "_");
        Self::fields().iter().find(|field| field.name() == name)
    }

    /// Checks every option, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        Self::fields()
            .iter()
            .try_for_each(|field| field.check(self))
    }

    /// The options set away from their defaults that `method` does not use, by their
    /// names (for the report's warnings).
    pub(crate) fn unused_options(&self) -> Vec<&'static str> {
        let defaults = DoodleOptions::default();
        Self::fields()
            .iter()
            .filter(|field| !field.applies_to(self.method.name()) && field.differs(self, &defaults))
            .map(|field| field.name())
            .collect()
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
        renamed(parse_seed_range(text), name)
    }
    fn to_text(&self) -> Option<String> {
        Some(format!("{}:{}", self.0, self.1))
    }
}

impl OptionValue for Duration {
    fn from_text(text: &str, name: &str) -> Result<Self> {
        time_budget(parsed(text, name, "number of seconds")?, name)
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

/// A list of layer names in JSON: an array of names, or one string with the names
/// separated by commas, as the command line takes them.
fn layer_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<LayerName>, D::Error> {
    struct Names;
    impl<'de> serde::de::Visitor<'de> for Names {
        type Value = Vec<LayerName>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of layer names, or one string of names separated by commas")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> std::result::Result<Self::Value, E> {
            crate::encoder::parse_layer_names(text).map_err(E::custom)
        }

        /// A bare number, as a C caller's `"123"` reads in JSON: the name of a node
        /// numbered by its exporter.
        fn visit_u64<E: serde::de::Error>(
            self,
            number: u64,
        ) -> std::result::Result<Self::Value, E> {
            self.visit_str(&number.to_string())
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut items: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut names = Vec::new();
            while let Some(name) = items.next_element::<LayerName>()? {
                names.push(name);
            }
            Ok(names)
        }
    }
    deserializer.deserialize_any(Names)
}

/// The longest time budget accepted: a year, in seconds. Anything longer is a mistake
/// (and 1e20 seconds does not fit a `Duration` at all).
pub const MAX_TIME_BUDGET_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// Parses `LOW:HIGH` (`16:240`), as `--seed-range` takes it.
///
/// ```
/// assert_eq!(stylemark::doodle::parse_seed_range("16:240")?, (16, 240));
/// assert!(stylemark::doodle::parse_seed_range("16-240").is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn parse_seed_range(text: &str) -> Result<(u8, u8)> {
    let bad = |reason: String| Error::option("seed_range", reason);
    let (low, high) = text
        .split_once(':')
        .ok_or_else(|| bad(format!("`{text}` is not LOW:HIGH, e.g. 16:240")))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u8>()
            .map_err(|_| bad(format!("`{s}` is not a value from 0 to 255")))
    };
    Ok((parse(low)?, parse(high)?))
}

/// A time budget given in seconds, as every entry point takes it: a positive, finite
/// number of at most [`MAX_TIME_BUDGET_SECONDS`]. Otherwise an option error naming
/// `name` (the caller's spelling of the option).
///
/// ```
/// use stylemark::doodle::time_budget;
/// assert_eq!(time_budget(1.5, "time_budget")?.as_millis(), 1500);
/// for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e20, 1e300] {
///     assert!(time_budget(bad, "time_budget").is_err());
/// }
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn time_budget(seconds: f64, name: &str) -> crate::Result<Duration> {
    let in_range = seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIME_BUDGET_SECONDS;
    if let (true, Ok(budget)) = (in_range, Duration::try_from_secs_f64(seconds)) {
        return Ok(budget);
    }
    Err(crate::Error::option(
        name,
        format!(
            "must be a positive number of seconds, at most {MAX_TIME_BUDGET_SECONDS} (a year); got {seconds}"
        ),
    ))
}

/// Serialises an optional duration as seconds (a JSON number), as the job format uses.
pub(crate) mod optional_seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => serializer.serialize_some(&d.as_secs_f64()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        let seconds = Option::<f64>::deserialize(deserializer)?;
        seconds
            .map(|s| super::time_budget(s, "time_budget"))
            .transpose()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value away from the default, for the options some method ignores.
    fn changed(name: &str) -> &'static str {
        match name {
            "phases" => "2",
            "iterations" | "rematch_every" | "slices" | "patch_size" => "7",
            "feature_weight" | "style_weight" | "smoothness" => "3",
            "variety" => "0.5",
            "stroke_scale" => "2",
            "content_layers" => "conv3_1",
            "seed" => "content",
            "seed_range" => "0:255",
            "optimizer" => "adam",
            other => panic!("give {other} a changed value here"),
        }
    }

    #[test]
    fn an_option_set_for_a_method_that_ignores_it_is_warned_about_by_name() {
        for spec in DoodleOptions::fields() {
            if spec.methods().len() == ALL.len() {
                continue;
            }
            for method in [Method::Patch, Method::Optimize, Method::Hybrid] {
                let mut options = DoodleOptions::default().method(method);
                spec.set_from_text(&mut options, changed(spec.name()))
                    .unwrap();
                options.validate().unwrap();
                let warned = options.unused_options().contains(&spec.name());
                assert_eq!(
                    warned,
                    !spec.applies_to(method.name()),
                    "{} with {method:?}",
                    spec.name()
                );
            }
        }
    }
}
