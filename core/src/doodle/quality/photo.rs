//! Does a painted photo keep the photo and take the painting? The measures of the
//! project's photo score (`shared/tools/photo_score.py`), computed the same way: every
//! image at 256 px on its longer side, luminance as CIE L*, Gaussian filters with
//! mirrored edges.

use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};
use serde::Serialize;

use crate::rng::SplitMix64;

/// The longer side every image is scored at.
const SIDE: u32 = 256;

/// How a painted photo compares with the photo and the painting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PhotoScores {
    /// Correlation of the blurred luminance of result and photo (1 = the same layout and
    /// shading).
    pub structure: f64,
    /// Correlation of their band-pass luminance (eyes, mouths, window frames: what makes
    /// a face or a building recognisable).
    pub shapes: f64,
    /// How strongly those shapes show: the band-pass spread of the result over the
    /// photo's.
    pub shape_contrast: f64,
    /// Correlation of their gradient magnitude (where the outlines are).
    pub contours: f64,
    /// Mean CIE Lab distance from the result's pixels to the nearest colour of the
    /// painting (0 = only the painting's colours).
    pub palette: f64,
    /// The same for the photo itself, for scale.
    pub photo_palette: f64,
    /// High-frequency (Laplacian) energy of the result over the painting's: brush
    /// strokes, about 1; below, blurred; far above, noise.
    pub detail: f64,
}

/// Scores `result`, a painting of `photo` in the style of `style`.
///
/// ```
/// use stylemark::doodle::quality::score_photo;
/// use stylemark::samples::photo;
///
/// let (painting, picture) = (photo(96, 64, 1), photo(96, 64, 2));
/// let itself = score_photo(&painting, &picture, &picture);
/// assert!(itself.shapes > 0.999 && itself.contours > 0.999);
/// assert!((itself.palette - itself.photo_palette).abs() < 1e-9);
/// ```
pub fn score_photo(
    style: &DynamicImage,
    photo: &DynamicImage,
    result: &DynamicImage,
) -> PhotoScores {
    let style = Plane::lab(&fit(style, None));
    let photo_rgb = fit(photo, None);
    let size = photo_rgb.dimensions();
    let photo = Plane::lab(&photo_rgb);
    let result = Plane::lab(&fit(result, Some(size)));
    let (ls, lp, lr) = (&style.l, &photo.l, &result.l);
    let correlate = |f: &dyn Fn(&PlaneValues) -> Vec<f64>| correlation(&f(lp), &f(lr));
    let band = |plane: &PlaneValues| -> Vec<f64> {
        let (fine, coarse) = (plane.gaussian(1.5), plane.gaussian(6.0));
        fine.iter().zip(&coarse).map(|(a, b)| a - b).collect()
    };
    let edges = |plane: &PlaneValues| -> Vec<f64> {
        let smooth = plane.with(plane.gaussian(2.0));
        let (gy, gx) = (smooth.sobel(0), smooth.sobel(1));
        let magnitude = gy.iter().zip(&gx).map(|(a, b)| a.hypot(*b)).collect();
        smooth.with(magnitude).gaussian(2.0)
    };
    let detail = |plane: &PlaneValues| -> f64 {
        let laplacian = plane.with(plane.gaussian(0.7)).laplace();
        laplacian.iter().map(|v| v * v).sum::<f64>() / laplacian.len() as f64
    };
    PhotoScores {
        structure: correlate(&|p| p.gaussian(3.0)),
        shapes: correlate(&|p| band(p)),
        shape_contrast: deviation(&band(lr)) / deviation(&band(lp)).max(1e-9),
        contours: correlate(&|p| edges(p)),
        palette: palette_distance(&result, &style),
        photo_palette: palette_distance(&photo, &style),
        detail: detail(lr) / detail(ls).max(1e-12),
    }
}

/// The image at [`SIDE`] px on its longer side (or at `size`), bicubic.
fn fit(image: &DynamicImage, size: Option<(u32, u32)>) -> RgbImage {
    let rgb = crate::pixels::to_rgb(image);
    let (w, h) = size.unwrap_or_else(|| {
        let scale = f64::from(SIDE) / f64::from(rgb.width().max(rgb.height()));
        let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
        (side(rgb.width()), side(rgb.height()))
    });
    image::imageops::resize(&rgb, w, h, FilterType::CatmullRom)
}

/// One image's CIE Lab pixels and its L* plane, in `f64`.
struct Plane {
    lab: Vec<[f64; 3]>,
    l: PlaneValues,
}

/// A plane of values with its size.
struct PlaneValues {
    width: usize,
    height: usize,
    values: Vec<f64>,
}

