//! The knobs of a style-transfer run, with the reference implementation's defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::encoder::Layer;
use crate::{Error, Result};

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
    pub fn name(self) -> &'static str {
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

/// Options of a style-transfer run. The defaults are those of the reference
/// implementation (`doodle.py`), except [`method`](Self::method): patch synthesis, which
/// ignores the optimiser's options (`phases`, `iterations`, ...; a run that sets them
/// without `method = optimize` or `hybrid` says so in its report's warnings).
///
/// ```
/// use stylemark::doodle::DoodleOptions;
///
/// let options = DoodleOptions { phases: 2, iterations: 20, ..DoodleOptions::default() };
/// options.validate()?;
/// assert_eq!(options.style_weight, 25.0);
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DoodleOptions {
    /// How the painting is made: patch synthesis (the default), the reference
    /// optimisation, or both.
    pub method: Method,
    /// Side of the square patches patch synthesis matches (odd, 3 to 15).
    pub patch_size: usize,
    /// Patch synthesis with a content image: how strongly the encoder's features of the
    /// content steer which style patches go where, on the scale of `content_weight` (which
    /// weighs the content's luminance and edges). 0, the default, leaves them out: with the
    /// built-in encoder they cost strokes (see docs/DOODLE.md); 10-100 help a photo
    /// without maps find the painting's matching parts, at about twice the time.
    pub feature_weight: f32,
    /// With a content image, every method: how far the result goes from the photo (0) to
    /// the full painting (1, the default). Below 1 the tones and colours move towards the
    /// photo's in proportion while the strokes fade more slowly, so a half-strength
    /// result still looks painted rather than cross-faded.
    pub strength: f32,
    /// With a content image, every method: keep the photo's own colours and light, and
    /// take only the painting's strokes (its luminance texture).
    pub preserve_colors: bool,
    /// Patch synthesis with a content image: how large the painting's strokes appear in
    /// the output (0.25 to 4). At 1, the default, an output larger than the painting
    /// takes its strokes in proportion (the painting's longer side spans the output's),
    /// so a 4032x3024 photo shows the same strokes, relative to the picture, as at
    /// 512 px; up to 1.25 times the painting's size it is copied pixel for pixel; 2
    /// doubles them. Outputs larger than the strokes need are painted at a working size
    /// and enlarged guided by the photo (docs/DOODLE.md), which keeps a 12 MP photo to
    /// about a second.
    pub stroke_scale: f32,
    /// Coarse-to-fine passes; phase `i` of `n` works at 1/2^(n-1-i) of the output size.
    pub phases: usize,
    /// Loss evaluations per phase.
    pub iterations: usize,
    /// Weight of the content loss.
    pub content_weight: f32,
    /// Layers whose activations the content loss compares.
    pub content_layers: Vec<Layer>,
    /// Weight of the patch-based (MRF) style loss.
    pub style_weight: f32,
    /// Layers whose 3x3 patches are matched against the style's.
    pub style_layers: Vec<Layer>,
    /// How strongly the semantic maps steer the matching (0 ignores them).
    pub semantic_weight: f32,
    /// Weight of the total-variation smoothness term (exponent 1.25).
    pub smoothness: f32,
    /// How strongly patches already used are avoided, to spread the choice (0 to 1).
    pub variety: f32,
    /// On GPU devices the style patches are matched in at least this many batches, to
    /// bound memory (more batches are used automatically when one would exceed 128 MB).
    /// CPU devices search in small tiles and ignore it.
    pub slices: usize,
    /// Find the nearest style patches every this many evaluations and reuse them in
    /// between. 1 (the default) matches at every evaluation, as the reference does; matches
    /// change slowly, so 5-10 paints nearly the same in a fraction of the time, since
    /// matching is most of the work.
    pub rematch_every: usize,
    /// Starting point of the first phase.
    pub seed: Seed,
    /// Range of the uniform noise seed, in pixel values.
    pub seed_range: (u8, u8),
    /// Seed of the random generator; `None` picks one and reports it.
    pub random_seed: Option<u64>,
    /// Longest side of the working resolution; larger inputs are scaled down (maps with
    /// nearest-neighbour, so their colours stay exact). `None` keeps the input size.
    pub max_size: Option<u32>,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Wall-clock budget for the whole run. When it runs out, the best image so far is
    /// returned with [`RunStatus::TimeBudgetExhausted`](super::RunStatus).
    #[serde(with = "optional_seconds")]
    pub time_budget: Option<Duration>,
}

impl Default for DoodleOptions {
    fn default() -> Self {
        let layer = |name: &str| name.parse::<Layer>().expect("valid default layer");
        DoodleOptions {
            method: Method::Patch,
            patch_size: 5,
            feature_weight: 0.0,
            strength: 1.0,
            preserve_colors: false,
            stroke_scale: 1.0,
            phases: 3,
            iterations: 100,
            content_weight: 10.0,
            content_layers: vec![layer("conv4_2")],
            style_weight: 25.0,
            style_layers: vec![layer("conv3_1"), layer("conv4_1")],
            semantic_weight: 10.0,
            smoothness: 1.0,
            variety: 0.0,
            slices: 2,
            rematch_every: 1,
            seed: Seed::Noise,
            seed_range: (16, 240),
            random_seed: None,
            max_size: None,
            optimizer: Optimizer::default(),
            time_budget: None,
        }
    }
}

