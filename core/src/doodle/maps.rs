//! Semantic maps: from flat-colour doodles to soft label channels.
//!
//! The reference appends the map's raw colours to the features and compares them by
//! normalised cross-correlation. That breaks on black regions (a zero vector has no
//! direction) and confuses colours of the same hue (dark red and red point the same way).
//! stylemark first turns the colours of both maps into a shared palette of labels
//! (anti-aliased edge pixels, which are rare, join their nearest label), then uses one
//! channel per label. Pooled to a layer's resolution, the channels become soft label
//! fractions; black is a label like any other.

use image::{DynamicImage, RgbaImage};

/// Pixels of a colour must cover this share of the maps to found a label of its own;
/// rarer colours (anti-aliasing) join the nearest label.
const MIN_LABEL_SHARE: f64 = 0.001;
/// Colours closer than this (Euclidean, RGBA 0-255) belong to the same label.
const SAME_LABEL_DISTANCE: f64 = 24.0;
/// A colour lying (within this tolerance) on the line between two labels is a blend of
/// them along an anti-aliased edge, unless it covers more than [`BLEND_MAX_SHARE`].
const BLEND_TOLERANCE: f64 = 6.0;
const BLEND_MAX_SHARE: f64 = 0.02;
/// At most this many labels.
const MAX_LABELS: usize = 64;

/// The labels of a style map and a target map, sharing one palette.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    pub palette: Vec<[u8; 4]>,
    pub style: LabelImage,
    pub target: LabelImage,
}

/// A label per pixel.
#[derive(Debug, Clone)]
pub(crate) struct LabelImage {
    pub width: u32,
    pub height: u32,
    pub labels: Vec<u16>,
}

impl Labels {
    /// Builds the shared palette from both maps and labels every pixel.
    pub fn from_maps(style_map: &DynamicImage, target_map: &DynamicImage) -> Self {
        let style = colours(style_map);
        let target = colours(target_map);
        let palette = palette(
            style
                .as_raw()
                .chunks_exact(4)
                .chain(target.as_raw().chunks_exact(4)),
        );
        Labels {
            style: label_image(&style, &palette),
            target: label_image(&target, &palette),
            palette,
        }
    }

    /// Number of labels.
    pub fn count(&self) -> usize {
        self.palette.len()
    }

    /// Labels of the target that never occur in the style: those regions can only be
    /// painted from the features, which is worth a warning.
    pub fn missing_in_style(&self) -> Vec<[u8; 4]> {
        let mut in_style = vec![false; self.count()];
        self.style
            .labels
            .iter()
            .for_each(|l| in_style[*l as usize] = true);
        let mut in_target = vec![false; self.count()];
        self.target
            .labels
            .iter()
            .for_each(|l| in_target[*l as usize] = true);
        (0..self.count())
            .filter(|&l| in_target[l] && !in_style[l])
            .map(|l| self.palette[l])
            .collect()
    }
}

/// Any map layout as RGBA colours (grey maps become grey colours).
fn colours(map: &DynamicImage) -> RgbaImage {
    map.to_rgba8()
}

fn distance(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The frequent, mutually distinct colours, most frequent first.
fn palette<'a>(pixels: impl Iterator<Item = &'a [u8]>) -> Vec<[u8; 4]> {
    let mut counts: std::collections::HashMap<[u8; 4], usize> = std::collections::HashMap::new();
    let mut total = 0usize;
    for p in pixels {
        *counts.entry([p[0], p[1], p[2], p[3]]).or_default() += 1;
        total += 1;
    }
    let mut by_frequency: Vec<([u8; 4], usize)> = counts.into_iter().collect();
    // Ties broken by colour so the palette does not depend on hash order.
    by_frequency.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut palette: Vec<[u8; 4]> = Vec::new();
    for (colour, count) in by_frequency {
        let share = count as f64 / total as f64;
        let distinct = palette
            .iter()
            .all(|p| distance(p, &colour) > SAME_LABEL_DISTANCE);
        let blend = share < BLEND_MAX_SHARE && is_blend(&palette, &colour);
        if palette.is_empty()
            || (share >= MIN_LABEL_SHARE && palette.len() < MAX_LABELS && distinct && !blend)
        {
            palette.push(colour);
        }
    }
    palette
}

