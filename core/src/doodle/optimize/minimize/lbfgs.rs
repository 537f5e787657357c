//! Limited-memory BFGS with box bounds, in the projected form: the quasi-Newton direction
//! is computed over the variables that are free to move, and a backtracking line search
//! follows the projection of that direction onto the box. Every objective evaluation,
//! line-search trials included, counts against the budget, as `maxfun` does for the
//! reference's L-BFGS-B.

use std::collections::VecDeque;

use super::{Evaluation, Minimum, Tracker, dot, project};
use crate::Result;

/// Largest change of any pixel on the very first step, before curvature is known.
const FIRST_STEP: f32 = 8.0;
/// Sufficient decrease constant of the Armijo condition.
const ARMIJO: f64 = 1e-4;

struct Pair {
    s: Vec<f32>,
    y: Vec<f32>,
    rho: f64,
}

/// Minimises from `start` within `bounds` with at most `budget` evaluations.
pub(crate) fn lbfgs(
    start: &[f32],
    bounds: (f32, f32),
    history: usize,
    budget: usize,
    objective: &mut dyn FnMut(&[f32]) -> Result<Evaluation>,
) -> Result<Minimum> {
    let (low, high) = bounds;
    let mut tracker = Tracker::new(start, budget, objective);
    let mut x = start.to_vec();
    project(&mut x, low, high);
    let Some((mut value, mut gradient)) = tracker.evaluate(&x)? else {
        return Ok(tracker.best);
    };
    let mut pairs: VecDeque<Pair> = VecDeque::new();
    loop {
        let free = free_variables(&x, &gradient, low, high);
        let mut direction = search_direction(&gradient, &free, &pairs);
        let mut slope = dot(&gradient, &direction);
        if slope >= 0.0 || !slope.is_finite() {
            // Not a descent direction (curvature went bad): restart from steepest descent.
            pairs.clear();
            direction = search_direction(&gradient, &free, &pairs);
            slope = dot(&gradient, &direction);
            if slope >= 0.0 {
                break; // at a constrained stationary point
            }
        }
        let mut step = 1.0f32;
        let accepted = loop {
            let mut candidate: Vec<f32> = x
                .iter()
                .zip(&direction)
                .map(|(xi, di)| xi + step * di)
                .collect();
            project(&mut candidate, low, high);
            let Some((candidate_value, candidate_gradient)) = tracker.evaluate(&candidate)? else {
                break None;
            };
            let moved: Vec<f32> = candidate.iter().zip(&x).map(|(c, xi)| c - xi).collect();
            let decrease = dot(&gradient, &moved);
            if f64::from(candidate_value) <= f64::from(value) + ARMIJO * decrease && decrease < 0.0
            {
                break Some((candidate, candidate_value, candidate_gradient, moved));
            }
            step *= 0.3;
            if step < 1e-6 {
                break None;
            }
        };
        let Some((new_x, new_value, new_gradient, s)) = accepted else {
            if tracker.best.stopped || tracker.best.evaluations >= budget {
                break;
            }
            // The line search failed: forget the curvature and try again from here.
            if pairs.is_empty() {
                break;
            }
            pairs.clear();
            continue;
        };
        let y: Vec<f32> = new_gradient
            .iter()
            .zip(&gradient)
            .map(|(a, b)| a - b)
            .collect();
        let sy = dot(&s, &y);
        if sy > 1e-10 * dot(&y, &y) {
            if pairs.len() == history {
                pairs.pop_front();
            }
            pairs.push_back(Pair {
                rho: 1.0 / sy,
                s,
                y,
            });
        }
        x = new_x;
        value = new_value;
        gradient = new_gradient;
    }
    Ok(tracker.best)
}

/// A variable is held at its bound when the gradient pushes it further out.
fn free_variables(x: &[f32], gradient: &[f32], low: f32, high: f32) -> Vec<bool> {
    x.iter()
        .zip(gradient)
        .map(|(&xi, &gi)| !((xi <= low && gi > 0.0) || (xi >= high && gi < 0.0)))
        .collect()
}

