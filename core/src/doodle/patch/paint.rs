//! Patch synthesis as a run's method: the plan's images and settings handed to
//! [`synthesize`](super::synthesize), each round reported as an evaluation.

use std::time::{Duration, Instant};

use image::RgbImage;

use crate::doodle::compute_path::ComputePath;
use crate::doodle::observe::{Losses, Observer, Progress};
use crate::doodle::optimize::encode_on_host;
use crate::doodle::plan::Plan;
use crate::pixels::image_tensor;
use crate::{Error, Result};

/// Paints the plan by patch synthesis at the output size.
pub(crate) fn paint_plan(
    plan: &Plan<'_>,
    started: Instant,
    observer: &mut Observer<'_>,
) -> Result<super::PatchResult> {
    let patch = plan.options.patch_size as u32;
    let smallest_style = plan.style.width().min(plan.style.height());
    if smallest_style < 3 * patch || plan.target.0.min(plan.target.1) < patch {
        return Err(Error::option(
            "size",
            format!(
                "patch synthesis with {patch}x{patch} patches needs a style of at least {} pixels \
                 on each side and an output of at least {patch}; the style is {}x{}, the output {}x{}",
                3 * patch,
                plan.style.width(),
                plan.style.height(),
                plan.target.0,
                plan.target.1
            ),
        ));
    }
    let encode = |image: &RgbImage| encode_features(plan, image);
    let inputs = super::PatchInputs {
        style: &plan.style,
        content: plan.content.as_ref(),
        labels: plan.labels.as_ref(),
        target: plan.target,
        encode: &encode,
    };
    let settings = super::PatchSettings {
        patch_size: plan.options.patch_size,
        label_weight: plan.options.semantic_weight / 10.0,
        guide_weight: plan.options.content_weight / 10.0,
        feature_weight: plan.options.feature_weight / 10.0,
        preserve_colors: plan.options.preserve_colors,
        stroke_scale: plan.options.stroke_scale,
        seed: plan.random_seed,
    };
    // A photo enlarged from a working size needs time after the last round.
    let enlarging = match plan.content {
        Some(_) => super::enlargement_time(
            plan.target,
            plan.style.dimensions(),
            plan.options.stroke_scale,
        ),
        None => Duration::ZERO,
    };
    let mut last_round = Instant::now();
    let mut last_duration = Duration::ZERO;
    let result = super::synthesize(&inputs, settings, |round| {
        last_duration = last_duration.max(last_round.elapsed());
        last_round = Instant::now();
        if round.round == 1 {
            // A new level: its rounds cost about four times the last level's.
            last_duration *= 4;
        }
        if observer.is_cancelled() || !plan.within_budget(started, last_duration / 2 + enlarging) {
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
fn encode_features(plan: &Plan<'_>, image: &RgbImage) -> Result<super::FeatureMap> {
    let layer = plan.layers.shallowest_style();
    if let (ComputePath::Host, Some(host)) = (plan.network.path, plan.network.encoder.host()) {
        let features = encode_on_host(host, image, &[layer])?.remove(0);
        return Ok(super::FeatureMap {
            channels: features.channels,
            width: features.width,
            height: features.height,
            values: features.values,
        });
    }
    let tensor = image_tensor(image, plan.network.autodiff);
    let activations = plan.network.encoder.encode(tensor, &[layer])?.remove(0);
    let [_, channels, height, width] = activations.dims();
    Ok(super::FeatureMap {
        channels,
        width,
        height,
        values: crate::tensor::read_values(activations)?,
    })
}
