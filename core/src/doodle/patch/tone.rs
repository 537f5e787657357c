//! A photo's luminance as the painting would have it: the large-scale tone follows the
//! painting's distribution (so the result takes the painting's light and dark, and its
//! colours exist in the painting), the local contrast that makes shapes recognisable
//! (eyes, mouths, window frames) is the photo's own. This is the base/detail split of
//! tone mapping: the base is a wide blur, matched to the painting's blurred luminance
//! by histogram (a monotonic map, so light stays light and dark stays dark); the detail
//! is added back, amplified when the painting's narrower range would flatten it.

use rayon::prelude::*;

use crate::pixels::{gaussian_blurred, mean_and_deviation};

/// Width of the base layer's blur, as a share of the image's longer side.
const BASE_BLUR: f32 = 0.03;

/// Share of the painting's luminance values below and above which the result is
/// compressed towards the painting's extremes, not cut.
const KNEE: f32 = 0.02;

/// The photo's local contrast is amplified to this times what keeps it at the photo's
/// (a painter exaggerates the features that make a face: judged blind, docs/DOODLE.md),
/// at most [`MAX_DETAIL_GAIN`] times.
const DETAIL_EMPHASIS: f32 = 1.4;
const MAX_DETAIL_GAIN: f32 = 3.0;

/// Scales of the band whose contrast is kept, as shares of the longer side: the size of
/// facial features and window frames (1.5 and 6 px at 256 px).
const BAND: (f32, f32) = (0.006, 0.023);

/// A plane of luminance values (L*, 0-100) with its width.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plane<'a> {
    pub values: &'a [f32],
    pub width: usize,
}

impl Plane<'_> {
    fn height(&self) -> usize {
        self.values.len() / self.width.max(1)
    }

    fn longer_side(&self) -> f32 {
        self.width.max(self.height()) as f32
    }

    fn blurred(&self, sigma: f32) -> Vec<f32> {
        gaussian_blurred(self.values, self.width, sigma)
    }
}

/// The photo's luminance mapped onto the painting's (see the module's documentation),
/// with what it takes to map the same photo at a larger size.
pub(crate) struct ToneMapping {
    /// The mapped luminance at the photo's size.
    pub tone: Vec<f32>,
    /// The photo's base layer (its wide blur).
    pub base: Vec<f32>,
    /// The base layer mapped onto the painting's.
    pub mapped_base: Vec<f32>,
    /// How much the detail above the base is amplified.
    pub detail_gain: f32,
    /// The painting's luminance range, which the tone is kept in.
    pub range: Range,
}

impl ToneMapping {
    /// The tone of a photo pixel of luminance `value` whose base layer is `base` and
    /// mapped base `mapped_base` (both resampled from this mapping's).
    pub fn tone_at(&self, value: f32, base: f32, mapped_base: f32) -> f32 {
        self.range
            .keep(mapped_base + self.detail_gain * (value - base))
    }
}

/// The photo's luminance mapped onto the painting's: see the module's documentation.
pub(crate) fn painted_tone(photo: Plane<'_>, painting: Plane<'_>) -> ToneMapping {
    let base = photo.blurred(BASE_BLUR * photo.longer_side());
    let mut mapped_base = base.clone();
    let painting_base = painting.blurred(BASE_BLUR * painting.longer_side());
    match_histogram(&mut mapped_base, &Distribution::of(&painting_base));
    let mut mapping = ToneMapping {
        tone: Vec::new(),
        base,
        mapped_base,
        detail_gain: 1.0,
        range: Range::of(&Distribution::of(painting.values)),
    };
    let compose = |mapping: &ToneMapping| -> Vec<f32> {
        photo
            .values
            .par_iter()
            .zip(mapping.base.par_iter().zip(&mapping.mapped_base))
            .map(|(&v, (&b, &m))| mapping.tone_at(v, b, m))
            .collect()
    };
    let trial = compose(&mapping);
    let kept = band_spread(Plane {
        values: &trial,
        width: photo.width,
    }) / band_spread(photo).max(1e-6);
    mapping.detail_gain = (DETAIL_EMPHASIS / kept.max(1e-3)).clamp(1.0, MAX_DETAIL_GAIN);
    mapping.tone = compose(&mapping);
    mapping
}

