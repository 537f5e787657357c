//! Compositing stamps onto images: premultiplied "source over" in sRGB, as browsers and
//! CSS blend, so a mark looks the same as it would in a web page. The base's alpha is
//! respected: opacity is never multiplied by it, an opaque base stays opaque, and
//! transparent areas take the mark's colour (never black).

use image::{DynamicImage, RgbImage, RgbaImage};

use super::stamp::Stamp;

/// The base image as premultiplied RGBA for compositing, and whether it has alpha.
pub(crate) struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<[f32; 4]>,
    has_alpha: bool,
}

impl Canvas {
    /// A canvas from any image (grey images become colour: the mark may be coloured).
    pub fn from_image(image: &DynamicImage) -> Canvas {
        let stamp = Stamp::from_image(image);
        Canvas {
            width: stamp.width,
            height: stamp.height,
            pixels: stamp.pixels,
            has_alpha: image.color().has_alpha(),
        }
    }

    /// Draws `stamp` with its top-left corner at `(x, y)` (may be partly outside).
    pub fn draw(&mut self, stamp: &Stamp, x: i64, y: i64) {
        let (w, h) = (i64::from(self.width), i64::from(self.height));
        for sy in 0..i64::from(stamp.height) {
            let ty = y + sy;
            if !(0..h).contains(&ty) {
                continue;
            }
            for sx in 0..i64::from(stamp.width) {
                let tx = x + sx;
                if !(0..w).contains(&tx) {
                    continue;
                }
                let src = stamp.pixels[(sy * i64::from(stamp.width) + sx) as usize];
                if src[3] <= 0.0 {
                    continue;
                }
                let dst = &mut self.pixels[(ty * w + tx) as usize];
                let keep = 1.0 - src[3];
                *dst = std::array::from_fn(|i| src[i] + dst[i] * keep);
            }
        }
    }

    /// The result in 8-bit RGB, or RGBA when the base had alpha.
    pub fn into_image(self) -> DynamicImage {
        let to_u8 = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
        let straight = |p: &[f32; 4]| -> [u8; 4] {
            if p[3] <= 0.0 {
                return [0; 4];
            }
            [
                to_u8(p[0] / p[3]),
                to_u8(p[1] / p[3]),
                to_u8(p[2] / p[3]),
                to_u8(p[3]),
            ]
        };
        if self.has_alpha {
            let raw = self.pixels.iter().flat_map(straight).collect();
            DynamicImage::ImageRgba8(
                RgbaImage::from_raw(self.width, self.height, raw).expect("canvas size"),
            )
        } else {
            // Opaque base: alpha stays 1 through "source over", colour is already straight.
            let raw = self
                .pixels
                .iter()
                .flat_map(|p| [to_u8(p[0]), to_u8(p[1]), to_u8(p[2])])
                .collect();
            DynamicImage::ImageRgb8(
                RgbImage::from_raw(self.width, self.height, raw).expect("canvas size"),
            )
        }
    }
}
