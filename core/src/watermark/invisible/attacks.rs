//! The everyday transformations an image meets on its way through the web, as functions,
//! so the robustness of marks can be measured (the tests and the robustness table in
//! `docs/PERFORMANCE.md` use exactly these).
//!
//! ```
//! use stylemark::watermark::invisible::attacks;
//! let image = stylemark::samples::photo(200, 100, 1);
//! assert_eq!(attacks::resize(&image, 0.5).width(), 100);
//! assert_eq!(attacks::crop(&image, 0.1, 0.0, 0.0, 0.0).width(), 180);
//! let jpeg = attacks::jpeg_420(&image, 50)?;
//! assert_eq!(jpeg.width(), 200);
//! # Ok::<(), stylemark::Error>(())
//! ```

use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};

use crate::Result;
use crate::io::{DecodeLimits, OutputFormat, decode, encode};
use crate::rng::SplitMix64;

/// A JPEG round trip at `quality` with 4:2:0 chroma (the chroma planes are averaged over
/// 2x2 blocks before encoding, as phone cameras and social networks do; the `image`
/// crate's encoder itself keeps full-resolution chroma).
pub fn jpeg_420(image: &DynamicImage, quality: u8) -> Result<DynamicImage> {
    let subsampled = DynamicImage::ImageRgb8(subsample_chroma(&image.to_rgb8()));
    decode(
        &encode(&subsampled, OutputFormat::Jpeg { quality })?,
        &DecodeLimits::default(),
    )
}

/// A round trip through a lossless format (`OutputFormat::Png`, or WebP, which the `image`
/// crate writes losslessly).
pub fn round_trip(image: &DynamicImage, format: OutputFormat) -> Result<DynamicImage> {
    decode(&encode(image, format)?, &DecodeLimits::default())
}

/// Resized by `factor` (Lanczos when shrinking, Catmull-Rom when enlarging, as image
/// editors do).
pub fn resize(image: &DynamicImage, factor: f32) -> DynamicImage {
    let width = ((image.width() as f32 * factor).round() as u32).max(1);
    let height = ((image.height() as f32 * factor).round() as u32).max(1);
    let filter = if factor < 1.0 {
        FilterType::Lanczos3
    } else {
        FilterType::CatmullRom
    };
    image.resize_exact(width, height, filter)
}

/// Cut fractions of the width or height off the left, top, right and bottom.
pub fn crop(image: &DynamicImage, left: f32, top: f32, right: f32, bottom: f32) -> DynamicImage {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let x = (w * left).round() as u32;
    let y = (h * top).round() as u32;
    let width = ((w * (1.0 - left - right)).round() as u32).max(1);
    let height = ((h * (1.0 - top - bottom)).round() as u32).max(1);
    image.crop_imm(x, y, width, height)
}

/// Brightness scaled by `factor` (1.2 is 20% brighter), clipped.
pub fn brightness(image: &DynamicImage, factor: f32) -> DynamicImage {
    map_rgb(image, |v| v * factor)
}

/// Contrast scaled by `factor` around mid-grey, clipped.
pub fn contrast(image: &DynamicImage, factor: f32) -> DynamicImage {
    map_rgb(image, |v| 128.0 + (v - 128.0) * factor)
}

/// Gaussian noise of standard deviation `sigma` (grey levels), seeded.
pub fn noise(image: &DynamicImage, sigma: f32, seed: u64) -> DynamicImage {
    let mut rng = SplitMix64::new(seed);
    map_rgb(image, |v| v + sigma * rng.normal() as f32)
}

/// Rotated by `degrees` about the centre, keeping the size (corners filled with edge
/// colours by clamping).
pub fn rotate(image: &DynamicImage, degrees: f32) -> DynamicImage {
    let rgb = image.to_rgb8();
    let (w, h) = (rgb.width() as f32, rgb.height() as f32);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let sample = |x: f32, y: f32, c: usize| {
        let x = x.clamp(0.0, w - 1.0);
        let y = y.clamp(0.0, h - 1.0);
        let (x0, y0) = (x.floor() as u32, y.floor() as u32);
        let (x1, y1) = (
            (x0 + 1).min(rgb.width() - 1),
            (y0 + 1).min(rgb.height() - 1),
        );
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let p = |x, y| f32::from(rgb.get_pixel(x, y).0[c]);
        let top = p(x0, y0) + (p(x1, y0) - p(x0, y0)) * fx;
        let bottom = p(x0, y1) + (p(x1, y1) - p(x0, y1)) * fx;
        top + (bottom - top) * fy
    };
    DynamicImage::ImageRgb8(RgbImage::from_fn(rgb.width(), rgb.height(), |x, y| {
        let (dx, dy) = (x as f32 - w / 2.0, y as f32 - h / 2.0);
        let (sx, sy) = (
            cos * dx + sin * dy + w / 2.0,
            -sin * dx + cos * dy + h / 2.0,
        );
        Rgb(std::array::from_fn(|c| {
            sample(sx, sy, c).round().clamp(0.0, 255.0) as u8
        }))
    }))
}

fn map_rgb(image: &DynamicImage, mut f: impl FnMut(f32) -> f32) -> DynamicImage {
    let mut rgb = image.to_rgb8();
    for value in rgb.iter_mut() {
        *value = f(f32::from(*value)).round().clamp(0.0, 255.0) as u8;
    }
    DynamicImage::ImageRgb8(rgb)
}

/// Averages Cb and Cr over 2x2 blocks, keeping luma (JFIF YCbCr).
fn subsample_chroma(rgb: &RgbImage) -> RgbImage {
    let (w, h) = rgb.dimensions();
    let ycc: Vec<[f32; 3]> = rgb.pixels().map(|p| to_ycbcr(p.0)).collect();
    RgbImage::from_fn(w, h, |x, y| {
        let (bx, by) = (x & !1, y & !1);
        let mut chroma = [0f32; 2];
        let mut count = 0.0;
        for j in by..(by + 2).min(h) {
            for i in bx..(bx + 2).min(w) {
                let p = ycc[(j * w + i) as usize];
                chroma[0] += p[1];
                chroma[1] += p[2];
                count += 1.0;
            }
        }
        let luma = ycc[(y * w + x) as usize][0];
        Rgb(from_ycbcr([luma, chroma[0] / count, chroma[1] / count]))
    })
}

fn to_ycbcr([r, g, b]: [u8; 3]) -> [f32; 3] {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    [
        0.299 * r + 0.587 * g + 0.114 * b,
        128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
        128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
    ]
}

fn from_ycbcr([y, cb, cr]: [f32; 3]) -> [u8; 3] {
    let (cb, cr) = (cb - 128.0, cr - 128.0);
    [
        y + 1.402 * cr,
        y - 0.344_136 * cb - 0.714_136 * cr,
        y + 1.772 * cb,
    ]
    .map(|v| v.round().clamp(0.0, 255.0) as u8)
}
