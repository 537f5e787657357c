//! The engine: a device and an encoder, built once and reused for many runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};

use super::compute_path::ComputePath;
use super::layers::RunLayers;
use super::maps::Labels;
use super::observe::{Frame, Losses, Observer, Progress, RunStatus};
use super::optimize::{Evaluation, Minimum, adam, lbfgs};
use super::options::{DoodleOptions, Method, Optimizer, Seed};
use super::phase::{LabelPlanes, PhaseInputs, PhaseProblem};
use super::report::{PhaseReport, Report};
use super::request::DoodleRequest;
use crate::encoder::{Encoder, EncoderSpec};
use crate::pixels::{fit_within, from_planar, image_tensor, resize, scaled, to_planar, to_rgb};
use crate::rng::SplitMix64;
use crate::{ComputeDevice, DeviceKind, Error, Limits, Result};

/// The result of a run: always an image, and how it ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DoodleOutcome {
    /// The painting, at the output size.
    pub image: RgbImage,
    /// Completed, or stopped early by the time budget or a cancellation.
    pub status: RunStatus,
    /// Figures of the run.
    pub report: Report,
}

impl DoodleOutcome {
    /// How the run ended and its figures, as every entry point reports them:
    /// `{"status": "completed", "report": {...}}`.
    pub fn report_json(&self) -> serde_json::Value {
        serde_json::json!({"status": self.status, "report": self.report})
    }
}

/// A device and an encoder, ready to paint. Build it once and reuse it (it is `Send` and
/// `Sync`): loading weights and initialising a GPU happen here, not per request.
///
/// ```
/// use stylemark::DeviceKind;
/// use stylemark::doodle::{DoodleOptions, DoodleRequest, Engine, Observer, RunStatus};
/// use stylemark::encoder::EncoderSpec;
/// use stylemark::image::{DynamicImage, RgbImage};
///
/// let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin)?;
/// let style = DynamicImage::ImageRgb8(RgbImage::from_fn(48, 48, |x, y| [(x * 5) as u8, (y * 5) as u8, 90].into()));
/// let request = DoodleRequest::new(style).output_size(40, 32);
/// let options = DoodleOptions::default().phases(1).iterations(3).random_seed(Some(1));
/// let outcome = engine.doodle(&request, &options, Observer::default())?;
/// assert_eq!((outcome.image.width(), outcome.image.height()), (40, 32));
/// assert_eq!(outcome.status, RunStatus::Completed);
/// # Ok::<(), stylemark::Error>(())
/// ```
pub struct Engine {
    device: ComputeDevice,
    autodiff: Device,
    encoder: Box<dyn Encoder>,
    /// Where evaluations run, decided here once (see [`ComputePath`]).
    path: ComputePath,
    /// Why a CPU device takes the tensor path, for the runs' reports.
    path_note: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("device", &self.device.description())
            .field("encoder", &self.encoder.describe())
            .field("path", &self.path)
            .finish()
    }
}

impl Engine {
    /// Opens the device and loads the encoder.
    pub fn new(device: DeviceKind, encoder: EncoderSpec) -> Result<Self> {
        let device = device.open()?;
        let encoder = encoder.open(&device)?;
        Ok(Self::with_encoder(device, encoder))
    }

    /// An engine around an encoder built by the caller (on `device.autodiff()`); public
    /// as [`burn_0_22::engine_with_encoder`](crate::burn_0_22::engine_with_encoder).
    pub(crate) fn with_encoder(device: ComputeDevice, encoder: Box<dyn Encoder>) -> Self {
        let autodiff = device.autodiff();
        let (path, path_note) = ComputePath::choose(device.kind(), encoder.as_ref());
        Engine {
            device,
            autodiff,
            encoder,
            path,
            path_note,
        }
    }

    /// Where this engine's evaluations run (chosen when it was built: on the host for a CPU
    /// device and an encoder with a host twin, else through burn's tensors).
    pub fn compute_path(&self) -> ComputePath {
        self.path
    }

