//! Conversions between images and planar float pixels / tensors, and resizing helpers.

use burn::tensor::{Device, Tensor, TensorData};
use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};
use rayon::prelude::*;

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

/// Resizes with the bilinear (triangle) filter both ways: softer than [`resize`] when
/// enlarging, but it never rings, which patch synthesis needs of the images it matches;
/// returns the image unchanged when the size already matches.
pub(crate) fn resize_bilinear(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    image::imageops::resize(image, width, height, FilterType::Triangle)
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
    if radius == 0 {
        return;
    }
    box_blur_passes(values, width, &[radius, radius], outside);
}

/// A Gaussian blur of standard deviation `sigma` pixels, approximated by three box blurs
/// whose radii are chosen so the variance is `sigma`'s (Kovesi, "Fast almost-Gaussian
/// filtering", 2010); the cost does not grow with `sigma`. Pixels beyond the edges are
/// left out ([`Outside::Missing`]), so a flat plane stays flat.
pub(crate) fn gaussian_blur(values: &mut [f32], width: usize, sigma: f32) {
    if width == 0 {
        return;
    }
    box_blur_passes(values, width, &gaussian_radii(sigma), Outside::Missing);
}

/// A copy of `values` blurred by [`gaussian_blur`].
pub(crate) fn gaussian_blurred(values: &[f32], width: usize, sigma: f32) -> Vec<f32> {
    let mut out = values.to_vec();
    gaussian_blur(&mut out, width, sigma);
    out
}

/// The mean and standard deviation of `values`, summed in `f64` (0 and 0 for none).
pub(crate) fn mean_and_deviation<I>(values: I) -> (f64, f64)
where
    I: IntoIterator,
    I::Item: Into<f64>,
    I::IntoIter: Clone,
{
    let values = values.into_iter().map(Into::into);
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let variance = values.map(|v: f64| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

/// How far (pixels) [`gaussian_blur`] reaches: a pixel's blurred value depends only on
/// pixels at most this far away along each axis, so a band of rows blurred with this
/// many extra rows above and below gives its rows exactly as a whole-image blur does.
pub(crate) fn gaussian_blur_reach(sigma: f32) -> usize {
    gaussian_radii(sigma).iter().sum()
}

/// The radii of the three box blurs that make up a Gaussian of standard deviation
/// `sigma` (none for a `sigma` that is not positive).
fn gaussian_radii(sigma: f32) -> Vec<usize> {
    if sigma.is_nan() || sigma <= 0.0 {
        return Vec::new();
    }
    const PASSES: f32 = 3.0;
    let variance = 12.0 * sigma * sigma;
    let ideal = (variance / PASSES + 1.0).sqrt();
    let mut lower = ideal.floor() as usize;
    if lower.is_multiple_of(2) {
        lower = lower.saturating_sub(1);
    }
    let lower = lower.max(1) as f32;
    let upper = lower + 2.0;
    let at_lower = ((variance - PASSES * lower * lower - 4.0 * PASSES * lower - 3.0 * PASSES)
        / (-4.0 * lower - 4.0))
        .round()
        .clamp(0.0, PASSES) as usize;
    (0..PASSES as usize)
        .map(|pass| {
            let box_width = if pass < at_lower { lower } else { upper };
            (box_width as usize - 1) / 2
        })
        .filter(|&r| r > 0)
        .collect()
}

/// Box blurs of the given radii along rows, then along columns, by running sums (in
/// `f64`, so long lines do not drift).
fn box_blur_passes(values: &mut [f32], width: usize, radii: &[usize], outside: Outside) {
    if radii.is_empty() || width == 0 || values.is_empty() {
        return;
    }
    values.par_chunks_exact_mut(width).for_each(|row| {
        let mut line = vec![0f64; row.len()];
        for &radius in radii {
            line.iter_mut()
                .zip(row.iter())
                .for_each(|(l, v)| *l = f64::from(*v));
            box_blur_line(&line, row, radius, outside);
        }
    });
    let mut scratch = vec![0f32; values.len()];
    for &radius in radii {
        box_blur_columns(values, &mut scratch, width, radius, outside);
        values.copy_from_slice(&scratch);
    }
}

/// One box blur of a line: `out[i]` is the mean of `line` over `i - radius..=i + radius`.
fn box_blur_line(line: &[f64], out: &mut [f32], radius: usize, outside: Outside) {
    let n = line.len();
    let full = (2 * radius + 1) as f64;
    let mut sum: f64 = line[..radius.min(n)].iter().sum();
    for i in 0..n {
        if i + radius < n {
            sum += line[i + radius];
        }
        if i > radius {
            sum -= line[i - radius - 1];
        }
        let count = match outside {
            Outside::Zero => full,
            Outside::Missing => ((i + radius).min(n - 1) + 1 - i.saturating_sub(radius)) as f64,
        };
        out[i] = (sum / count) as f32;
    }
}

/// One box blur along the columns of `values` into `out`, a whole row at a time.
fn box_blur_columns(
    values: &[f32],
    out: &mut [f32],
    width: usize,
    radius: usize,
    outside: Outside,
) {
    let height = values.len() / width;
    let row = |y: usize| &values[y * width..(y + 1) * width];
    let mut sums = vec![0f64; width];
    for y in 0..radius.min(height) {
        sums.iter_mut()
            .zip(row(y))
            .for_each(|(s, v)| *s += f64::from(*v));
    }
    let full = (2 * radius + 1) as f64;
    for y in 0..height {
        if y + radius < height {
            sums.iter_mut()
                .zip(row(y + radius))
                .for_each(|(s, v)| *s += f64::from(*v));
        }
        if y > radius {
            sums.iter_mut()
                .zip(row(y - radius - 1))
                .for_each(|(s, v)| *s -= f64::from(*v));
        }
        let count = match outside {
            Outside::Zero => full,
            Outside::Missing => {
                ((y + radius).min(height - 1) + 1 - y.saturating_sub(radius)) as f64
            }
        };
        out[y * width..(y + 1) * width]
            .iter_mut()
            .zip(&sums)
            .for_each(|(o, s)| *o = (s / count) as f32);
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

    #[test]
    fn the_gaussian_blur_spreads_a_spot_by_sigma_and_keeps_flat_planes_flat() {
        for sigma in [0.8f32, 1.5, 3.0, 7.0] {
            let side = 81;
            let mut spot = vec![0f32; side * side];
            spot[40 * side + 40] = 1.0;
            gaussian_blur(&mut spot, side, sigma);
            let total: f32 = spot.iter().sum();
            assert!((total - 1.0).abs() < 1e-4, "sigma {sigma}: total {total}");
            let variance: f32 = spot
                .iter()
                .enumerate()
                .map(|(i, v)| v * ((i % side) as f32 - 40.0).powi(2))
                .sum();
            assert!(
                (variance.sqrt() - sigma).abs() < 0.1 * sigma.max(1.0),
                "sigma {sigma}: measured {}",
                variance.sqrt()
            );
        }
        let mut flat = vec![3.0f32; 13 * 7];
        gaussian_blur(&mut flat, 13, 4.0);
        assert!(flat.iter().all(|v| (v - 3.0).abs() < 1e-5), "{flat:?}");
    }
}
