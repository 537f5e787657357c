//! A stamp: the mark as a premultiplied RGBA image (0..1), ready to be rotated, placed
//! and composited. Premultiplied, so that resampling never drags colour out of
//! transparent pixels (the "dark fringe" bug).

use image::imageops::FilterType;
use image::{DynamicImage, Rgba32FImage};

use crate::{Error, Result};

/// A premultiplied RGBA image, values 0..1.
#[derive(Debug, Clone)]
pub(crate) struct Stamp {
    pub width: u32,
    pub height: u32,
    /// Row-major `[r, g, b, a]`, colour premultiplied by alpha.
    pub pixels: Vec<[f32; 4]>,
}

/// Refuses a `width` x `height` stamp over `max_pixels` ([`Limits::max_stamp_pixels`]),
/// before it is allocated.
pub(crate) fn check_size(width: u64, height: u64, max_pixels: u64) -> Result<()> {
    Error::check_limit(
        "the mark's size in pixels (max_stamp_pixels)",
        width.saturating_mul(height),
        max_pixels,
        "make the text or logo smaller (`size`), or the text shorter",
    )
}

impl Stamp {
    /// A transparent stamp; refused over `max_pixels`.
    pub fn transparent(width: u32, height: u32, max_pixels: u64) -> Result<Stamp> {
        check_size(u64::from(width), u64::from(height), max_pixels)?;
        Ok(Stamp {
            width,
            height,
            pixels: vec![[0.0; 4]; width as usize * height as usize],
        })
    }

    /// A stamp from an image with straight alpha (any layout).
    pub fn from_image(image: &DynamicImage) -> Stamp {
        let rgba = image.to_rgba8();
        let pixels = rgba
            .pixels()
            .map(|p| {
                let a = f32::from(p.0[3]) / 255.0;
                let c = |i: usize| f32::from(p.0[i]) / 255.0 * a;
                [c(0), c(1), c(2), a]
            })
            .collect();
        Stamp {
            width: rgba.width(),
            height: rgba.height(),
            pixels,
        }
    }

    /// Composites `colour` (premultiplied) under coverage `mask` (0..1 per pixel) over this
    /// stamp, where the mask is this stamp's size.
    pub fn paint_under(&mut self, mask: &[f32], colour: [f32; 4]) {
        for (pixel, &coverage) in self.pixels.iter_mut().zip(mask) {
            if coverage <= 0.0 {
                continue;
            }
            let under = colour.map(|c| c * coverage);
            let keep = 1.0 - pixel[3];
            *pixel = std::array::from_fn(|i| pixel[i] + under[i] * keep);
        }
    }

    /// Resized to `width` x `height` (Lanczos when shrinking, Catmull-Rom when enlarging),
    /// in premultiplied space.
    pub fn resized(&self, width: u32, height: u32) -> Stamp {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let raw: Vec<f32> = self.pixels.iter().flatten().copied().collect();
        let buffer = Rgba32FImage::from_raw(self.width, self.height, raw)
            .expect("stamp buffer matches its size");
        let filter = if width < self.width {
            FilterType::Lanczos3
        } else {
            FilterType::CatmullRom
        };
        let resized = image::imageops::resize(&buffer, width.max(1), height.max(1), filter);
        let pixels = resized
            .into_raw()
            .chunks_exact(4)
            .map(|p| {
                // Filters with negative lobes can overshoot; colour may not exceed alpha.
                let a = p[3].clamp(0.0, 1.0);
                [
                    p[0].clamp(0.0, a),
                    p[1].clamp(0.0, a),
                    p[2].clamp(0.0, a),
                    a,
                ]
            })
            .collect();
        Stamp {
            width: width.max(1),
            height: height.max(1),
            pixels,
        }
    }