    /// The same engine with its evaluations on `path`: [`ComputePath::Tensors`] runs a CPU
    /// device through burn's automatic differentiation (to compare it with the host path,
    /// or to debug), and [`ComputePath::Host`] needs a CPU device and an encoder with a host
    /// twin (else an option error).
    pub fn with_compute_path(mut self, path: ComputePath) -> Result<Self> {
        if path == ComputePath::Host
            && (self.device.kind() == DeviceKind::Wgpu || self.encoder.host().is_none())
        {
            return Err(Error::option(
                "compute_path",
                "host needs a CPU device (cpu or ndarray) and an encoder with a host twin",
            ));
        }
        self.path = path;
        self.path_note = None;
        Ok(self)
    }

    /// The device the engine runs on.
    pub fn device(&self) -> &ComputeDevice {
        &self.device
    }

    /// The encoder the engine runs through (public as
    /// [`burn_0_22::engine_encoder`](crate::burn_0_22::engine_encoder)).
    pub(crate) fn encoder(&self) -> &dyn Encoder {
        self.encoder.as_ref()
    }

    /// A one-line description of the encoder (name, options, weights source), for reports
    /// and logs.
    pub fn encoder_description(&self) -> String {
        self.encoder.describe()
    }

    /// Checks that this engine's encoder has the layers `options` name, as a run with (or
    /// without) a content image would: what a job checks for each doodle step before its
    /// first step runs. The run itself checks again.
    ///
    /// ```
    /// use stylemark::DeviceKind;
    /// use stylemark::doodle::{DoodleOptions, Engine};
    /// use stylemark::encoder::EncoderSpec;
    /// use stylemark::encoder::parse_layer_names;
    /// let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin)?;
    /// let options = DoodleOptions::default().style_layers(parse_layer_names("conv3_1,clip12")?);
    /// assert!(engine.check_layers(&options, true).is_err());
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn check_layers(&self, options: &DoodleOptions, with_content: bool) -> Result<()> {
        RunLayers::resolve(self.encoder.as_ref(), options, with_content).map(|_| ())
    }

    /// Paints `request` with `options`, within the default [`Limits`] (a
    /// [`Session`](crate::Session) paints within its own).
    ///
    /// Returns an image unless the inputs or options are invalid or the device fails: a
    /// run stopped by the time budget, the cancel token or the progress callback still
    /// returns the best image so far, with its [`RunStatus`].
    pub fn doodle(
        &self,
        request: &DoodleRequest,
        options: &DoodleOptions,
        observer: Observer<'_>,
    ) -> Result<DoodleOutcome> {
        self.doodle_within(request, options, observer, &Limits::default())
    }

    /// [`doodle`](Self::doodle) within `limits`.
    pub(crate) fn doodle_within(
        &self,
        request: &DoodleRequest,
        options: &DoodleOptions,
        mut observer: Observer<'_>,
        limits: &Limits,
    ) -> Result<DoodleOutcome> {
        // A panic must reach the caller as an error, never abort a server. On a GPU it is
        // most likely the device failing (out of memory, a driver fault); on a CPU device
        // nothing but a bug in stylemark panics, so it is reported as one.
        catch_unwind(AssertUnwindSafe(|| {
            Run::plan(self, request, options, limits)?.execute(&mut observer)
        }))
        .unwrap_or_else(|panic| {
            Err(match self.device.kind() {
                DeviceKind::Wgpu => Error::Compute {
                    device: self.device.kind().name().into(),
                    detail: crate::panic_message(&panic),
                },
                DeviceKind::Cpu | DeviceKind::Ndarray => Error::from_panic(&*panic),
            })
        })
    }
}

/// One phase's sizes.
struct PhasePlan {
    number: usize,
    size: (u32, u32),
    style_size: (u32, u32),
}