/// The spread (standard deviation) of a plane's band-pass: the contrast of its shapes.
pub(crate) fn band_spread(plane: Plane<'_>) -> f32 {
    let side = plane.longer_side();
    let fine = plane.blurred(BAND.0 * side);
    let coarse = plane.blurred(BAND.1 * side);
    let band: Vec<f32> = fine.iter().zip(&coarse).map(|(f, c)| f - c).collect();
    spread(&band).1
}

/// Mean and standard deviation.
pub(crate) fn spread(values: &[f32]) -> (f32, f32) {
    let (mean, deviation) = mean_and_deviation(values.iter().copied());
    (mean as f32, deviation as f32)
}

/// Shifts and scales `values` to the mean and spread of `reference`. A spread below
/// `least` counts as `least`, so that nearly constant values (the chroma of a grey photo:
/// noise) are not blown up into strong differences.
pub(crate) fn match_spread(values: &mut [f32], reference: &[f32], least: f32) {
    let ((mean, deviation), (target_mean, target_deviation)) = (spread(values), spread(reference));
    let scale = target_deviation / deviation.max(least).max(1e-6);
    for v in values {
        *v = (*v - mean) * scale + target_mean;
    }
}

/// The distribution of a plane's values, from a sorted sample of at most
/// [`Distribution::SAMPLES`] of them (every n-th), which is plenty for the quantiles of
/// an image and spares sorting millions of values.
pub(crate) struct Distribution {
    sorted: Vec<f32>,
}

impl Distribution {
    /// The most values kept.
    const SAMPLES: usize = 1 << 16;

    /// The distribution of `values` (not empty).
    pub fn of(values: &[f32]) -> Self {
        let step = values.len().div_ceil(Self::SAMPLES).max(1);
        let mut sorted: Vec<f32> = values.iter().step_by(step).copied().collect();
        sorted.sort_unstable_by(f32::total_cmp);
        Distribution { sorted }
    }

    /// The share of values below `value`, counting equal ones half (0-1).
    fn share_below(&self, value: f32) -> f64 {
        let below = self.sorted.partition_point(|&v| v < value);
        let up_to = self.sorted.partition_point(|&v| v <= value);
        (below + up_to) as f64 / 2.0 / self.sorted.len().max(1) as f64
    }

    /// The value with `share` (0-1) of the values below it, interpolated.
    fn quantile(&self, share: f64) -> f32 {
        let last = self.sorted.len().saturating_sub(1);
        let position = (share * self.sorted.len() as f64 - 0.5).clamp(0.0, last as f64);
        let below = position.floor() as usize;
        let above = (below + 1).min(last);
        let t = (position - below as f64) as f32;
        self.sorted[below] * (1.0 - t) + self.sorted[above] * t
    }
}

/// Maps `values` monotonically onto the `reference` distribution (histogram matching):
/// each value becomes the reference's value at the same quantile. Equal values stay
/// equal.
pub(crate) fn match_histogram(values: &mut [f32], reference: &Distribution) {
    if values.is_empty() || reference.sorted.is_empty() {
        return;
    }
    let source = Distribution::of(values);
    values
        .par_iter_mut()
        .for_each(|v| *v = reference.quantile(source.share_below(*v)));
}

/// A distribution's range: values past its 2nd and 98th percentiles are compressed
/// smoothly towards its extremes (0.1 and 99.9th percentiles), never beyond.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    low: f32,
    high: f32,
    floor: f32,
    ceiling: f32,
}

