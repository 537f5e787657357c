//! Luma planes: extraction and box filtering.

use std::borrow::Cow;

use image::DynamicImage;

/// A single-channel float image, row-major.
#[derive(Debug, Clone)]
pub(crate) struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    /// The luma (Rec. 601 weights, 0-255) of an image; alpha is ignored.
    pub fn luma(image: &DynamicImage) -> Plane {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let (samples, channels) = samples_of(image);
        let mut data = vec![0f32; width * height];
        if width > 0 {
            for (row, line) in data
                .chunks_exact_mut(width)
                .zip(samples.chunks_exact(width * channels))
            {
                luma_of_row::<false>(line, channels, row);
            }
        }
        Plane {
            width,
            height,
            data,
        }
    }

    /// The mean over a `(2r+1)^2` window around each pixel (clamped at the borders).
    pub fn box_mean(&self, radius: usize) -> Plane {
        let rows = box_pass_rows(&self.data, self.width, radius);
        let data = box_pass_columns(&rows, self.width, self.height, radius);
        Plane {
            width: self.width,
            height: self.height,
            data,
        }
    }

    /// The detail of the plane: each pixel minus its local mean.
    pub fn high_pass(&self, radius: usize) -> Plane {
        let mean = self.box_mean(radius);
        Plane {
            width: self.width,
            height: self.height,
            data: self
                .data
                .iter()
                .zip(&mean.data)
                .map(|(v, m)| v - m)
                .collect(),
        }
    }

    /// One row of the plane.
    pub fn row(&self, y: usize) -> &[f32] {
        &self.data[y * self.width..][..self.width]
    }
}

/// The 8-bit samples of an image and its channels per pixel (grey first, or R, G, B
/// first); other layouts are converted to RGB first.
pub(crate) fn samples_of(image: &DynamicImage) -> (Cow<'_, [u8]>, usize) {
    match image {
        DynamicImage::ImageLuma8(grey) => (Cow::Borrowed(grey.as_raw()), 1),
        DynamicImage::ImageLumaA8(grey) => (Cow::Borrowed(grey.as_raw()), 2),
        DynamicImage::ImageRgb8(rgb) => (Cow::Borrowed(rgb.as_raw()), 3),
        DynamicImage::ImageRgba8(rgba) => (Cow::Borrowed(rgba.as_raw()), 4),
        _ => (Cow::Owned(image.to_rgb8().into_raw()), 3),
    }
}

/// The luma of one row of pixels of `channels` samples each (see [`samples_of`]),
/// written to `row` or, with `ADD`, added to it.
pub(crate) fn luma_of_row<const ADD: bool>(line: &[u8], channels: usize, row: &mut [f32]) {
    match channels {
        1 => luma_row::<1, ADD>(line, row),
        2 => luma_row::<2, ADD>(line, row),
        3 => luma_row::<3, ADD>(line, row),
        _ => luma_row::<4, ADD>(line, row),
    }
}

/// The luma of one row of interleaved 8-bit pixels (grey first, or R, G, B first), written
/// to `row` or, with `ADD`, added to it. The channel count is a constant so the loop
/// compiles to vector instructions.
fn luma_row<const CHANNELS: usize, const ADD: bool>(line: &[u8], row: &mut [f32]) {
    for (value, p) in row.iter_mut().zip(line.chunks_exact(CHANNELS)) {
        let luma = if CHANNELS < 3 {
            f32::from(p[0])
        } else {
            luma_of(f32::from(p[0]), f32::from(p[1]), f32::from(p[2]))
        };
        *value = if ADD { *value + luma } else { luma };
    }
}

/// Rec. 601 luma.
pub(crate) fn luma_of(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// The horizontal half of a box mean: each row by running sums (O(1) per pixel whatever
/// the radius), the window clamped at the ends.
fn box_pass_rows(src: &[f32], width: usize, radius: usize) -> Vec<f32> {
    let mut out = vec![0f32; src.len()];
    for (line, target) in src.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let mut sum: f64 = line[..radius.min(width)]
            .iter()
            .map(|&v| f64::from(v))
            .sum();
        for (i, value) in target.iter_mut().enumerate() {
            if i + radius < width {
                sum += f64::from(line[i + radius]);
            }
            if i > radius {
                sum -= f64::from(line[i - radius - 1]);
            }
            let count = (i + radius + 1).min(width) - i.saturating_sub(radius);
            *value = (sum / count as f64) as f32;
        }
    }
    out
}

/// The vertical half of a box mean: whole rows are added and removed from running column
/// sums, so memory is read in order.
fn box_pass_columns(src: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    let row = |y: usize| &src[y * width..][..width];
    let mut sums = vec![0f64; width];
    for y in 0..radius.min(height) {
        for (sum, &v) in sums.iter_mut().zip(row(y)) {
            *sum += f64::from(v);
        }
    }
    let mut out = vec![0f32; src.len()];
    for (y, target) in out.chunks_exact_mut(width).enumerate() {
        if y + radius < height {
            for (sum, &v) in sums.iter_mut().zip(row(y + radius)) {
                *sum += f64::from(v);
            }
        }
        if y > radius {
            for (sum, &v) in sums.iter_mut().zip(row(y - radius - 1)) {
                *sum -= f64::from(v);
            }
        }
        let count = ((y + radius + 1).min(height) - y.saturating_sub(radius)) as f64;
        for (value, sum) in target.iter_mut().zip(&sums) {
            *value = (sum / count) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_mean_of_a_ramp_is_the_ramp_inside() {
        let plane = Plane {
            width: 9,
            height: 3,
            data: (0..27).map(|i| (i % 9) as f32).collect(),
        };
        let mean = plane.box_mean(1);
        assert_eq!(mean.data[9 + 4], 4.0);
        // At the border the window is clamped: mean of 0 and 1.
        assert_eq!(mean.data[9], 0.5);
    }

    #[test]
    fn box_mean_equals_the_direct_window_mean() {
        let (width, height, radius) = (13, 7, 2);
        let plane = Plane {
            width,
            height,
            data: (0..width * height)
                .map(|i| ((i * 37) % 11) as f32)
                .collect(),
        };
        let mean = plane.box_mean(radius);
        for y in 0..height {
            for x in 0..width {
                let (xs, ys) = (
                    x.saturating_sub(radius)..(x + radius + 1).min(width),
                    y.saturating_sub(radius)..(y + radius + 1).min(height),
                );
                let count = xs.len() * ys.len();
                let data = &plane.data;
                let sum: f32 = ys
                    .flat_map(|j| xs.clone().map(move |i| data[j * width + i]))
                    .sum();
                assert!(
                    (mean.data[y * width + x] - sum / count as f32).abs() < 1e-4,
                    "at ({x}, {y})"
                );
            }
        }
    }

    #[test]
    fn luma_of_grey_is_the_grey() {
        assert!((luma_of(100.0, 100.0, 100.0) - 100.0).abs() < 1e-4);
    }
}