/// A validated run, ready to execute.
struct Run<'a> {
    engine: &'a Engine,
    options: &'a DoodleOptions,
    /// The options' layer names as the engine's encoder numbers them.
    layers: RunLayers,
    mode: super::request::Mode,
    target: (u32, u32),
    style: RgbImage,
    content: Option<RgbImage>,
    labels: Option<Labels>,
    seed_image: Option<RgbImage>,
    phases: Vec<PhasePlan>,
    random_seed: u64,
    warnings: Vec<String>,
}

impl<'a> Run<'a> {
    fn plan(
        engine: &'a Engine,
        request: &DoodleRequest,
        options: &'a DoodleOptions,
        limits: &Limits,
    ) -> Result<Self> {
        options.validate()?;
        let layers =
            RunLayers::resolve(engine.encoder.as_ref(), options, request.content.is_some())?;
        request.check_limits(limits)?;
        let mode = request.mode()?;
        if options.seed == Seed::Content && request.content.is_none() {
            return Err(Error::option("seed", "`content` needs a content image"));
        }
        if options.seed == Seed::Image && request.seed_image.is_none() {
            return Err(Error::option("seed", "`image` needs a seed image"));
        }
        let target = fit_within_size(request.target_size(), options.max_size);
        let style_size = fit_within_size(
            (request.style.width(), request.style.height()),
            options.max_size,
        );
        // The output counts as an image when its size is asked for (it is no input's),
        // and the optimiser's canvas (the painting and the style at their working sizes)
        // at the encoder's cost per pixel.
        let mut images = request.image_sizes();
        images.extend(request.output_size.map(|_| target));
        let pixels = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
        let canvas = match options.method {
            Method::Patch => 0,
            Method::Optimize | Method::Hybrid => pixels(target) + pixels(style_size),
        };
        limits.check_request_memory(
            images,
            canvas.saturating_mul(engine.encoder.working_bytes_per_pixel()),
        )?;
        let style = resize(&to_rgb(&request.style), style_size.0, style_size.1);
        let content = request
            .content
            .as_ref()
            .map(|c| resize(&to_rgb(c), target.0, target.1));
        let labels = match (&request.style_map, &request.content_map) {
            (Some(style_map), Some(content_map)) => Some(Labels::from_maps(
                &resize_map(style_map, style_size),
                &resize_map(content_map, target),
            )),
            _ => None,
        };
        let mut warnings = Vec::new();
        let uses_encoder = options.method != Method::Patch || options.feature_weight > 0.0;
        if let (true, Some(note)) = (uses_encoder, &engine.path_note) {
            warnings.push(note.clone());
        }
        let unused = options.unused_options();
        if !unused.is_empty() {
            let other = if options.method == Method::Optimize {
                "patch or hybrid"
            } else {
                "optimize or hybrid"
            };
            warnings.push(format!(
                "{} {} no effect with method {}; {} to method {other}",
                unused.join(", "),
                if unused.len() == 1 { "has" } else { "have" },
                options.method.name(),
                if unused.len() == 1 {
                    "it applies"
                } else {
                    "they apply"
                },
            ));
        }
        if content.is_none() {
            let defaults = DoodleOptions::default();
            let photo_only: Vec<&str> = [
                (options.strength != defaults.strength, "strength"),
                (options.preserve_colors, "preserve_colors"),
                (
                    options.stroke_scale != defaults.stroke_scale,
                    "stroke_scale",
                ),
            ]
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect();
            if !photo_only.is_empty() {
                warnings.push(format!(
                    "{} only apply to a content image (a photo); there is none, so they have no effect",
                    photo_only.join(" and ")
                ));
            }
        }
        if let Some(labels) = &labels {
            for colour in labels.missing_in_style() {
                warnings.push(format!(
                    "the target map has a region of colour #{:02x}{:02x}{:02x} that the style map lacks; \
                     it is painted from the features alone",
                    colour[0], colour[1], colour[2]
                ));
            }
        }
        let phases = if options.method == Method::Patch {
            Vec::new()
        } else {
            plan_phases(options, &layers, target, style_size, &mut warnings)?
        };
        let random_seed = options.random_seed.unwrap_or_else(fresh_seed);
        Ok(Run {
            engine,
            options,
            layers,
            mode,
            target,
            style,
            content,
            labels,
            seed_image: request.seed_image.as_ref().map(to_rgb),
            phases,
            random_seed,
            warnings,
        })
    }