impl Range {
    /// The range of `reference` (everything passes an empty one unchanged).
    pub fn of(reference: &Distribution) -> Self {
        if reference.sorted.is_empty() {
            return Range {
                low: f32::NEG_INFINITY,
                high: f32::INFINITY,
                floor: f32::NEG_INFINITY,
                ceiling: f32::INFINITY,
            };
        }
        let at = |share: f64| reference.quantile(share);
        Range {
            low: at(f64::from(KNEE)),
            high: at(1.0 - f64::from(KNEE)),
            floor: at(0.001),
            ceiling: at(0.999),
        }
    }

    /// `value`, compressed into the range where it lies past the knees.
    pub fn keep(&self, value: f32) -> f32 {
        let compress = |excess: f32, room: f32| room * (1.0 - (-excess / room).exp());
        if value > self.high {
            self.high + compress(value - self.high, (self.ceiling - self.high).max(1e-3))
        } else if value < self.low {
            self.low - compress(self.low - value, (self.low - self.floor).max(1e-3))
        } else {
            value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_matching_takes_the_reference_distribution_and_keeps_the_order() {
        let values: Vec<f32> = (0..1000).map(|i| ((i * 37) % 1000) as f32).collect();
        let reference: Vec<f32> = (0..500).map(|i| 50.0 + (i as f32 / 10.0).powi(2)).collect();
        let mut mapped = values.clone();
        match_histogram(&mut mapped, &Distribution::of(&reference));
        for (a, b) in values.iter().zip(&values[1..]) {
            let (ma, mb) = (
                mapped[values.iter().position(|v| v == a).unwrap()],
                mapped[values.iter().position(|v| v == b).unwrap()],
            );
            assert_eq!(a < b, ma < mb, "order kept");
        }
        let (mean, deviation) = spread(&mapped);
        let (target_mean, target_deviation) = spread(&reference);
        assert!((mean - target_mean).abs() < 0.02 * target_mean, "{mean}");
        assert!((deviation - target_deviation).abs() < 0.02 * target_deviation);
        // Equal inputs stay equal.
        let mut flat = vec![3.0f32; 10];
        match_histogram(&mut flat, &Distribution::of(&reference));
        assert!(flat.iter().all(|&v| v == flat[0]));
    }

    #[test]
    fn values_are_kept_within_the_references_range_smoothly() {
        let reference: Vec<f32> = (0..=1000).map(|i| 20.0 + i as f32 * 0.06).collect(); // 20-80
        let mut values: Vec<f32> = (0..=100).map(|v| v as f32).collect();
        let range = Range::of(&Distribution::of(&reference));
        values.iter_mut().for_each(|v| *v = range.keep(*v));
        assert!(
            values.iter().all(|&v| (19.9..=80.1).contains(&v)),
            "{values:?}"
        );
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "still in order");
        assert_eq!(values[50], 50.0, "inside the range nothing moves");
    }

    #[test]
    fn the_painted_tone_keeps_the_photos_shapes_in_the_paintings_range() {
        // A dark photo with a bright square, and a light painting of little contrast.
        let (w, h) = (64, 48);
        let photo: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let square = (20..30).contains(&x) && (15..25).contains(&y);
                if square { 60.0 } else { 10.0 + (x % 7) as f32 }
            })
            .collect();
        let painting: Vec<f32> = (0..w * h)
            .map(|i| 40.0 + 40.0 * i as f32 / (w * h) as f32)
            .collect();
        let tone = painted_tone(
            Plane {
                values: &photo,
                width: w,
            },
            Plane {
                values: &painting,
                width: w,
            },
        )
        .tone;
        assert!(tone.iter().all(|&v| (39.9..=80.1).contains(&v)), "in range");
        let (inside, outside) = (tone[20 * w + 25], tone[40 * w + 50]);
        assert!(
            inside > outside + 10.0,
            "the square stays lighter: {inside} vs {outside}"
        );
        // The photo's stripes (7 px) keep at least their contrast.
        let stripes = |plane: &[f32]| plane[40 * w + 48] - plane[40 * w + 42];
        assert!(
            stripes(&tone) >= stripes(&photo) - 0.5,
            "{} vs {}",
            stripes(&tone),
            stripes(&photo)
        );
    }
}
