//! Measuring a painting: per semantic region, does the output take the colours and the
//! local detail (brush-stroke energy) of the same region of the style
//! ([`score_regions`])? And does a painted photo keep the photo's shapes while taking the
//! painting's colours and strokes ([`score_photo`])? Used by the tests and benchmarks,
//! and useful to compare settings.

use image::{DynamicImage, RgbImage};
use serde::Serialize;

use super::maps::Labels;

mod photo;
pub use photo::{PhotoScores, fine_edges_within, score_photo};

/// Per-region comparison of an output with its style.
#[derive(Debug, Clone, Serialize)]
pub struct RegionScores {
    /// Share of the output's area (0-1) whose region's mean colour is nearer the style's
    /// region of the same label than any other style region.
    pub label_accuracy: f64,
    /// Mean CIE Lab distance between each output region's mean colour and the style
    /// region's, weighted by area.
    pub colour_distance: f64,
    /// Per label present in both: mean |Laplacian| of the output's luminance divided by
    /// the style's (1 = as much brush-stroke detail; below 1 = blurred; far above = noise).
    pub detail_ratios: Vec<f64>,
}

impl RegionScores {
    /// The smallest and largest detail ratio.
    pub fn detail_range(&self) -> (f64, f64) {
        let low = self
            .detail_ratios
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min);
        let high = self
            .detail_ratios
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        (low, high)
    }
}

#[derive(Default, Clone, Copy)]
struct RegionStats {
    area: usize,
    lab: [f64; 3],
    detail: f64,
    detail_area: usize,
}

/// Scores `output` (painted from `target_map`) against `style` (with `style_map`).
/// Pixels within 2 px of a region boundary are left out of the detail measure, so that the
/// edges between regions do not count as brush strokes.
///
/// ```
/// use stylemark::doodle::quality::score_regions;
/// use stylemark::image::{DynamicImage, RgbImage};
///
/// let map = DynamicImage::ImageRgb8(RgbImage::from_fn(32, 32, |x, _| if x < 16 { [0, 0, 0] } else { [255, 255, 255] }.into()));
/// let image = DynamicImage::ImageRgb8(RgbImage::from_fn(32, 32, |x, y| if x < 16 { [200, 30, 30] } else { [30, 30, 200] }.into()));
/// let scores = score_regions(&image, &map, &image, &map);
/// assert_eq!(scores.label_accuracy, 1.0);
/// assert!(scores.colour_distance < 1e-9);
/// ```
pub fn score_regions(
    style: &DynamicImage,
    style_map: &DynamicImage,
    output: &DynamicImage,
    target_map: &DynamicImage,
) -> RegionScores {
    let labels = Labels::from_maps(style_map, target_map);
    let count = labels.count();
    let style_stats = region_stats(&style.to_rgb8(), &labels.style.labels, count);
    let output_stats = region_stats(&output.to_rgb8(), &labels.target.labels, count);
    let mut correct_area = 0usize;
    let mut total_area = 0usize;
    let mut distance_sum = 0f64;
    let mut detail_ratios = Vec::new();
    for label in 0..count {
        let (out, sty) = (output_stats[label], style_stats[label]);
        if out.area == 0 || sty.area == 0 {
            continue;
        }
        total_area += out.area;
        distance_sum += lab_distance(out.lab, sty.lab) * out.area as f64;
        let nearest = (0..count)
            .filter(|l| style_stats[*l].area > 0)
            .min_by(|a, b| {
                lab_distance(out.lab, style_stats[*a].lab)
                    .total_cmp(&lab_distance(out.lab, style_stats[*b].lab))
            });
        if nearest == Some(label) {
            correct_area += out.area;
        }
        if out.detail_area > 0 && sty.detail_area > 0 && sty.detail > 0.0 {
            detail_ratios.push(out.detail / sty.detail);
        }
    }
    RegionScores {
        label_accuracy: if total_area == 0 {
            0.0
        } else {
            correct_area as f64 / total_area as f64
        },
        colour_distance: if total_area == 0 {
            f64::INFINITY
        } else {
            distance_sum / total_area as f64
        },
        detail_ratios,
    }
}

fn region_stats(image: &RgbImage, labels: &[u16], count: usize) -> Vec<RegionStats> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let luminance: Vec<f64> = image.pixels().map(|p| srgb_to_lab(p.0)[0]).collect();
    let mut stats = vec![RegionStats::default(); count];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let label = labels[i] as usize;
            let lab = srgb_to_lab(image.get_pixel(x as u32, y as u32).0);
            let s = &mut stats[label];
            s.area += 1;
            (0..3).for_each(|c| s.lab[c] += lab[c]);
            if interior(labels, w, h, x, y, 2) {
                let laplacian = 4.0 * luminance[i]
                    - luminance[i - 1]
                    - luminance[i + 1]
                    - luminance[i - w]
                    - luminance[i + w];
                s.detail += laplacian.abs();
                s.detail_area += 1;
            }
        }
    }
    for s in &mut stats {
        if s.area > 0 {
            s.lab.iter_mut().for_each(|v| *v /= s.area as f64);
        }
        if s.detail_area > 0 {
            s.detail /= s.detail_area as f64;
        }
    }
    stats
}

/// Whether every pixel within `margin` of `(x, y)` has its label (and is inside the image).
fn interior(labels: &[u16], w: usize, h: usize, x: usize, y: usize, margin: usize) -> bool {
    if x < margin || y < margin || x + margin >= w || y + margin >= h {
        return false;
    }
    let own = labels[y * w + x];
    (y - margin..=y + margin)
        .all(|yy| (x - margin..=x + margin).all(|xx| labels[yy * w + xx] == own))
}

fn lab_distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|c| (a[c] - b[c]).powi(2)).sum::<f64>().sqrt()
}

/// sRGB (D65) to CIE L*a*b* (L* 0-100), as the scores measure colours.
///
/// ```
/// let white = stylemark::doodle::quality::srgb_to_lab([255, 255, 255]);
/// assert!((white[0] - 100.0).abs() < 1e-3);
/// ```
pub fn srgb_to_lab(rgb: [u8; 3]) -> [f64; 3] {
    let linear = rgb.map(|v| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    });
    let x = (0.4124 * linear[0] + 0.3576 * linear[1] + 0.1805 * linear[2]) / 0.95047;
    let y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
    let z = (0.0193 * linear[0] + 0.1192 * linear[1] + 0.9505 * linear[2]) / 1.08883;
    let f = |t: f64| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

#[cfg(test)]
mod tests {
    /// The engine's Lab conversion (`crate::lab`) and the scoring's agree.
    #[test]
    fn the_scoring_conversion_agrees_with_the_engines() {
        for rgb in [[200, 30, 40], [10, 120, 250], [90, 200, 90]] {
            let engine = crate::lab::from_srgb(rgb);
            let scoring = super::srgb_to_lab(rgb);
            for (a, b) in engine.iter().zip(scoring) {
                assert!((f64::from(*a) - b).abs() < 0.01, "{rgb:?}: {engine:?}");
            }
        }
    }
}