    fn execute(self, observer: &mut Observer<'_>) -> Result<DoodleOutcome> {
        let started = Instant::now();
        let mut rng = SplitMix64::new(self.random_seed);
        let mut reports = Vec::new();
        let mut status = RunStatus::Completed;
        let (mut current, phases) = match self.options.method {
            Method::Optimize => (self.first_seed(&mut rng), &self.phases[..]),
            method => {
                let painted = self.paint_patches(started, observer)?;
                reports.extend(painted.levels);
                let rest = if painted.stopped {
                    status = stop_status(observer);
                    &self.phases[..0]
                } else if method == Method::Hybrid {
                    &self.phases[self.phases.len() - 1..]
                } else {
                    &self.phases[..0]
                };
                (painted.image, rest)
            }
        };
        for plan in phases {
            let start_pixels = to_planar(&resize(&current, plan.size.0, plan.size.1));
            let (minimum, report) = self.run_phase(plan, &start_pixels, started, observer)?;
            current = from_planar(&minimum.point, plan.size.0, plan.size.1);
            reports.push(report);
            if minimum.stopped {
                // The objective stops only when cancelled or out of time.
                status = stop_status(observer);
                break;
            }
        }
        let mut image = resize(&current, self.target.0, self.target.1);
        if let Some(content) = &self.content {
            image = super::photo::apply(
                image,
                content,
                self.options.strength,
                self.options.preserve_colors,
                self.stroke_magnification(),
            );
        }
        let report = Report {
            status,
            mode: self.mode,
            method: self.options.method,
            device: self.engine.device.description().to_string(),
            encoder: self.engine.encoder.describe(),
            compute_path: self.engine.path,
            random_seed: self.random_seed,
            width: self.target.0,
            height: self.target.1,
            seconds: started.elapsed().as_secs_f64(),
            labels: self.labels.as_ref().map(Labels::count),
            phases: reports,
            warnings: self.warnings,
        };
        Ok(DoodleOutcome {
            image,
            status,
            report,
        })
    }

    /// Patch synthesis at the output size, reporting each round as an evaluation.
    fn paint_patches(
        &self,
        started: Instant,
        observer: &mut Observer<'_>,
    ) -> Result<super::patch::PatchResult> {
        let patch = self.options.patch_size as u32;
        let smallest_style = self.style.width().min(self.style.height());
        if smallest_style < 3 * patch || self.target.0.min(self.target.1) < patch {
            return Err(Error::option(
                "size",
                format!(
                    "patch synthesis with {patch}x{patch} patches needs a style of at least {} pixels \
                     on each side and an output of at least {patch}; the style is {}x{}, the output {}x{}",
                    3 * patch,
                    self.style.width(),
                    self.style.height(),
                    self.target.0,
                    self.target.1
                ),
            ));
        }
        let encode = |image: &RgbImage| self.encode_features(image);
        let inputs = super::patch::PatchInputs {
            style: &self.style,
            content: self.content.as_ref(),
            labels: self.labels.as_ref(),
            target: self.target,
            encode: &encode,
        };
        let settings = super::patch::PatchSettings {
            patch_size: self.options.patch_size,
            label_weight: self.options.semantic_weight / 10.0,
            guide_weight: self.options.content_weight / 10.0,
            feature_weight: self.options.feature_weight / 10.0,
            preserve_colors: self.options.preserve_colors,
            stroke_scale: self.options.stroke_scale,
            seed: self.random_seed,
        };
        // A photo enlarged from a working size needs time after the last round.
        let enlarging = match self.content {
            Some(_) => super::patch::enlargement_time(
                self.target,
                self.style.dimensions(),
                self.options.stroke_scale,
            ),
            None => Duration::ZERO,
        };
        let mut last_round = Instant::now();
        let mut last_duration = Duration::ZERO;
        let result = super::patch::synthesize(&inputs, settings, |round| {
            last_duration = last_duration.max(last_round.elapsed());
            last_round = Instant::now();
            if round.round == 1 {
                // A new level: its rounds cost about four times the last level's.
                last_duration *= 4;
            }
            if observer.is_cancelled()
                || !self.within_budget(started, last_duration / 2 + enlarging)
            {
                return false;
            }
            let progress = Progress {
                phase: round.level,
                phases: round.levels,
                evaluation: round.round,
                evaluations: round.rounds,
                width: round.width,
                height: round.height,
                losses: Losses {
                    style: round.mean_cost,
                    total: round.mean_cost,
                    ..Losses::default()
                },
                elapsed: started.elapsed(),
            };
            let carry_on = observer
                .progress
                .as_mut()
                .is_none_or(|callback| callback(&progress));
            if !carry_on {
                observer
                    .cancel
                    .get_or_insert_with(Default::default)
                    .cancel();
            }
            carry_on
        })?;
        Ok(result)
    }

