//! The canonical resolution the mark lives at: the image scaled so its shorter side is
//! 512 px. Embedding and detection both work there, so a resized copy of a marked image is
//! brought back to the scale it was marked at before it is read.

use image::DynamicImage;

use rayon::prelude::*;

use super::plane::{Plane, luma_of_row, samples_of};
use crate::{Error, Result};

/// The shorter side of the canonical resolution, in pixels.
pub(crate) const CANONICAL_SHORT_SIDE: usize = 512;

/// The size of an image at the canonical resolution, and the factor from image pixels to
/// canonical pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Canonical {
    pub width: usize,
    pub height: usize,
    pub scale: f32,
}

impl Canonical {
    /// The canonical frame of an image of `width` x `height`, refused when its plane
    /// would have more than `max_pixels` (a 128 x 312,500 image makes a 512 x 1,250,000
    /// one: 2.5 GB of floats).
    pub fn of(width: u32, height: u32, max_pixels: u64) -> Result<Canonical> {
        let scale = CANONICAL_SHORT_SIDE as f32 / width.min(height).max(1) as f32;
        let side = |length: u32| ((f64::from(length) * f64::from(scale)).round() as u64).max(1);
        let (w, h) = (side(width), side(height));
        Error::check_limit(
            "the mark's working plane in pixels (max_mark_plane_pixels)",
            w.saturating_mul(h),
            max_pixels,
            "crop the image closer to a rectangle of ordinary proportions",
        )?;
        Ok(Canonical {
            // Within the limit, so both fit a usize.
            width: w as usize,
            height: h as usize,
            scale,
        })
    }

    /// Image pixels averaged along each side before the triangle filter.
    pub fn block(&self) -> usize {
        ((1.0 / self.scale).floor() as usize).max(1)
    }

    /// The image's luma brought to the canonical resolution: whole blocks of pixels are
    /// averaged first (one parallel pass over a large photo, no full-size plane), then a
    /// triangle filter, widened when shrinking so nothing aliases, takes it to the exact
    /// size.
    pub fn luma(&self, image: &DynamicImage) -> Plane {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let (samples, channels) = samples_of(image);
        let block = self.block();
        let mut sums = BlockSums::new(width, height, block);
        if width > 0 {
            sums.rows_mut()
                .zip(samples.par_chunks(block * width * channels))
                .for_each(|(sums, band)| {
                    let mut column_sums = BlockSums::band(width);
                    for line in band.chunks_exact(width * channels) {
                        column_sums.add_pixels(line, channels);
                    }
                    column_sums.finish(sums, block);
                });
        }
        self.resample(sums)
    }

    /// The canonical plane from the block sums of an image's luma.
    pub fn resample(&self, sums: BlockSums) -> Plane {
        let scale = self.scale * sums.block as f32;
        let reduced = sums.into_means();
        let across = TriangleTaps::new(reduced.width, self.width, scale);
        let down = TriangleTaps::new(reduced.height, self.height, scale);
        let mut rows = Vec::with_capacity(reduced.height * self.width);
        for y in 0..reduced.height {
            let row = reduced.row(y);
            rows.extend((0..self.width).map(|x| across.apply(x, |i| row[i])));
        }
        let mut data = vec![0f32; self.width * self.height];
        for (y, target) in data.chunks_exact_mut(self.width).enumerate() {
            for (i, weight) in down.of(y) {
                for (value, source) in target.iter_mut().zip(&rows[i * self.width..][..self.width])
                {
                    *value += weight * source;
                }
            }
        }
        Plane {
            width: self.width,
            height: self.height,
            data,
        }
    }
}

/// Sums of an image's luma over `block` x `block` squares (partial at the right and
/// bottom edges). Filled band by band, in parallel: a band is `block` image rows and one
/// row of sums.
pub(crate) struct BlockSums {
    width: usize,
    height: usize,
    block: usize,
    sums: Plane,
}

impl BlockSums {
    /// Zero sums for an image of `width` x `height`.
    pub fn new(width: usize, height: usize, block: usize) -> BlockSums {
        let (out_width, out_height) = (width.div_ceil(block), height.div_ceil(block));
        BlockSums {
            width,
            height,
            block,
            sums: Plane {
                width: out_width,
                height: out_height,
                data: vec![0f32; out_width * out_height],
            },
        }
    }

    /// The rows of sums, one per band, to fill in parallel.
    pub fn rows_mut(&mut self) -> rayon::slice::ChunksExactMut<'_, f32> {
        let width = self.sums.width.max(1);
        self.sums.data.par_chunks_exact_mut(width)
    }

    /// A band's column sums, to add its rows' luma to.
    pub fn band(width: usize) -> BandSums {
        BandSums {
            columns: vec![0f32; width],
        }
    }

    /// The means: each sum divided by the pixels its square holds.
    fn into_means(self) -> Plane {
        let BlockSums {
            width,
            height,
            block,
            mut sums,
        } = self;
        let out_width = sums.width.max(1);
        for (y, line) in sums.data.chunks_exact_mut(out_width).enumerate() {
            let rows = block.min(height - y * block);
            for (x, value) in line.iter_mut().enumerate() {
                let columns = block.min(width - x * block);
                *value /= (rows * columns) as f32;
            }
        }
        sums
    }
}

