//! Compositing stamps onto images: premultiplied "source over" in sRGB, as browsers and
//! CSS blend, so a mark looks the same as it would in a web page. The base's alpha is
//! respected: opacity is never multiplied by it, an opaque base stays opaque, and
//! transparent areas take the mark's colour (never black).
//!
//! Only the pixels under a stamp are touched, in place on the 8-bit image, so a mark on a
//! large photo costs memory for the mark, not for another copy of the photo in floats.

use image::{DynamicImage, RgbImage, RgbaImage};

use super::stamp::Stamp;

/// The base image being marked: 8-bit RGB, or RGBA when it has alpha.
pub(crate) enum Canvas {
    Opaque(RgbImage),
    Translucent(RgbaImage),
}

impl Canvas {
    /// A canvas from any image (grey images become colour: the mark may be coloured).
    pub fn from_image(image: &DynamicImage) -> Canvas {
        if image.color().has_alpha() {
            Canvas::Translucent(image.to_rgba8())
        } else {
            Canvas::Opaque(image.to_rgb8())
        }
    }

    /// Draws `stamp` with its top-left corner at `(x, y)` (may be partly outside).
    pub fn draw(&mut self, stamp: &Stamp, x: i64, y: i64) {
        let (width, height) = match self {
            Canvas::Opaque(image) => image.dimensions(),
            Canvas::Translucent(image) => image.dimensions(),
        };
        let (w, h) = (i64::from(width), i64::from(height));
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
                let (tx, ty) = (tx as u32, ty as u32);
                match self {
                    Canvas::Opaque(image) => {
                        let pixel = &mut image.get_pixel_mut(tx, ty).0;
                        let blended = over(src, [pixel[0], pixel[1], pixel[2], 255]);
                        pixel.copy_from_slice(&blended[..3]);
                    }
                    Canvas::Translucent(image) => {
                        let pixel = &mut image.get_pixel_mut(tx, ty).0;
                        *pixel = over(src, *pixel);
                    }
                }
            }
        }
    }

    /// The marked image.
    pub fn into_image(self) -> DynamicImage {
        match self {
            Canvas::Opaque(image) => DynamicImage::ImageRgb8(image),
            Canvas::Translucent(image) => DynamicImage::ImageRgba8(image),
        }
    }
}

/// `src` (premultiplied, 0..1) over `dst` (straight 8-bit RGBA), as straight 8-bit RGBA.
fn over(src: [f32; 4], dst: [u8; 4]) -> [u8; 4] {
    let dst_alpha = f32::from(dst[3]) / 255.0;
    let keep = 1.0 - src[3];
    let alpha = src[3] + dst_alpha * keep;
    if alpha <= 0.0 {
        return [0; 4];
    }
    let to_u8 = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    let channel = |i: usize| to_u8((src[i] + f32::from(dst[i]) / 255.0 * dst_alpha * keep) / alpha);
    [channel(0), channel(1), channel(2), to_u8(alpha)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_over_keeps_opaque_bases_opaque_and_colours_transparent_ones() {
        let half_red = [0.5, 0.0, 0.0, 0.5];
        assert_eq!(over(half_red, [0, 0, 255, 255]), [128, 0, 128, 255]);
        assert_eq!(over(half_red, [0, 0, 0, 0]), [255, 0, 0, 128]);
        assert_eq!(over([0.0; 4], [1, 2, 3, 4]), [1, 2, 3, 4]);
    }
}