impl Plane {
    fn lab(image: &RgbImage) -> Self {
        let lab: Vec<[f64; 3]> = image.pixels().map(|p| super::srgb_to_lab(p.0)).collect();
        let (width, height) = (image.width() as usize, image.height() as usize);
        Plane {
            l: PlaneValues {
                width,
                height,
                values: lab.iter().map(|p| p[0]).collect(),
            },
            lab,
        }
    }
}

impl PlaneValues {
    fn with(&self, values: Vec<f64>) -> PlaneValues {
        PlaneValues {
            width: self.width,
            height: self.height,
            values,
        }
    }

    /// A Gaussian filter as scipy's `gaussian_filter` (kernel radius 4 sigma, mirrored
    /// edges).
    fn gaussian(&self, sigma: f64) -> Vec<f64> {
        let radius = (4.0 * sigma + 0.5) as isize;
        let kernel: Vec<f64> = (-radius..=radius)
            .map(|i| (-0.5 * (i as f64 / sigma).powi(2)).exp())
            .collect();
        let total: f64 = kernel.iter().sum();
        let kernel: Vec<f64> = kernel.iter().map(|k| k / total).collect();
        let rows = self.convolve(&self.values, &kernel, 1);
        self.convolve(&rows, &kernel, 0)
    }

    /// scipy's `sobel` along `axis` (0: rows, i.e. vertical derivative).
    fn sobel(&self, axis: usize) -> Vec<f64> {
        let derivative = self.convolve(&self.values, &[-1.0, 0.0, 1.0], axis);
        self.convolve(&derivative, &[1.0, 2.0, 1.0], 1 - axis)
    }

    /// scipy's `laplace`: the second differences along both axes.
    fn laplace(&self) -> Vec<f64> {
        let (a, b) = (
            self.convolve(&self.values, &[1.0, -2.0, 1.0], 0),
            self.convolve(&self.values, &[1.0, -2.0, 1.0], 1),
        );
        a.iter().zip(&b).map(|(x, y)| x + y).collect()
    }

    /// Correlates `values` with an odd `kernel` along `axis` (0: down the columns, 1:
    /// along the rows); beyond the edges the plane is mirrored (`d c b a | a b c d`).
    fn convolve(&self, values: &[f64], kernel: &[f64], axis: usize) -> Vec<f64> {
        let (w, h) = (self.width as isize, self.height as isize);
        let radius = (kernel.len() / 2) as isize;
        let length = if axis == 0 { h } else { w };
        let mirror = |i: isize| -> usize {
            let period = 2 * length;
            let m = i.rem_euclid(period);
            (if m < length { m } else { period - 1 - m }) as usize
        };
        let mut out = vec![0f64; values.len()];
        for y in 0..h {
            for x in 0..w {
                let mut sum = 0.0;
                for (k, weight) in kernel.iter().enumerate() {
                    let offset = k as isize - radius;
                    let index = if axis == 0 {
                        mirror(y + offset) * w as usize + x as usize
                    } else {
                        y as usize * w as usize + mirror(x + offset)
                    };
                    sum += weight * values[index];
                }
                out[(y * w + x) as usize] = sum;
            }
        }
        out
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn deviation(values: &[f64]) -> f64 {
    crate::pixels::mean_and_deviation(values.iter().copied()).1
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma).powi(2);
        vb += (y - mb).powi(2);
    }
    cov / (va * vb).sqrt().max(1e-300)
}

/// The mean distance from 6,000 sampled pixels of `image` to the nearest of 3,000
/// sampled pixels of `style` (fewer if the images are smaller), with a fixed seed.
fn palette_distance(image: &Plane, style: &Plane) -> f64 {
    let mut rng = SplitMix64::new(0);
    let style_sample = sample(&style.lab, 3000, &mut rng);
    let image_sample = sample(&image.lab, 6000, &mut rng);
    let nearest = |p: &[f64; 3]| {
        style_sample
            .iter()
            .map(|s| (0..3).map(|c| (p[c] - s[c]).powi(2)).sum::<f64>())
            .fold(f64::INFINITY, f64::min)
            .sqrt()
    };
    image_sample.iter().map(nearest).sum::<f64>() / image_sample.len().max(1) as f64
}

/// `count` distinct items drawn at random (all of them when there are fewer).
fn sample(items: &[[f64; 3]], count: usize, rng: &mut SplitMix64) -> Vec<[f64; 3]> {
    let mut indices: Vec<usize> = (0..items.len()).collect();
    let count = count.min(items.len());
    for i in 0..count {
        let j = i + rng.below((items.len() - i) as u64) as usize;
        indices.swap(i, j);
    }
    indices[..count].iter().map(|&i| items[i]).collect()
}
