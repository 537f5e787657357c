//! A run's plan: the request and options checked against the network and the limits, and
//! what every method paints from (sizes, images at their working sizes, labels, phases,
//! the random seed).

use std::time::{Duration, Instant};

use burn::tensor::Device;
use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};

use super::compute_path::ComputePath;
use super::layers::RunLayers;
use super::maps::Labels;
use super::options::{DoodleOptions, Method, Seed};
use super::request::{DoodleRequest, Mode};
use crate::encoder::Encoder;
use crate::pixels::{fit_within, resize, scaled, to_rgb};
use crate::rng::SplitMix64;
use crate::{ComputeDevice, Error, Limits, Result};

/// What a run paints through: the device and the encoder, and where evaluations run.
#[derive(Clone, Copy)]
pub(crate) struct Network<'a> {
    pub device: &'a ComputeDevice,
    pub autodiff: &'a Device,
    pub encoder: &'a dyn Encoder,
    pub path: ComputePath,
    /// Why a CPU device takes the tensor path, for the run's warnings.
    pub path_note: Option<&'a String>,
}

/// One phase's sizes.
pub(crate) struct PhasePlan {
    pub number: usize,
    pub size: (u32, u32),
    pub style_size: (u32, u32),
}

/// A validated run, ready to execute: what every method paints from.
pub(crate) struct Plan<'a> {
    pub network: Network<'a>,
    pub options: &'a DoodleOptions,
    /// The options' layer names as the engine's encoder numbers them.
    pub layers: RunLayers,
    pub mode: Mode,
    pub target: (u32, u32),
    pub style: RgbImage,
    pub content: Option<RgbImage>,
    pub labels: Option<Labels>,
    pub seed_image: Option<RgbImage>,
    pub phases: Vec<PhasePlan>,
    pub random_seed: u64,
    pub warnings: Vec<String>,
}

impl<'a> Plan<'a> {
    /// Checks the request and options against the network and `limits`, and fixes the
    /// sizes, labels, phases and random seed of the run.
    pub fn new(
        network: Network<'a>,
        request: &DoodleRequest,
        options: &'a DoodleOptions,
        limits: &Limits,
    ) -> Result<Self> {
        options.validate()?;
        let layers = RunLayers::resolve(network.encoder, options, request.content.is_some())?;
        limits.check_total_pixels(request.image_sizes())?;
        let mode = request.mode()?;
        request.check_limits(limits)?;
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
            canvas.saturating_mul(network.encoder.working_bytes_per_pixel()),
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
        if let (true, Some(note)) = (uses_encoder, network.path_note) {
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
        Ok(Plan {
            network,
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

    /// Whether work that takes `next` still ends within the time budget.
    pub fn within_budget(&self, started: Instant, next: Duration) -> bool {
        self.options
            .time_budget
            .is_none_or(|budget| started.elapsed() + next < budget)
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
