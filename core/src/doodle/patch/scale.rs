//! The size a photo is painted at. The painting's strokes keep their share of the picture
//! at any output larger than the painting ([`stroke_scale`](crate::doodle::DoodleOptions::stroke_scale)), so
//! a large output needs no more of the painting's pixels than a small one: the synthesis
//! runs at a working size where one pixel of the painting is one pixel of the work, and
//! the result is enlarged to the output guided by the photo ([`enlarge`](super::enlarge)).
//! A 12 MP photo painted from a 512 px painting then costs the synthesis of a 512 px
//! photo plus a pass over its pixels.

use std::time::Duration;

/// Up to this many times the painting's longer side, an output at stroke scale 1 copies
/// the painting pixel for pixel (a slightly larger output is not worth an enlargement);
/// past it the strokes grow with the output.
const LEAST_ENLARGEMENT: f32 = 1.25;

/// The most pixels the synthesis works on (a 1024x1024 work takes about a second on two
/// cores); larger works, from small stroke scales on large outputs, take the painting
/// scaled down instead.
const MAX_WORK_PIXELS: f64 = 1024.0 * 1024.0;

/// What enlarging to the output costs per output megapixel, measured on two cores
/// (docs/PERFORMANCE.md); the synthesis leaves this much of a time budget for it.
const ENLARGE_SECONDS_PER_MEGAPIXEL: f64 = 0.1;

/// Where a photo's synthesis runs and how its result reaches the output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PhotoScale {
    /// The size the synthesis paints at.
    pub work: (u32, u32),
    /// The factor the painting is resized by for the synthesis (at most 1, so the work
    /// copies the painting's own pixels or finer).
    pub painting: f32,
    /// Output pixels per working pixel (1 when the work is the output).
    pub enlargement: f32,
}

impl PhotoScale {
    /// The plan for an output of `output` pixels from a painting of `painting` pixels,
    /// with strokes `stroke_scale` times their default size.
    pub fn plan(output: (u32, u32), painting: (u32, u32), stroke_scale: f32) -> Self {
        let (width, height) = (output.0.max(1), output.1.max(1));
        let strokes = stroke_magnification((width, height), painting, stroke_scale);
        let pixels = f64::from(width) * f64::from(height);
        let within_budget = (pixels / MAX_WORK_PIXELS).sqrt() as f32;
        let enlargement = strokes.max(within_budget).max(1.0);
        let side = |length: u32| ((length as f32 / enlargement).round() as u32).clamp(1, length);
        PhotoScale {
            work: (side(width), side(height)),
            painting: strokes / enlargement,
            enlargement,
        }
    }

    /// Whether the work is smaller than the output.
    pub fn enlarges(&self, output: (u32, u32)) -> bool {
        self.work != output
    }
}

/// Output pixels per pixel of the painting's strokes at an output size, painting size
/// and stroke scale: at 1, the painting's longer side spans the output's, so strokes
/// keep the share of the picture they have in the painting.
pub(crate) fn stroke_magnification(
    output: (u32, u32),
    painting: (u32, u32),
    stroke_scale: f32,
) -> f32 {
    let ratio = output.0.max(output.1) as f32 / painting.0.max(painting.1).max(1) as f32;
    let proportional = if ratio > LEAST_ENLARGEMENT {
        ratio
    } else {
        1.0
    };
    stroke_scale * proportional
}

/// The time to set aside for enlarging a photo's synthesis to `output`.
pub(crate) fn enlargement_time(
    output: (u32, u32),
    painting: (u32, u32),
    stroke_scale: f32,
) -> Duration {
    if !PhotoScale::plan(output, painting, stroke_scale).enlarges(output) {
        return Duration::ZERO;
    }
    let megapixels = f64::from(output.0) * f64::from(output.1) / 1e6;
    Duration::from_secs_f64(ENLARGE_SECONDS_PER_MEGAPIXEL * megapixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl PhotoScale {
        fn with_work(self, work: (u32, u32)) -> Self {
            PhotoScale { work, ..self }
        }
    }

    const PAINTING: (u32, u32) = (416, 508);

    #[test]
    fn up_to_the_paintings_size_the_painting_is_copied_pixel_for_pixel() {
        let plan = PhotoScale::plan((352, 512), PAINTING, 1.0);
        assert_eq!(
            plan,
            PhotoScale::plan((512, 512), PAINTING, 1.0).with_work((352, 512))
        );
        assert_eq!(plan.work, (352, 512));
        assert_eq!((plan.painting, plan.enlargement), (1.0, 1.0));
        assert!(!plan.enlarges((352, 512)));
        // Smaller strokes: the painting is scaled down, the work stays the output.
        let plan = PhotoScale::plan((352, 512), PAINTING, 0.5);
        assert_eq!(
            (plan.work, plan.painting, plan.enlargement),
            ((352, 512), 0.5, 1.0)
        );
    }

    #[test]
    fn larger_outputs_are_painted_at_the_paintings_size_and_enlarged() {
        let plan = PhotoScale::plan((4032, 3024), PAINTING, 1.0);
        assert_eq!(plan.work, (508, 381));
        assert_eq!(plan.painting, 1.0);
        assert!((plan.enlargement - 4032.0 / 508.0).abs() < 1e-4);
        // Twice the strokes: half the work on each side.
        assert_eq!(
            PhotoScale::plan((4032, 3024), PAINTING, 2.0).work,
            (254, 191)
        );
    }

    #[test]
    fn the_work_never_exceeds_its_pixel_budget() {
        let plan = PhotoScale::plan((8000, 5000), PAINTING, 0.25);
        let pixels = f64::from(plan.work.0) * f64::from(plan.work.1);
        assert!(pixels <= MAX_WORK_PIXELS * 1.01, "{plan:?}");
        // The painting is scaled down so the strokes keep the size asked for.
        let strokes = 0.25 * 8000.0 / 508.0;
        assert!((plan.painting * plan.enlargement - strokes).abs() < 1e-3);
        assert!(plan.painting < 1.0);
    }

    #[test]
    fn degenerate_sizes_keep_at_least_one_pixel() {
        let plan = PhotoScale::plan((40_000, 1), PAINTING, 1.0);
        assert_eq!(plan.work.1, 1);
        assert!(plan.work.0 >= 1);
        assert!(PhotoScale::plan((64, 64), (0, 0), 1.0).work.0 >= 1);
        assert_eq!(enlargement_time((512, 512), PAINTING, 1.0), Duration::ZERO);
        assert!(enlargement_time((4032, 3024), PAINTING, 1.0) > Duration::ZERO);
    }
}