/// `-H g` over the free variables by the two-loop recursion, scaled by the latest
/// curvature estimate; a bounded steepest-descent step when no curvature is known.
fn search_direction(gradient: &[f32], free: &[bool], pairs: &VecDeque<Pair>) -> Vec<f32> {
    let masked = |v: &[f32]| -> Vec<f32> {
        v.iter()
            .zip(free)
            .map(|(x, f)| if *f { *x } else { 0.0 })
            .collect()
    };
    let mut q = masked(gradient);
    let Some(last) = pairs.back() else {
        let largest = q.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
        return q.iter().map(|g| -g * FIRST_STEP / largest).collect();
    };
    let mut alphas = Vec::with_capacity(pairs.len());
    for pair in pairs.iter().rev() {
        let alpha = pair.rho * dot(&pair.s, &q);
        q.iter_mut()
            .zip(&pair.y)
            .for_each(|(qi, yi)| *qi -= (alpha * f64::from(*yi)) as f32);
        alphas.push(alpha);
    }
    let gamma = (dot(&last.s, &last.y) / dot(&last.y, &last.y)) as f32;
    q.iter_mut().for_each(|qi| *qi *= gamma);
    for (pair, alpha) in pairs.iter().zip(alphas.into_iter().rev()) {
        let beta = pair.rho * dot(&pair.y, &q);
        q.iter_mut()
            .zip(&pair.s)
            .for_each(|(qi, si)| *qi += ((alpha - beta) * f64::from(*si)) as f32);
    }
    q.iter()
        .zip(free)
        .map(|(qi, f)| if *f { -qi } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ill-conditioned quadratic whose unconstrained minimum lies outside the box.
    fn quadratic(x: &[f32]) -> Result<Evaluation> {
        let targets = [300.0f32, 40.0, -20.0, 120.0];
        let scales = [1.0f32, 10.0, 0.1, 3.0];
        let value = x
            .iter()
            .zip(&targets)
            .zip(&scales)
            .map(|((xi, t), s)| s * (xi - t).powi(2))
            .sum();
        let gradient = x
            .iter()
            .zip(&targets)
            .zip(&scales)
            .map(|((xi, t), s)| 2.0 * s * (xi - t))
            .collect();
        Ok(Evaluation::Value(value, gradient))
    }

    #[test]
    fn finds_the_constrained_minimum_of_a_quadratic() {
        let minimum = lbfgs(&[128.0; 4], (0.0, 255.0), 5, 200, &mut quadratic).unwrap();
        let expected = [255.0, 40.0, 0.0, 120.0];
        for (got, want) in minimum.point.iter().zip(expected) {
            assert!((got - want).abs() < 0.05, "{:?}", minimum.point);
        }
        assert!(minimum.evaluations <= 200);
    }

    #[test]
    fn respects_the_evaluation_budget_and_keeps_the_best_point() {
        let mut calls = 0;
        let mut objective = |x: &[f32]| {
            calls += 1;
            quadratic(x)
        };
        let minimum = lbfgs(&[128.0; 4], (0.0, 255.0), 5, 7, &mut objective).unwrap();
        assert_eq!(minimum.evaluations, 7);
        assert_eq!(calls, 7);
        let Evaluation::Value(value, _) = quadratic(&minimum.point).unwrap() else {
            unreachable!()
        };
        assert_eq!(value, minimum.value);
    }

    #[test]
    fn stops_when_asked_and_returns_the_best_so_far() {
        let mut calls = 0;
        let mut objective = |x: &[f32]| {
            calls += 1;
            if calls > 3 {
                Ok(Evaluation::Stop)
            } else {
                quadratic(x)
            }
        };
        let minimum = lbfgs(&[128.0; 4], (0.0, 255.0), 5, 100, &mut objective).unwrap();
        assert!(minimum.stopped);
        assert_eq!(minimum.evaluations, 3);
        assert!(minimum.value.is_finite());
    }

    #[test]
    fn adam_also_descends_within_bounds() {
        let minimum =
            super::super::adam(&[128.0; 4], (0.0, 255.0), 4.0, 400, &mut quadratic).unwrap();
        assert!(minimum.point.iter().all(|v| (0.0..=255.0).contains(v)));
        assert!((minimum.point[1] - 40.0).abs() < 2.0, "{:?}", minimum.point);
    }
}
