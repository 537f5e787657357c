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

/// The longer side [`PhotoScores::fine_edges`] is measured at.
const FINE_SIDE: u32 = 512;

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
    /// At 512 px: where the photo's strongest fine edges are (the top 10% of its gradient
    /// at 1 px: eyelids, lips, window frames, cables), does the result have an edge of
    /// the same orientation? The mean of |cos(angle difference)| times the result's
    /// gradient there over its own 75th percentile (at most 1). Texture unrelated to the
    /// photo scores about 0.35-0.40; a painting that keeps the photo's drawing scores
    /// high. The measure that agrees with people judging side by side.
    pub fine_edges: f64,
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
    let (photo_image, result_image) = (photo, result);
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
        fine_edges: fine_edges(photo_image, result_image, None),
    }
}

/// [`PhotoScores::fine_edges`] of `result` against `photo`, counting only the photo's
/// edges that lie in the part of `map` (a flat-colour map over the photo, as for
/// `mapped_transfer`) painted in one of `colours`: for instance a face, to see whether its
/// eyes, nose and mouth survive.
///
/// ```
/// use stylemark::doodle::quality::fine_edges_within;
/// use stylemark::image::{DynamicImage, Rgb, RgbImage};
/// use stylemark::samples::photo;
///
/// let picture = photo(128, 96, 3);
/// // The left half of the map is red.
/// let map = DynamicImage::ImageRgb8(RgbImage::from_fn(128, 96, |x, _| {
///     if x < 64 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) }
/// }));
/// let itself = fine_edges_within(&picture, &picture, &map, &[[255, 0, 0]]);
/// assert!(itself > 0.99);
/// let blurred = picture.blur(3.0);
/// assert!(fine_edges_within(&picture, &blurred, &map, &[[255, 0, 0]]) < itself);
/// ```
pub fn fine_edges_within(
    photo: &DynamicImage,
    result: &DynamicImage,
    map: &DynamicImage,
    colours: &[[u8; 3]],
) -> f64 {
    fine_edges(photo, result, Some((map, colours)))
}

/// [`PhotoScores::fine_edges`] of `result` against `photo`, within the part of a map in
/// the given colours when there is one.
fn fine_edges(
    photo: &DynamicImage,
    result: &DynamicImage,
    region: Option<(&DynamicImage, &[[u8; 3]])>,
) -> f64 {
    let result = luma_at(result, None);
    let size = (result.width as u32, result.height as u32);
    let photo = luma_at(photo, Some(size));
    let inside: Option<Vec<bool>> = region.map(|(map, colours)| {
        let map = image::imageops::resize(
            &crate::pixels::to_rgb(map),
            size.0,
            size.1,
            FilterType::Nearest,
        );
        map.pixels().map(|p| colours.contains(&p.0)).collect()
    });
    let (px, py) = (
        photo.gaussian_derivative(1.0, 1),
        photo.gaussian_derivative(1.0, 0),
    );
    let (rx, ry) = (
        result.gaussian_derivative(1.0, 1),
        result.gaussian_derivative(1.0, 0),
    );
    let magnitude =
        |x: &[f64], y: &[f64]| -> Vec<f64> { x.iter().zip(y).map(|(a, b)| a.hypot(*b)).collect() };
    let (mp, mr) = (magnitude(&px, &py), magnitude(&rx, &ry));
    let (strong, typical) = (quantile(&mp, 0.9), quantile(&mr, 0.75) + 1e-12);
    let (mut sum, mut count) = (0.0, 0usize);
    for i in 0..mp.len() {
        if mp[i] >= strong && inside.as_ref().is_none_or(|inside| inside[i]) {
            let cos = (px[i] * rx[i] + py[i] * ry[i]).abs() / (mp[i] * mr[i] + 1e-12);
            sum += cos * (mr[i] / typical).min(1.0);
            count += 1;
        }
    }
    sum / count.max(1) as f64
}

/// The image's luma (0-1, Rec. 601 weights) at [`FINE_SIDE`] px on its longer side or at
/// `size`, resized with Lanczos.
fn luma_at(image: &DynamicImage, size: Option<(u32, u32)>) -> PlaneValues {
    let resized = resized(image, FINE_SIDE, size, FilterType::Lanczos3);
    PlaneValues {
        width: resized.width() as usize,
        height: resized.height() as usize,
        values: resized
            .pixels()
            .map(|p| {
                let [r, g, b] = p.0.map(f64::from);
                (0.299 * r + 0.587 * g + 0.114 * b) / 255.0
            })
            .collect(),
    }
}

/// numpy's `quantile` (linear interpolation between the closest ranks).
fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + (position - below as f64) * (sorted[above] - sorted[below])
}

/// The image at [`SIDE`] px on its longer side (or at `size`), bicubic.
fn fit(image: &DynamicImage, size: Option<(u32, u32)>) -> RgbImage {
    resized(image, SIDE, size, FilterType::CatmullRom)
}

/// The image at `longer` px on its longer side (or at `size`) with `filter`.
fn resized(
    image: &DynamicImage,
    longer: u32,
    size: Option<(u32, u32)>,
    filter: FilterType,
) -> RgbImage {
    let rgb = crate::pixels::to_rgb(image);
    let (w, h) = size.unwrap_or_else(|| {
        let scale = f64::from(longer) / f64::from(rgb.width().max(rgb.height()));
        let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
        (side(rgb.width()), side(rgb.height()))
    });
    image::imageops::resize(&rgb, w, h, filter)
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
        let kernel = gaussian_kernel(sigma);
        let rows = self.convolve(&self.values, &kernel, 1);
        self.convolve(&rows, &kernel, 0)
    }

    /// scipy's `gaussian_filter` with the first derivative along `axis` (0: down the
    /// columns, 1: along the rows) and smoothing along the other.
    fn gaussian_derivative(&self, sigma: f64, axis: usize) -> Vec<f64> {
        let smooth = gaussian_kernel(sigma);
        let radius = (smooth.len() / 2) as isize;
        let derivative: Vec<f64> = (-radius..=radius)
            .zip(&smooth)
            .map(|(i, k)| i as f64 / (sigma * sigma) * k)
            .collect();
        let along = self.convolve(&self.values, &derivative, axis);
        self.convolve(&along, &smooth, 1 - axis)
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

/// scipy's normalised Gaussian kernel: radius 4 sigma (rounded).
fn gaussian_kernel(sigma: f64) -> Vec<f64> {
    let radius = (4.0 * sigma + 0.5) as isize;
    let kernel: Vec<f64> = (-radius..=radius)
        .map(|i| (-0.5 * (i as f64 / sigma).powi(2)).exp())
        .collect();
    let total: f64 = kernel.iter().sum();
    kernel.iter().map(|k| k / total).collect()
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
