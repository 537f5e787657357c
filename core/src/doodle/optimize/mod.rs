//! The optimisation, the reference algorithm: the painting's pixels are optimised so that
//! its encoder activations match the style's patches and the content's features, phase by
//! phase, coarse to fine.
//!
//! - [`phase`]: one phase's problem (losses and gradients, on the host or through burn);
//! - [`losses`]: the style (MRF), content and smoothness losses;
//! - [`matching`]: the nearest-style-patch search;
//! - [`minimize`]: L-BFGS and Adam within bounds.

pub(crate) mod losses;
pub(crate) mod matching;
mod minimize;
pub(crate) mod phase;

use std::time::{Duration, Instant};

use image::RgbImage;

pub(crate) use minimize::{Evaluation, Minimum};
pub(crate) use phase::encode_on_host;

use super::observe::{Frame, Losses, Observer, Progress};
use super::options::{Optimizer, Seed};
use super::plan::{PhasePlan, Plan};
use super::report::PhaseReport;
use crate::Result;
use crate::pixels::{from_planar, resize};
use crate::rng::SplitMix64;
use minimize::{adam, lbfgs};
use phase::{LabelPlanes, PhaseInputs, PhaseProblem};

/// The first phase's starting image (at the output size; each phase resizes it).
pub(crate) fn first_seed(plan: &Plan<'_>, rng: &mut SplitMix64) -> RgbImage {
    let (w, h) = plan.phases[0].size;
    match plan.options.seed {
        Seed::Content => plan.content.clone().expect("checked in plan"),
        Seed::Image => plan.seed_image.clone().expect("checked in plan"),
        Seed::Noise => {
            let (low, high) = (
                f64::from(plan.options.seed_range.0),
                f64::from(plan.options.seed_range.1),
            );
            RgbImage::from_fn(w, h, |_, _| {
                image::Rgb([0; 3].map(|_: u8| (low + rng.uniform() * (high - low)).round() as u8))
            })
        }
    }
}

/// Runs one phase of the optimisation from `start` (planar pixels at the phase's size);
/// returns the minimum found and the phase's report.
pub(crate) fn run_phase(
    plan: &Plan<'_>,
    phase: &PhasePlan,
    start: &[f32],
    run_started: Instant,
    observer: &mut Observer<'_>,
) -> Result<(Minimum, PhaseReport)> {
    let phase_started = Instant::now();
    let style = resize(&plan.style, phase.style_size.0, phase.style_size.1);
    let content = plan
        .content
        .as_ref()
        .map(|c| resize(c, phase.size.0, phase.size.1));
    let planes = |image: &super::maps::LabelImage, size: (u32, u32), count| LabelPlanes {
        count,
        planes: image.one_hot(count, size.0, size.1),
    };
    let inputs = PhaseInputs {
        width: phase.size.0,
        height: phase.size.1,
        style: &style,
        style_labels: plan
            .labels
            .as_ref()
            .map(|l| planes(&l.style, phase.style_size, l.count())),
        content: content.as_ref(),
        target_labels: plan
            .labels
            .as_ref()
            .map(|l| planes(&l.target, phase.size, l.count())),
    };
    let mut problem = PhaseProblem::new(
        plan.network.encoder,
        plan.network.autodiff,
        plan.network.path,
        inputs,
        plan.options,
        &plan.layers,
    )?;

    let mut evaluation = 0;
    let mut best_losses = Losses {
        total: f32::INFINITY,
        ..Losses::default()
    };
    let mut last_duration = Duration::ZERO;
    // Inside an evaluation (a search at a fine layer can take minutes) the run stops
    // within a second or two of a cancellation or its time budget.
    let deadline = plan.options.time_budget.map(|budget| run_started + budget);
    let mut objective = |pixels: &[f32]| -> Result<Evaluation> {
        if observer.is_cancelled() || !plan.within_budget(run_started, last_duration) {
            return Ok(Evaluation::Stop);
        }
        let evaluation_started = Instant::now();
        let Some((losses, gradient)) = problem.evaluate(pixels, &observer.stop(deadline))? else {
            return Ok(Evaluation::Stop);
        };
        last_duration = evaluation_started.elapsed();
        evaluation += 1;
        if losses.total < best_losses.total {
            best_losses = losses;
        }
        let progress = Progress {
            phase: phase.number,
            phases: plan.options.phases,
            evaluation,
            evaluations: plan.options.iterations,
            width: phase.size.0,
            height: phase.size.1,
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
            && (evaluation % *every == 0 || evaluation == plan.options.iterations)
        {
            callback(&Frame {
                phase: phase.number,
                evaluation,
                image: from_planar(pixels, phase.size.0, phase.size.1),
            });
        }
        Ok(Evaluation::Value(losses.total, gradient))
    };
    let bounds = (0.0, 255.0);
    let minimum = match plan.options.optimizer {
        Optimizer::Lbfgs { history } => lbfgs(
            start,
            bounds,
            history,
            plan.options.iterations,
            &mut objective,
        )?,
        Optimizer::Adam { learning_rate } => adam(
            start,
            bounds,
            learning_rate,
            plan.options.iterations,
            &mut objective,
        )?,
    };
    let report = PhaseReport {
        phase: phase.number,
        width: phase.size.0,
        height: phase.size.1,
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