/// Whether `colour` lies between two palette colours, as an anti-aliased edge pixel does.
fn is_blend(palette: &[[u8; 4]], colour: &[u8; 4]) -> bool {
    palette.iter().enumerate().any(|(i, a)| {
        palette[i + 1..]
            .iter()
            .any(|b| distance(a, colour) + distance(colour, b) <= distance(a, b) + BLEND_TOLERANCE)
    })
}

fn label_image(map: &RgbaImage, palette: &[[u8; 4]]) -> LabelImage {
    let mut cache: std::collections::HashMap<[u8; 4], u16> = std::collections::HashMap::new();
    let labels = map
        .pixels()
        .map(|p| {
            *cache.entry(p.0).or_insert_with(|| {
                let nearest = palette
                    .iter()
                    .enumerate()
                    .min_by(|a, b| distance(a.1, &p.0).total_cmp(&distance(b.1, &p.0)))
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                nearest as u16
            })
        })
        .collect();
    LabelImage {
        width: map.width(),
        height: map.height(),
        labels,
    }
}

impl LabelImage {
    /// One channel per label at `width x height`, each output pixel holding the fraction
    /// of its source area covered by the label (area averaging: soft, alias-free edges).
    /// Planar `[count][height][width]`.
    pub fn one_hot(&self, count: usize, width: u32, height: u32) -> Vec<f32> {
        let (w, h) = (width as usize, height as usize);
        let (sw, sh) = (self.width as usize, self.height as usize);
        let mut planes = vec![0f32; count * w * h];
        let sx = sw as f64 / w as f64;
        let sy = sh as f64 / h as f64;
        for y in 0..h {
            let (y0, y1) = span(y, sy, sh);
            for x in 0..w {
                let (x0, x1) = span(x, sx, sw);
                let area = ((y1 - y0) * (x1 - x0)) as f32;
                for source_y in y0..y1 {
                    for source_x in x0..x1 {
                        let label = self.labels[source_y * sw + source_x] as usize;
                        planes[(label * h + y) * w + x] += 1.0 / area;
                    }
                }
            }
        }
        planes
    }
}

/// The source pixels `[start, end)` covered by output pixel `i` (at least one).
fn span(i: usize, scale: f64, limit: usize) -> (usize, usize) {
    let start = ((i as f64 * scale).floor() as usize).min(limit - 1);
    let end = (((i + 1) as f64 * scale).ceil() as usize).clamp(start + 1, limit);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Rgba};

    #[test]
    fn black_and_same_hue_colours_are_distinct_labels_and_edges_join_neighbours() {
        // Left: black; middle: dark red; right: red; one anti-aliased column between.
        let map = RgbaImage::from_fn(400, 10, |x, _| match x {
            0..=99 => Rgba([0, 0, 0, 255]),
            100 => Rgba([60, 0, 0, 255]),
            101..=199 => Rgba([120, 0, 0, 255]),
            _ => Rgba([250, 0, 0, 255]),
        });
        let map = DynamicImage::ImageRgba8(map);
        let labels = Labels::from_maps(&map, &map);
        assert_eq!(labels.count(), 3, "{:?}", labels.palette);
        let at = |x: usize| labels.target.labels[x];
        assert_ne!(at(0), at(150));
        assert_ne!(at(150), at(300));
        assert!(
            at(100) == at(0) || at(100) == at(150),
            "the edge pixel joins a neighbour"
        );
        assert!(labels.missing_in_style().is_empty());
    }

    #[test]
    fn one_hot_area_averages_and_sums_to_one() {
        let map = DynamicImage::ImageLuma8(GrayImage::from_fn(4, 2, |x, _| {
            [if x < 2 { 0 } else { 255 }].into()
        }));
        let labels = Labels::from_maps(&map, &map);
        let planes = labels.target.one_hot(labels.count(), 1, 1);
        assert_eq!(planes.len(), 2);
        assert!((planes[0] - 0.5).abs() < 1e-6 && (planes[1] - 0.5).abs() < 1e-6);
        let full = labels.target.one_hot(2, 4, 2);
        for p in 0..8 {
            assert!((full[p] + full[8 + p] - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn target_labels_missing_from_the_style_are_reported() {
        let style = DynamicImage::ImageLuma8(GrayImage::from_pixel(10, 10, [0].into()));
        let target = DynamicImage::ImageLuma8(GrayImage::from_fn(10, 10, |x, _| {
            [if x < 5 { 0 } else { 255 }].into()
        }));
        let labels = Labels::from_maps(&style, &target);
        assert_eq!(labels.missing_in_style(), vec![[255, 255, 255, 255]]);
    }
}