    /// The feature-guided term's activations: the shallowest style layer, the level at
    /// which the optimiser compares patches too.
    fn encode_features(&self, image: &RgbImage) -> Result<super::patch::FeatureMap> {
        let layer = self.layers.shallowest_style();
        if let (ComputePath::Host, Some(host)) = (self.engine.path, self.engine.encoder.host()) {
            let features = super::phase::encode_on_host(host, image, &[layer])?.remove(0);
            return Ok(super::patch::FeatureMap {
                channels: features.channels,
                width: features.width,
                height: features.height,
                values: features.values,
            });
        }
        let tensor = image_tensor(image, &self.engine.autodiff);
        let activations = self.engine.encoder.encode(tensor, &[layer])?.remove(0);
        let [_, channels, height, width] = activations.dims();
        Ok(super::patch::FeatureMap {
            channels,
            width,
            height,
            values: crate::tensor::read_values(activations)?,
        })
    }

    /// The first phase's starting image (at the output size; each phase resizes it).
    fn first_seed(&self, rng: &mut SplitMix64) -> RgbImage {
        let (w, h) = self.phases[0].size;
        match self.options.seed {
            Seed::Content => self.content.clone().expect("checked in plan"),
            Seed::Image => self.seed_image.clone().expect("checked in plan"),
            Seed::Noise => {
                let (low, high) = (
                    f64::from(self.options.seed_range.0),
                    f64::from(self.options.seed_range.1),
                );
                RgbImage::from_fn(w, h, |_, _| {
                    image::Rgb(
                        [0; 3].map(|_: u8| (low + rng.uniform() * (high - low)).round() as u8),
                    )
                })
            }
        }
    }

    /// Output pixels per pixel of the painting's strokes: patch synthesis enlarges them
    /// with the output (see `stroke_scale`), the optimisation paints them at its size.
    fn stroke_magnification(&self) -> f32 {
        match self.options.method {
            Method::Optimize => 1.0,
            _ => super::patch::stroke_magnification(
                self.target,
                self.style.dimensions(),
                self.options.stroke_scale,
            ),
        }
    }

    fn within_budget(&self, started: Instant, next: Duration) -> bool {
        self.options
            .time_budget
            .is_none_or(|budget| started.elapsed() + next < budget)
    }

