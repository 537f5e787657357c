//! Conversions between images and planar float pixels / tensors, and resizing helpers.

use burn::tensor::{Device, Tensor, TensorData};
use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};

use crate::io::over_white;

/// An RGB image flattened over white (alpha never turns black) and expanded from grey.
pub(crate) fn to_rgb(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        image::Rgb([over_white(r, a), over_white(g, a), over_white(b, a)])
    })
}

/// Planar `[3][H][W]` values 0-255.
pub(crate) fn to_planar(image: &RgbImage) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut planes = vec![0f32; 3 * w * h];
    for (i, pixel) in image.pixels().enumerate() {
        for c in 0..3 {
            planes[c * w * h + i] = f32::from(pixel.0[c]);
        }
    }
    planes
}

/// The inverse of [`to_planar`], rounding and clamping to 0-255.
pub(crate) fn from_planar(planes: &[f32], width: u32, height: u32) -> RgbImage {
    let n = (width * height) as usize;
    RgbImage::from_fn(width, height, |x, y| {
        let i = (y * width + x) as usize;
        let v = |c: usize| planes[c * n + i].round().clamp(0.0, 255.0) as u8;
        image::Rgb([v(0), v(1), v(2)])
    })
}

/// `[1, 3, H, W]` tensor of an RGB image, values 0-255.
pub(crate) fn image_tensor(image: &RgbImage, device: &Device) -> Tensor<4> {
    planar_tensor(&to_planar(image), image.width(), image.height(), device)
}

/// `[1, 3, H, W]` tensor from planar values.
pub(crate) fn planar_tensor(planes: &[f32], width: u32, height: u32, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(planes.to_vec(), [1, 3, height as usize, width as usize]),
        device,
    )
}

/// Resizes with a sharp, ringing-free filter for downscaling and bicubic for upscaling;
/// returns the image unchanged when the size already matches.
pub(crate) fn resize(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    if image.width() == width && image.height() == height {
        return image.clone();
    }
    let filter = if width < image.width() {
        FilterType::Triangle
    } else {
        FilterType::CatmullRom
    };
    image::imageops::resize(image, width, height, filter)
}

/// The size that fits `(width, height)` within `max_side` on its longest side, keeping
/// the aspect ratio (unchanged when it already fits).
pub(crate) fn fit_within(width: u32, height: u32, max_side: Option<u32>) -> (u32, u32) {
    match max_side {
        Some(max) if width.max(height) > max => {
            let scale = f64::from(max) / f64::from(width.max(height));
            (
                ((f64::from(width) * scale).round() as u32).max(1),
                ((f64::from(height) * scale).round() as u32).max(1),
            )
        }
        _ => (width, height),
    }
}

/// `size` scaled by `factor`, rounded, at least 1.
pub(crate) fn scaled(size: (u32, u32), factor: f64) -> (u32, u32) {
    (
        ((f64::from(size.0) * factor).round() as u32).max(1),
        ((f64::from(size.1) * factor).round() as u32).max(1),
    )
}

/// What a box blur takes for the pixels beyond a plane's edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outside {
    /// Zeros: values near the edge fade (the right thing for coverage, such as ink).
    Zero,
    /// Nothing: each output is the mean of the pixels of its window that exist, so a
    /// flat plane stays flat up to its edges (the right thing for tones).
    Missing,
}

/// Box-blurs a `width`-wide plane twice with `radius` along each axis (close to a
/// Gaussian), in place, by running sums so the cost does not grow with the radius.
pub(crate) fn box_blur_twice(values: &mut [f32], width: usize, radius: usize, outside: Outside) {
    if radius == 0 || width == 0 {
        return;
    }
    let height = values.len() / width;
    let mut column = vec![0f32; height];
    for _ in 0..2 {
        for row in values.chunks_exact_mut(width) {
            box_blur_line(row, radius, outside);
        }
        for x in 0..width {
            column
                .iter_mut()
                .enumerate()
                .for_each(|(y, v)| *v = values[y * width + x]);
            box_blur_line(&mut column, radius, outside);
            column
                .iter()
                .enumerate()
                .for_each(|(y, v)| values[y * width + x] = *v);
        }
    }
}

/// A box blur of one line in place.
fn box_blur_line(line: &mut [f32], radius: usize, outside: Outside) {
    let mut prefix = Vec::with_capacity(line.len() + 1);
    prefix.push(0f32);
    for v in line.iter() {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + v);
    }
    let full = (2 * radius + 1) as f32;
    for (i, v) in line.iter_mut().enumerate() {
        let lo = i.saturating_sub(radius);
        let hi = (i + radius + 1).min(prefix.len() - 1);
        let count = match outside {
            Outside::Zero => full,
            Outside::Missing => (hi - lo) as f32,
        };
        *v = (prefix[hi] - prefix[lo]) / count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_blur_keeps_a_flat_plane_flat_only_when_nothing_lies_outside() {
        let mut missing = vec![2.0f32; 7 * 5];
        box_blur_twice(&mut missing, 7, 2, Outside::Missing);
        assert!(
            missing.iter().all(|v| (v - 2.0).abs() < 1e-6),
            "{missing:?}"
        );
        let mut zero = vec![2.0f32; 7 * 5];
        box_blur_twice(&mut zero, 7, 2, Outside::Zero);
        assert!(
            zero[0] < 1.0 && zero[0] > 0.0,
            "the corner fades: {}",
            zero[0]
        );
        // A single bright pixel spreads symmetrically and keeps its total away from edges.
        let mut spot = vec![0f32; 21 * 21];
        spot[10 * 21 + 10] = 1.0;
        box_blur_twice(&mut spot, 21, 2, Outside::Zero);
        assert!((spot.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(spot[10 * 21 + 8] > 0.01);
        assert!(close(spot[10 * 21 + 8], spot[10 * 21 + 12]));
        assert!(close(spot[8 * 21 + 10], spot[10 * 21 + 8]));
    }
}