/// The luma of a band's rows summed down each column; the sums across each block are
/// taken once at the end, so the per-row work is one luma and one addition per pixel, in
/// vector instructions.
pub(crate) struct BandSums {
    columns: Vec<f32>,
}

impl BandSums {
    /// Adds the luma of one row of pixels of `channels` samples each.
    pub fn add_pixels(&mut self, line: &[u8], channels: usize) {
        luma_of_row::<true>(line, channels, &mut self.columns);
    }

    /// Writes the band's block sums (`block` columns each) into its row of sums.
    pub fn finish(self, sums: &mut [f32], block: usize) {
        for (sum, columns) in sums.iter_mut().zip(self.columns.chunks(block)) {
            *sum = columns.iter().sum();
        }
    }
}

/// The source pixels and weights of a triangle filter from `source` to `target` samples,
/// where one source pixel spans `scale` target pixels; the filter widens to `1 / scale`
/// source pixels when shrinking. Weights are normalised over the pixels inside the image.
struct TriangleTaps {
    /// `(first source pixel, weights)` per target pixel.
    taps: Vec<(usize, Vec<f32>)>,
}

impl TriangleTaps {
    fn new(source: usize, target: usize, scale: f32) -> TriangleTaps {
        let radius = (1.0 / scale).max(1.0);
        let taps = (0..target)
            .map(|t| {
                let centre = (t as f32 + 0.5) / scale;
                let first = (centre - radius).floor().max(0.0) as usize;
                let last = ((centre + radius).ceil() as usize).min(source);
                let first = first.min(last.saturating_sub(1));
                let mut weights: Vec<f32> = (first..last)
                    .map(|i| (1.0 - (i as f32 + 0.5 - centre).abs() / radius).max(0.0))
                    .collect();
                let total: f32 = weights.iter().sum();
                if total > 0.0 {
                    weights.iter_mut().for_each(|w| *w /= total);
                } else {
                    // A target pixel past the last source pixel's reach takes that pixel.
                    weights.iter_mut().for_each(|w| *w = 0.0);
                    if let Some(w) = weights.last_mut() {
                        *w = 1.0;
                    }
                }
                (first, weights)
            })
            .collect();
        TriangleTaps { taps }
    }

    /// The source pixels and weights of target pixel `t`.
    fn of(&self, t: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let (first, weights) = &self.taps[t];
        weights
            .iter()
            .enumerate()
            .map(move |(i, w)| (first + i, *w))
    }

    /// The filtered value of target pixel `t`, reading source pixels through `value`.
    fn apply(&self, t: usize, value: impl Fn(usize) -> f32) -> f32 {
        self.of(t).map(|(i, w)| w * value(i)).sum()
    }
}

/// The detail a detector reads the mark from: luma minus its 9x9 local mean, divided by
/// the local detail's strength. Busy texture hides the mark but also drowns it, so it is
/// weighted down; smooth areas, where the faint mark is nearly alone, count fully.
pub(crate) fn detail(plane: &Plane) -> Plane {
    /// Keeps flat areas (JPEG rounding noise only) from being weighted up without bound.
    const FLOOR: f32 = 3.0;
    let mut detail = plane.high_pass(4);
    let energy = Plane {
        data: detail.data.iter().map(|v| v * v).collect(),
        ..detail.clone()
    };
    let strength = energy.box_mean(4);
    for (value, energy) in detail.data.iter_mut().zip(&strength.data) {
        // Running sums can leave a flat area's mean energy a hair below zero.
        *value /= energy.max(0.0).sqrt() + FLOOR;
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u64 = 1 << 24;

    #[test]
    fn long_thin_images_are_refused_before_their_plane_is_made() {
        let err = Canonical::of(128, 312_500, LIMIT).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::LimitExceeded);
        assert!(err.to_string().contains("max_mark_plane_pixels"), "{err}");
        let photo = Canonical::of(4032, 3024, LIMIT).unwrap();
        assert_eq!((photo.width, photo.height), (683, 512));
    }

    #[test]
    fn a_flat_image_stays_flat_at_every_size() {
        for (width, height) in [(300, 200), (1024, 1024), (1500, 1100), (2100, 4200)] {
            let image = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(
                width,
                height,
                image::Luma([200]),
            ));
            let canonical = Canonical::of(width, height, LIMIT).unwrap();
            let luma = canonical.luma(&image);
            assert_eq!(
                (luma.width, luma.height),
                (canonical.width, canonical.height)
            );
            assert!(
                luma.data.iter().all(|v| (v - 200.0).abs() < 1e-3),
                "{width}x{height}"
            );
        }
    }

    #[test]
    fn shrinking_keeps_positions_and_averages_stripes() {
        // Vertical stripes 8 px wide at 2048 px come out 4 px wide: a column's value
        // depends on where it falls, and a whole period averages to the stripes' mean.
        let image = DynamicImage::ImageLuma8(image::GrayImage::from_fn(2048, 1024, |x, _| {
            image::Luma([if x / 8 % 2 == 0 { 0 } else { 240 }])
        }));
        let luma = Canonical::of(2048, 1024, LIMIT).unwrap().luma(&image);
        assert_eq!((luma.width, luma.height), (1024, 512));
        let row = luma.row(100);
        assert!(row[1] < 60.0 && row[5] > 180.0, "{:?}", &row[..8]);
        let period: f32 = row[96..104].iter().sum::<f32>() / 8.0;
        assert!((period - 120.0).abs() < 1.0, "{period}");
    }
}