    fn run_phase(
        &self,
        plan: &PhasePlan,
        start: &[f32],
        run_started: Instant,
        observer: &mut Observer<'_>,
    ) -> Result<(Minimum, PhaseReport)> {
        let phase_started = Instant::now();
        let style = resize(&self.style, plan.style_size.0, plan.style_size.1);
        let content = self
            .content
            .as_ref()
            .map(|c| resize(c, plan.size.0, plan.size.1));
        let planes = |image: &super::maps::LabelImage, size: (u32, u32), count| LabelPlanes {
            count,
            planes: image.one_hot(count, size.0, size.1),
        };
        let inputs = PhaseInputs {
            width: plan.size.0,
            height: plan.size.1,
            style: &style,
            style_labels: self
                .labels
                .as_ref()
                .map(|l| planes(&l.style, plan.style_size, l.count())),
            content: content.as_ref(),
            target_labels: self
                .labels
                .as_ref()
                .map(|l| planes(&l.target, plan.size, l.count())),
        };
        let mut problem = PhaseProblem::new(
            self.engine.encoder.as_ref(),
            &self.engine.autodiff,
            self.engine.path,
            inputs,
            self.options,
            &self.layers,
        )?;

        let mut evaluation = 0;
        let mut best_losses = Losses {
            total: f32::INFINITY,
            ..Losses::default()
        };
        let mut last_duration = Duration::ZERO;
        // Inside an evaluation (a search at a fine layer can take minutes) the run stops
        // within a second or two of a cancellation or its time budget.
        let deadline = self.options.time_budget.map(|budget| run_started + budget);
        let mut objective = |pixels: &[f32]| -> Result<Evaluation> {
            if observer.is_cancelled() || !self.within_budget(run_started, last_duration) {
                return Ok(Evaluation::Stop);
            }
            let evaluation_started = Instant::now();
            let Some((losses, gradient)) = problem.evaluate(pixels, &observer.stop(deadline))?
            else {
                return Ok(Evaluation::Stop);
            };
            last_duration = evaluation_started.elapsed();
            evaluation += 1;
            if losses.total < best_losses.total {
                best_losses = losses;
            }
            let progress = Progress {
                phase: plan.number,
                phases: self.options.phases,
                evaluation,
                evaluations: self.options.iterations,
                width: plan.size.0,
                height: plan.size.1,
                losses,
                elapsed: run_started.elapsed(),
            };
            if let Some(callback) = observer.progress.as_mut()
                && !callback(&progress)
            {
                observer
                    .cancel
                    .get_or_insert_with(Default::default)
                    .cancel();
            }
            if let Some((every, callback)) = observer.frame.as_mut()
                && (evaluation % *every == 0 || evaluation == self.options.iterations)
            {
                callback(&Frame {
                    phase: plan.number,
                    evaluation,
                    image: from_planar(pixels, plan.size.0, plan.size.1),
                });
            }
            Ok(Evaluation::Value(losses.total, gradient))
        };
        let bounds = (0.0, 255.0);
        let minimum = match self.options.optimizer {
            Optimizer::Lbfgs { history } => lbfgs(
                start,
                bounds,
                history,
                self.options.iterations,
                &mut objective,
            )?,
            Optimizer::Adam { learning_rate } => adam(
                start,
                bounds,
                learning_rate,
                self.options.iterations,
                &mut objective,
            )?,
        };
        let report = PhaseReport {
            phase: plan.number,
            width: plan.size.0,
            height: plan.size.1,
            evaluations: minimum.evaluations,
            seconds: phase_started.elapsed().as_secs_f64(),
            matching_seconds: problem.matching_time.as_secs_f64(),
            matchings: problem.matchings,
            losses: if best_losses.total.is_finite() {
                best_losses
            } else {
                Losses::default()
            },
        };
        Ok((minimum, report))
    }
}

/// Why a run stopped early: a cancellation, or else the time budget.
fn stop_status(observer: &Observer<'_>) -> RunStatus {
    if observer.is_cancelled() {
        RunStatus::Cancelled
    } else {
        RunStatus::TimeBudgetExhausted
    }
}

fn fit_within_size(size: (u32, u32), max_size: Option<u32>) -> (u32, u32) {
    fit_within(size.0, size.1, max_size)
}

/// Semantic maps are resized with nearest-neighbour so their colours stay exact.
fn resize_map(map: &DynamicImage, size: (u32, u32)) -> DynamicImage {
    if (map.width(), map.height()) == size {
        return map.clone();
    }
    map.resize_exact(size.0, size.1, FilterType::Nearest)
}