impl DoodleOptions {
    /// Checks every option, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let check = |ok: bool, name: &str, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(Error::option(name, reason))
            }
        };
        check(
            (1..=8).contains(&self.phases),
            "phases",
            "must be between 1 and 8",
        )?;
        check(self.iterations >= 1, "iterations", "must be at least 1")?;
        check(
            (3..=15).contains(&self.patch_size) && self.patch_size % 2 == 1,
            "patch-size",
            "must be odd, from 3 to 15",
        )?;
        for (value, name) in [
            (self.content_weight, "content-weight"),
            (self.feature_weight, "feature-weight"),
            (self.style_weight, "style-weight"),
            (self.semantic_weight, "semantic-weight"),
            (self.smoothness, "smoothness"),
        ] {
            check(
                value.is_finite() && value >= 0.0,
                name,
                "must be a finite number, 0 or more",
            )?;
        }
        check(
            self.variety.is_finite() && (0.0..=1.0).contains(&self.variety),
            "variety",
            "must be between 0 and 1",
        )?;
        check(
            self.strength.is_finite() && (0.0..=1.0).contains(&self.strength),
            "strength",
            "must be between 0 (the photo) and 1 (the full painting)",
        )?;
        check(
            self.stroke_scale.is_finite() && (0.25..=4.0).contains(&self.stroke_scale),
            "stroke-scale",
            "must be between 0.25 and 4 (1 keeps the painting's strokes in proportion)",
        )?;
        check(
            !self.style_layers.is_empty(),
            "style-layers",
            "needs at least one layer",
        )?;
        // Each listed layer costs its own statistics and matches: a layer named twice only
        // multiplies the work (200 copies of conv1_1 once exhausted memory).
        for (name, layers) in [
            ("style-layers", &self.style_layers),
            ("content-layers", &self.content_layers),
        ] {
            let mut seen = std::collections::HashSet::new();
            if let Some(twice) = layers.iter().find(|layer| !seen.insert(**layer)) {
                return Err(Error::option(
                    name,
                    format!("lists {twice} more than once; name each layer once"),
                ));
            }
        }
        check(self.slices >= 1, "slices", "must be at least 1")?;
        check(
            self.rematch_every >= 1,
            "rematch-every",
            "must be at least 1 (1 matches at every evaluation)",
        )?;
        check(
            self.seed_range.0 <= self.seed_range.1,
            "seed-range",
            "the low end must not exceed the high end",
        )?;
        if let Some(size) = self.max_size {
            check(size >= 16, "max-size", "must be at least 16 pixels")?;
        }
        match self.optimizer {
            Optimizer::Lbfgs { history } => check(
                (1..=100).contains(&history),
                "history",
                "must be between 1 and 100",
            )?,
            Optimizer::Adam { learning_rate } => check(
                learning_rate.is_finite() && learning_rate > 0.0,
                "learning-rate",
                "must be a positive number",
            )?,
        }
        if let Some(budget) = self.time_budget {
            check(
                !budget.is_zero(),
                "time-budget",
                "must be more than 0 seconds",
            )?;
        }
        Ok(())
    }

    /// The options set away from their defaults that `method` does not use, by their
    /// option names (for the report's warnings).
    pub(crate) fn unused_options(&self) -> Vec<&'static str> {
        let defaults = DoodleOptions::default();
        let mut unused = Vec::new();
        let mut note = |differs: bool, name: &'static str| {
            if differs {
                unused.push(name);
            }
        };
        match self.method {
            Method::Patch => {
                note(self.phases != defaults.phases, "phases");
                note(self.iterations != defaults.iterations, "iterations");
                note(self.style_weight != defaults.style_weight, "style-weight");
                note(
                    self.content_layers != defaults.content_layers,
                    "content-layers",
                );
                note(self.smoothness != defaults.smoothness, "smoothness");
                note(self.variety != defaults.variety, "variety");
                note(self.slices != defaults.slices, "slices");
                note(
                    self.rematch_every != defaults.rematch_every,
                    "rematch-every",
                );
                note(self.seed != defaults.seed, "seed");
                note(self.seed_range != defaults.seed_range, "seed-range");
                note(self.optimizer != defaults.optimizer, "optimizer");
            }
            Method::Optimize => {
                note(self.patch_size != defaults.patch_size, "patch-size");
                note(
                    self.feature_weight != defaults.feature_weight,
                    "feature-weight",
                );
                note(self.stroke_scale != defaults.stroke_scale, "stroke-scale");
            }
            Method::Hybrid => {}
        }
        unused
    }

    /// The deepest layer any loss needs.
    pub(crate) fn deepest_layer(&self, with_content: bool) -> Layer {
        let content = if with_content {
            self.content_layers.as_slice()
        } else {
            &[]
        };
        Layer::deepest(&[self.style_layers.as_slice(), content].concat())
            .expect("style layers are not empty")
    }
}

/// The longest time budget accepted: a year, in seconds. Anything longer is a mistake
/// (and 1e20 seconds does not fit a `Duration` at all).
pub const MAX_TIME_BUDGET_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

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
