//! Luma planes: extraction, resizing to the canonical resolution, box filtering.

use image::imageops::FilterType;
use image::{DynamicImage, ImageBuffer, Luma};

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
        let data = match image {
            DynamicImage::ImageLuma8(grey) => grey.as_raw().iter().map(|&v| f32::from(v)).collect(),
            DynamicImage::ImageLumaA8(grey) => grey
                .as_raw()
                .chunks_exact(2)
                .map(|p| f32::from(p[0]))
                .collect(),
            DynamicImage::ImageRgb8(rgb) => rgb_luma(rgb.as_raw(), 3),
            DynamicImage::ImageRgba8(rgba) => rgb_luma(rgba.as_raw(), 4),
            _ => rgb_luma(image.to_rgb8().as_raw(), 3),
        };
        Plane {
            width,
            height,
            data,
        }
    }

    /// This plane resized to `width` x `height` (triangle filter, which widens its support
    /// when shrinking, so no aliasing).
    pub fn resized(&self, width: usize, height: usize) -> Plane {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        // The `image` crate clamps float pixels to 0..1 when resizing, so the plane goes
        // through it in that range.
        let normalised = self.data.iter().map(|v| v / 255.0).collect();
        let buffer: ImageBuffer<Luma<f32>, Vec<f32>> =
            ImageBuffer::from_raw(self.width as u32, self.height as u32, normalised)
                .expect("plane buffer matches its size");
        let resized =
            image::imageops::resize(&buffer, width as u32, height as u32, FilterType::Triangle);
        Plane {
            width,
            height,
            data: resized.into_raw().into_iter().map(|v| v * 255.0).collect(),
        }
    }

    /// The mean over a `(2r+1)^2` window around each pixel (clamped at the borders).
    pub fn box_mean(&self, radius: usize) -> Plane {
        let rows = box_pass(&self.data, self.width, self.height, radius, true);
        let data = box_pass(&rows, self.width, self.height, radius, false);
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

/// The luma of interleaved 8-bit pixels whose first three channels are R, G, B.
fn rgb_luma(samples: &[u8], channels: usize) -> Vec<f32> {
    samples
        .chunks_exact(channels)
        .map(|p| luma_of(f32::from(p[0]), f32::from(p[1]), f32::from(p[2])))
        .collect()
}

/// Rec. 601 luma.
pub(crate) fn luma_of(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// One direction of a box mean, by running sums (O(1) per pixel whatever the radius).
fn box_pass(src: &[f32], width: usize, height: usize, radius: usize, along_rows: bool) -> Vec<f32> {
    let (lines, len) = if along_rows {
        (height, width)
    } else {
        (width, height)
    };
    let index = |line: usize, i: usize| {
        if along_rows {
            line * width + i
        } else {
            i * width + line
        }
    };
    let mut out = vec![0f32; src.len()];
    for line in 0..lines {
        let mut prefix = Vec::with_capacity(len + 1);
        prefix.push(0f64);
        for i in 0..len {
            prefix.push(prefix[i] + f64::from(src[index(line, i)]));
        }
        for i in 0..len {
            let lo = i.saturating_sub(radius);
            let hi = (i + radius + 1).min(len);
            out[index(line, i)] = ((prefix[hi] - prefix[lo]) / (hi - lo) as f64) as f32;
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
    fn resizing_keeps_values_above_one() {
        let plane = Plane {
            width: 4,
            height: 4,
            data: vec![200.0; 16],
        };
        let small = plane.resized(2, 2);
        assert!(
            small.data.iter().all(|v| (v - 200.0).abs() < 1e-3),
            "{:?}",
            small.data
        );
    }

    #[test]
    fn luma_of_grey_is_the_grey() {
        assert!((luma_of(100.0, 100.0, 100.0) - 100.0).abs() < 1e-4);
    }
}