    /// Rotated clockwise by `degrees` about its centre, on a canvas just large enough
    /// (refused over `max_pixels`).
    pub fn rotated(&self, degrees: f32, max_pixels: u64) -> Result<Stamp> {
        if degrees.rem_euclid(360.0) == 0.0 {
            return Ok(self.clone());
        }
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (w, h) = (self.width as f32, self.height as f32);
        // The small epsilon keeps float fuzz (cos 90 is not quite 0) from adding a pixel.
        let side = |size: f32| (size - 1e-3).ceil().min(u32::MAX as f32 - 2.0) as u32 + 2;
        let out_w = side(w * cos.abs() + h * sin.abs());
        let out_h = side(w * sin.abs() + h * cos.abs());
        let mut out = Stamp::transparent(out_w, out_h, max_pixels)?;
        let (cx, cy) = (w / 2.0, h / 2.0);
        let (ox, oy) = (out_w as f32 / 2.0, out_h as f32 / 2.0);
        for y in 0..out_h {
            for x in 0..out_w {
                // Inverse rotation of the output pixel centre into the source.
                let (dx, dy) = (x as f32 + 0.5 - ox, y as f32 + 0.5 - oy);
                let sx = cos * dx + sin * dy + cx - 0.5;
                let sy = -sin * dx + cos * dy + cy - 0.5;
                out.pixels[y as usize * out_w as usize + x as usize] = self.sample(sx, sy);
            }
        }
        Ok(out)
    }

    /// Bilinear sample; outside the stamp is transparent.
    fn sample(&self, x: f32, y: f32) -> [f32; 4] {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let at = |xi: f32, yi: f32| -> [f32; 4] {
            if xi < 0.0 || yi < 0.0 || xi >= self.width as f32 || yi >= self.height as f32 {
                return [0.0; 4];
            }
            self.pixels[yi as usize * self.width as usize + xi as usize]
        };
        let (a, b, c, d) = (
            at(x0, y0),
            at(x0 + 1.0, y0),
            at(x0, y0 + 1.0),
            at(x0 + 1.0, y0 + 1.0),
        );
        std::array::from_fn(|i| {
            let top = a[i] + (b[i] - a[i]) * fx;
            let bottom = c[i] + (d[i] - c[i]) * fx;
            top + (bottom - top) * fy
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u64 = 1 << 24;

    #[test]
    fn rotating_a_quarter_turn_swaps_the_sides_and_keeps_coverage() {
        let mut stamp = Stamp::transparent(20, 10, LIMIT).unwrap();
        stamp
            .pixels
            .iter_mut()
            .for_each(|p| *p = [1.0, 0.0, 0.0, 1.0]);
        let turned = stamp.rotated(90.0, LIMIT).unwrap();
        assert_eq!((turned.width, turned.height), (12, 22));
        let coverage: f32 = turned.pixels.iter().map(|p| p[3]).sum();
        assert!((coverage - 200.0).abs() < 2.0, "{coverage}");
    }

    #[test]
    fn resizing_never_darkens_edges() {
        let mut stamp = Stamp::transparent(8, 8, LIMIT).unwrap();
        // A white opaque square in a transparent field.
        for y in 2..6 {
            for x in 2..6 {
                stamp.pixels[y * 8 + x] = [1.0, 1.0, 1.0, 1.0];
            }
        }
        for p in stamp.resized(24, 24).pixels {
            // Premultiplied white: colour equals alpha wherever anything is visible.
            assert!((p[0] - p[3]).abs() < 1e-4, "{p:?}");
        }
    }

    #[test]
    fn stamps_past_the_limit_are_refused_before_allocation() {
        // 120 wide characters at 4096 px once wrapped a u32 size and drew out of bounds.
        let err = Stamp::transparent(u32::MAX, u32::MAX, LIMIT).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::LimitExceeded);
        let long = Stamp::transparent(4000, 4000, LIMIT).unwrap();
        let err = long.rotated(45.0, LIMIT).unwrap_err();
        assert!(err.to_string().contains("size in pixels"), "{err}");
    }
}
