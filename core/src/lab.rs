//! CIE L*a*b* (D65) in both directions, in `f32` planes: the colour space in which patch
//! synthesis compares colours and in which a painted photo's tones are adjusted
//! (L* 0-100 is perceptually even, so "a band of luminance" means the same in dark and
//! light areas).

use std::sync::OnceLock;

use image::RgbImage;
use rayon::prelude::*;

/// The D65 white point in XYZ.
const WHITE: [f32; 3] = [0.950_47, 1.0, 1.088_83];

/// sRGB byte to linear light, computed once.
fn linear_table() -> &'static [f32; 256] {
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            let v = i as f64 / 255.0;
            let linear = if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            };
            linear as f32
        })
    })
}

fn lab_f(t: f32) -> f32 {
    if t > 0.008_856 {
        fast_cbrt(t)
    } else {
        7.787 * t + 16.0 / 116.0
    }
}

/// The cube root of a positive, normal `t` to within 1e-5 relative: a first guess from the
/// exponent bits and two Newton steps, about four times faster than `f32::cbrt`, which
/// took most of a colour conversion's time.
fn fast_cbrt(t: f32) -> f32 {
    let mut y = f32::from_bits(t.to_bits() / 3 + 709_921_077);
    for _ in 0..2 {
        y = y - (y * y * y - t) / (3.0 * y * y);
    }
    y
}

fn lab_f_inverse(t: f32) -> f32 {
    if t > 0.206_893 {
        t * t * t
    } else {
        (t - 16.0 / 116.0) / 7.787
    }
}

