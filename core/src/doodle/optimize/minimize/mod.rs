//! Minimising the loss over the pixels, on the host: the gradient comes from the device,
//! the optimiser's bookkeeping (a few vectors of the image's size) stays in memory here.

mod adam;
mod lbfgs;

pub(crate) use adam::adam;
pub(crate) use lbfgs::lbfgs;

use crate::Result;

/// What one evaluation of the objective gave.
pub(crate) enum Evaluation {
    /// The loss and its gradient at the point.
    Value(f32, Vec<f32>),
    /// The run must stop (cancelled, or out of time); the best point so far stands.
    Stop,
}

/// The result of a minimisation.
pub(crate) struct Minimum {
    /// The point with the lowest loss seen.
    pub point: Vec<f32>,
    /// Its loss (infinite when no evaluation finished).
    pub value: f32,
    /// Evaluations made.
    pub evaluations: usize,
    /// Whether the objective asked to stop.
    pub stopped: bool,
}

/// Tracks the best point seen and counts evaluations against a budget.
pub(crate) struct Tracker<'f> {
    objective: &'f mut dyn FnMut(&[f32]) -> Result<Evaluation>,
    budget: usize,
    pub best: Minimum,
}

impl<'f> Tracker<'f> {
    pub fn new(
        start: &[f32],
        budget: usize,
        objective: &'f mut dyn FnMut(&[f32]) -> Result<Evaluation>,
    ) -> Self {
        Tracker {
            objective,
            budget,
            best: Minimum {
                point: start.to_vec(),
                value: f32::INFINITY,
                evaluations: 0,
                stopped: false,
            },
        }
    }

    /// Evaluates at `point`, or returns `None` when the budget is spent or a stop was asked.
    pub fn evaluate(&mut self, point: &[f32]) -> Result<Option<(f32, Vec<f32>)>> {
        if self.best.stopped || self.best.evaluations >= self.budget {
            return Ok(None);
        }
        match (self.objective)(point)? {
            Evaluation::Stop => {
                self.best.stopped = true;
                Ok(None)
            }
            Evaluation::Value(value, gradient) => {
                self.best.evaluations += 1;
                if value < self.best.value {
                    self.best.value = value;
                    self.best.point.copy_from_slice(point);
                }
                Ok(Some((value, gradient)))
            }
        }
    }
}

/// Clamps every value into `[low, high]`.
pub(crate) fn project(values: &mut [f32], low: f32, high: f32) {
    values.iter_mut().for_each(|v| *v = v.clamp(low, high));
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}