/// The phases' resolutions, coarse to fine, skipping those too small for the layers.
fn plan_phases(
    options: &DoodleOptions,
    layers: &RunLayers,
    target: (u32, u32),
    style_size: (u32, u32),
    warnings: &mut Vec<String>,
) -> Result<Vec<PhasePlan>> {
    let style_deepest = layers.deepest_style();
    // Style layers need 3x3 activations to have a patch; content layers need one.
    let minimum = (3 * style_deepest.stride()).max(layers.deepest().stride()) as u32;
    let fits = |size: (u32, u32)| size.0.min(size.1) >= minimum;
    if !fits(target) || !fits(style_size) {
        return Err(Error::option(
            "size",
            format!(
                "the output is {}x{} and the style {}x{}, but layer {style_deepest} needs both to be at \
                 least {minimum} pixels on each side; use larger images or shallower style layers",
                target.0, target.1, style_size.0, style_size.1
            ),
        ));
    }
    // Coarse phases that would fall below the minimum run at the smallest size that fits
    // instead, so a small image still starts coarse rather than from full-size noise.
    let smallest_side = f64::from(target.0.min(target.1).min(style_size.0.min(style_size.1)));
    let smallest_factor = (f64::from(minimum) + 0.5) / smallest_side;
    let mut phases: Vec<PhasePlan> = Vec::new();
    for i in 0..options.phases {
        let nominal = 1.0 / f64::from(1u32 << (options.phases - 1 - i));
        let factor = nominal.max(smallest_factor).min(1.0);
        let size = scaled(target, factor);
        let style = scaled(style_size, factor);
        if !fits(size) || !fits(style) || phases.last().is_some_and(|last| last.size == size) {
            warnings.push(format!(
                "phase {} skipped: at {}x{} the image is too small for layer {style_deepest}",
                i + 1,
                scaled(target, nominal).0,
                scaled(target, nominal).1
            ));
            continue;
        }
        phases.push(PhasePlan {
            number: i + 1,
            size,
            style_size: style,
        });
    }
    Ok(phases)
}

/// A seed for runs that did not fix one: from the clock, reported so the run can be repeated.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    SplitMix64::new(nanos).next_u64() >> 11 // fits exactly in a JSON number / f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(phases: usize, target: (u32, u32)) -> (Vec<(u32, u32)>, Vec<String>) {
        let options = DoodleOptions {
            phases,
            ..DoodleOptions::default()
        };
        let mut warnings = Vec::new();
        let encoder = crate::encoder::BuiltinEncoder::new(
            0,
            &crate::DeviceKind::Cpu.open().unwrap().autodiff(),
        );
        let layers = RunLayers::resolve(&encoder, &options, false).unwrap();
        let plan = plan_phases(&options, &layers, target, target, &mut warnings).unwrap();
        (plan.iter().map(|p| p.size).collect(), warnings)
    }

    #[test]
    fn phases_halve_the_size_from_fine_to_coarse() {
        let (plan, warnings) = sizes(3, (256, 192));
        assert_eq!(plan, vec![(64, 48), (128, 96), (256, 192)]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_coarse_phase_too_small_runs_at_the_smallest_size_that_fits() {
        // conv4_1 (the default deepest style layer) needs 24 pixels a side.
        let (plan, warnings) = sizes(2, (96, 72));
        assert_eq!(plan, vec![(48, 36), (96, 72)]);
        assert!(warnings.is_empty());
        let (plan, _) = sizes(3, (96, 72));
        assert_eq!(plan, vec![(33, 25), (48, 36), (96, 72)]);
    }

    #[test]
    fn phases_that_would_repeat_a_size_are_skipped_with_a_warning() {
        let (plan, warnings) = sizes(4, (30, 26));
        assert_eq!(plan, vec![(28, 25), (30, 26)]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }
}