/// One sRGB pixel to `[L*, a*, b*]` (L* 0-100).
pub(crate) fn from_srgb(rgb: [u8; 3]) -> [f32; 3] {
    let table = linear_table();
    let [r, g, b] = rgb.map(|v| table[usize::from(v)]);
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / WHITE[0];
    let y = (0.2126 * r + 0.7152 * g + 0.0722 * b) / WHITE[1];
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / WHITE[2];
    let (fx, fy, fz) = (lab_f(x), lab_f(y), lab_f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// The L* (0-100) of one sRGB pixel, without its chroma.
pub(crate) fn lightness(rgb: [u8; 3]) -> f32 {
    let table = linear_table();
    let [r, g, b] = rgb.map(|v| table[usize::from(v)]);
    116.0 * lab_f(0.2126 * r + 0.7152 * g + 0.0722 * b) - 16.0
}

/// The sRGB byte whose value, decoded, lies nearest to linear light `c` (clipped to
/// 0-1): a binary search over the midpoints between the 256 codes, exact where a power
/// per channel would cost most of an enlargement's time.
fn encode_srgb(c: f32) -> u8 {
    static MIDPOINTS: OnceLock<[f32; 255]> = OnceLock::new();
    let midpoints = MIDPOINTS.get_or_init(|| {
        std::array::from_fn(|i| {
            let decode = |v: f64| {
                if v <= 0.04045 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            // Halfway between codes i and i+1 in the encoded scale, decoded.
            decode((i as f64 + 0.5) / 255.0) as f32
        })
    });
    midpoints.partition_point(|&m| m < c) as u8
}

/// `[L*, a*, b*]` back to an sRGB pixel; colours outside the sRGB gamut are clipped.
pub(crate) fn to_srgb(lab: [f32; 3]) -> [u8; 3] {
    let fy = (lab[0] + 16.0) / 116.0;
    let fx = fy + lab[1] / 500.0;
    let fz = fy - lab[2] / 200.0;
    let (x, y, z) = (
        lab_f_inverse(fx) * WHITE[0],
        lab_f_inverse(fy) * WHITE[1],
        lab_f_inverse(fz) * WHITE[2],
    );
    let linear = [
        3.2406 * x - 1.5372 * y - 0.4986 * z,
        -0.9689 * x + 1.8758 * y + 0.0415 * z,
        0.0557 * x - 0.2040 * y + 1.0570 * z,
    ];
    linear.map(encode_srgb)
}

/// An image as three planes: L* (0-100), a* and b*.
#[derive(Debug, Clone)]
pub(crate) struct LabPlanes {
    pub width: usize,
    pub height: usize,
    pub l: Vec<f32>,
    pub a: Vec<f32>,
    pub b: Vec<f32>,
}

impl LabPlanes {
    /// Converts an image.
    pub fn from_image(image: &RgbImage) -> Self {
        let pixels: Vec<[f32; 3]> = image
            .as_raw()
            .par_chunks_exact(3)
            .map(|p| from_srgb([p[0], p[1], p[2]]))
            .collect();
        LabPlanes {
            width: image.width() as usize,
            height: image.height() as usize,
            l: pixels.iter().map(|p| p[0]).collect(),
            a: pixels.iter().map(|p| p[1]).collect(),
            b: pixels.iter().map(|p| p[2]).collect(),
        }
    }

    /// Back to an image.
    pub fn to_image(&self) -> RgbImage {
        let bytes: Vec<u8> = (0..self.l.len())
            .into_par_iter()
            .flat_map_iter(|i| to_srgb([self.l[i], self.a[i], self.b[i]]))
            .collect();
        RgbImage::from_raw(self.width as u32, self.height as u32, bytes)
            .expect("three bytes per pixel")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_rounds_to_the_nearest_code_as_the_formula_does() {
        for i in 0..=20_000 {
            let c = i as f32 / 20_000.0;
            let v = if c > 0.003_130_8 {
                1.055 * f64::from(c).powf(1.0 / 2.4) - 0.055
            } else {
                12.92 * f64::from(c)
            };
            let exact = (v * 255.0).round() as i32;
            assert!((i32::from(encode_srgb(c)) - exact).abs() <= 1, "{c}");
            // Off by one only within a hair of a half-way point.
            if i32::from(encode_srgb(c)) != exact {
                assert!(((v * 255.0).fract() - 0.5).abs() < 1e-3, "{c}");
            }
        }
        assert_eq!((encode_srgb(-1.0), encode_srgb(2.0)), (0, 255));
    }

    #[test]
    fn the_fast_cube_root_is_within_1e_5_of_the_exact_one() {
        for i in 0..=100_000 {
            let t = 0.008 + 1.2 * i as f32 / 100_000.0;
            let relative = (fast_cbrt(t) - t.cbrt()).abs() / t.cbrt();
            assert!(
                relative < 1e-5,
                "cbrt({t}): {} vs {}",
                fast_cbrt(t),
                t.cbrt()
            );
        }
    }

    #[test]
    fn white_black_and_grey_have_no_colour() {
        let white = from_srgb([255, 255, 255]);
        assert!((white[0] - 100.0).abs() < 0.01, "{white:?}");
        assert!(white[1].abs() < 0.05 && white[2].abs() < 0.05, "{white:?}");
        assert_eq!(from_srgb([0, 0, 0]), [0.0, 0.0, 0.0]);
        let grey = from_srgb([119, 119, 119]);
        assert!((grey[0] - 50.0).abs() < 0.3, "{grey:?}");
    }

    #[test]
    fn every_grey_and_a_grid_of_colours_come_back_within_one_level() {
        let mut worst = 0;
        for r in (0..=255u8).step_by(15) {
            for g in (0..=255u8).step_by(15) {
                for b in (0..=255u8).step_by(15) {
                    let back = to_srgb(from_srgb([r, g, b]));
                    for (x, y) in back.iter().zip([r, g, b]) {
                        worst = worst.max(x.abs_diff(y));
                    }
                }
            }
        }
        for v in 0..=255u8 {
            assert_eq!(to_srgb(from_srgb([v, v, v])), [v, v, v]);
        }
        assert!(worst <= 1, "worst round trip error {worst}");
    }
}
