//! Adam (Kingma and Ba 2015) with projection onto the pixel bounds.

use super::{Minimum, Tracker, project};
use crate::Result;

/// Minimises from `start` with Adam, one step per evaluation.
pub(crate) fn adam(
    start: &[f32],
    bounds: (f32, f32),
    learning_rate: f32,
    budget: usize,
    objective: &mut dyn FnMut(&[f32]) -> Result<super::Evaluation>,
) -> Result<Minimum> {
    let (beta1, beta2, epsilon) = (0.9f32, 0.999f32, 1e-8f32);
    let mut tracker = Tracker::new(start, budget, objective);
    let mut x = start.to_vec();
    project(&mut x, bounds.0, bounds.1);
    let mut m = vec![0f32; x.len()];
    let mut v = vec![0f32; x.len()];
    let mut step = 0i32;
    while let Some((_, gradient)) = tracker.evaluate(&x)? {
        step += 1;
        let (c1, c2) = (1.0 - beta1.powi(step), 1.0 - beta2.powi(step));
        for i in 0..x.len() {
            m[i] = beta1 * m[i] + (1.0 - beta1) * gradient[i];
            v[i] = beta2 * v[i] + (1.0 - beta2) * gradient[i] * gradient[i];
            x[i] -= learning_rate * (m[i] / c1) / ((v[i] / c2).sqrt() + epsilon);
        }
        project(&mut x, bounds.0, bounds.1);
    }
    Ok(tracker.best)
}
