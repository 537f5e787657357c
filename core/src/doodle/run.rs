//! A run: the plan painted by its method (patch synthesis, the optimisation, or both), then
//! the photo's finish, with the run's report.

use std::time::Instant;

use super::maps::Labels;
use super::observe::{Observer, RunStatus};
use super::options::Method;
use super::outcome::DoodleOutcome;
use super::plan::Plan;
use super::report::Report;
use super::{optimize, patch};
use crate::Result;
use crate::pixels::{from_planar, resize, to_planar};
use crate::rng::SplitMix64;

/// Paints `plan` with its method, reporting to `observer`.
pub(crate) fn execute(plan: Plan<'_>, observer: &mut Observer<'_>) -> Result<DoodleOutcome> {
    let started = Instant::now();
    let mut rng = SplitMix64::new(plan.random_seed);
    let mut reports = Vec::new();
    let mut status = RunStatus::Completed;
    let (mut current, phases) = match plan.options.method {
        Method::Optimize => (optimize::first_seed(&plan, &mut rng), &plan.phases[..]),
        method => {
            let painted = patch::paint_plan(&plan, started, observer)?;
            reports.extend(painted.levels);
            let rest = if painted.stopped {
                status = stop_status(observer);
                &plan.phases[..0]
            } else if method == Method::Hybrid {
                &plan.phases[plan.phases.len() - 1..]
            } else {
                &plan.phases[..0]
            };
            (painted.image, rest)
        }
    };
    for phase in phases {
        let start_pixels = to_planar(&resize(&current, phase.size.0, phase.size.1));
        let (minimum, report) =
            optimize::run_phase(&plan, phase, &start_pixels, started, observer)?;
        current = from_planar(&minimum.point, phase.size.0, phase.size.1);
        reports.push(report);
        if minimum.stopped {
            // The objective stops only when cancelled or out of time.
            status = stop_status(observer);
            break;
        }
    }
    let mut image = resize(&current, plan.target.0, plan.target.1);
    if let Some(content) = &plan.content {
        image = super::photo::apply(
            image,
            content,
            plan.options.strength,
            plan.options.preserve_colors,
            strokes_enlarged_by(&plan),
        );
    }
    let report = Report {
        status,
        mode: plan.mode,
        method: plan.options.method,
        device: plan.network.device.description().to_string(),
        encoder: plan.network.encoder.describe(),
        compute_path: plan.network.path,
        random_seed: plan.random_seed,
        width: plan.target.0,
        height: plan.target.1,
        seconds: started.elapsed().as_secs_f64(),
        labels: plan.labels.as_ref().map(Labels::count),
        phases: reports,
        warnings: plan.warnings,
    };
    Ok(DoodleOutcome {
        image,
        status,
        report,
    })
}

/// Output pixels per pixel of the painting's strokes: patch synthesis enlarges them with
/// the output (see `stroke_scale`), the optimisation paints them at its size.
fn strokes_enlarged_by(plan: &Plan<'_>) -> f32 {
    match plan.options.method {
        Method::Optimize => 1.0,
        _ => super::patch::stroke_magnification(
            plan.target,
            plan.style.dimensions(),
            plan.options.stroke_scale,
        ),
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
