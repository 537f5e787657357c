//! Generated photo-like images: a sky with soft clouds over textured ground with a few
//! shaded objects and a little sensor noise, and their semantic maps. The watermark
//! tests, benchmarks and robustness tables run on these, so they need no photo files.

use image::{DynamicImage, Rgb, RgbImage};

use super::Region;
use crate::rng::SplitMix64;

/// A photo-like image of `width` x `height`; each seed gives another scene, and the same
/// seed the same pixels.
///
/// ```
/// let a = stylemark::samples::photo(160, 120, 3);
/// assert_eq!((a.width(), a.height()), (160, 120));
/// assert_eq!(a, stylemark::samples::photo(160, 120, 3));
/// assert_ne!(a, stylemark::samples::photo(160, 120, 4));
/// ```
pub fn photo(width: u32, height: u32, seed: u64) -> DynamicImage {
    DynamicImage::ImageRgb8(scene(width, height, seed).0)
}

/// The semantic map of [`photo`] with the same arguments, in the sample scenes' map
/// colours: [`Region::Sky`] above the horizon, [`Region::Land`] below it and
/// [`Region::Rocks`] for the objects, so the demo painting's map pairs with it.
///
/// ```
/// use stylemark::samples::{Region, photo_map};
/// let map = photo_map(160, 120, 3);
/// assert_eq!(map.get_pixel(80, 0).0, Region::Sky.map_colour());
/// assert_eq!(map.get_pixel(80, 119).0, Region::Land.map_colour());
/// ```
pub fn photo_map(width: u32, height: u32, seed: u64) -> RgbImage {
    let regions = scene(width, height, seed).1;
    RgbImage::from_fn(width, height, |x, y| {
        Rgb(regions[(y * width + x) as usize].map_colour())
    })
}

/// The photo and the region of each of its pixels.
fn scene(width: u32, height: u32, seed: u64) -> (RgbImage, Vec<Region>) {
    let mut rng = SplitMix64::new(seed ^ 0x005e_ed0f_1a7e);
    let (w, h) = (width as usize, height as usize);
    let scale = f64::from(width.max(height));
    let texture = fractal_noise(w, h, scale, 0.85, &mut rng);
    let clouds = fractal_noise(w, h, scale, 1.6, &mut rng);
    let horizon_shape = fractal_noise(w, 1, scale, 1.4, &mut rng);
    let horizon = 0.35 + 0.25 * rng.uniform();
    let sky_top = [
        40.0 + 60.0 * rng.uniform(),
        90.0 + 60.0 * rng.uniform(),
        170.0 + 70.0 * rng.uniform(),
    ];
    let ground = [
        60.0 + 90.0 * rng.uniform(),
        70.0 + 80.0 * rng.uniform(),
        30.0 + 50.0 * rng.uniform(),
    ];
    let objects: Vec<Disc> = (0..3 + rng.below(4))
        .map(|_| Disc::random(w, h, &mut rng))
        .collect();

    let mut pixels = vec![[0f64; 3]; w * h];
    let mut regions = vec![Region::Land; w * h];
    for y in 0..h {
        for (x, shape) in horizon_shape.iter().enumerate() {
            let i = y * w + x;
            let v = y as f64 / h as f64;
            let edge = horizon + 0.08 * shape;
            if v < edge {
                regions[i] = Region::Sky;
            }
            pixels[i] = if v < edge {
                let t = v / edge;
                let cloud = (clouds[i] * 1.5).clamp(0.0, 1.0);
                std::array::from_fn(|c| {
                    let blue = sky_top[c] + (225.0 - sky_top[c]) * t * 0.7;
                    blue + (245.0 - blue) * cloud
                })
            } else {
                let shade = 1.0 + 0.45 * texture[i] - 0.25 * (v - edge);
                ground.map(|g| g * shade)
            };
        }
    }
    for disc in &objects {
        disc.paint(&mut pixels, &mut regions, w, h);
    }
    let image = RgbImage::from_fn(width, height, |x, y| {
        let pixel = pixels[y as usize * w + x as usize];
        Rgb(pixel.map(|c| (c + 1.5 * rng.normal()).round().clamp(0.0, 255.0) as u8))
    });
    (image, regions)
}

/// A shaded disc: a lit side, a dark side and a crisp edge.
struct Disc {
    centre: (f64, f64),
    radius: f64,
    colour: [f64; 3],
}

impl Disc {
    fn random(w: usize, h: usize, rng: &mut SplitMix64) -> Disc {
        let size = w.min(h) as f64;
        Disc {
            centre: (
                rng.uniform() * w as f64,
                (0.3 + 0.7 * rng.uniform()) * h as f64,
            ),
            radius: size * (0.05 + 0.12 * rng.uniform()),
            colour: [
                40.0 + 200.0 * rng.uniform(),
                40.0 + 200.0 * rng.uniform(),
                40.0 + 200.0 * rng.uniform(),
            ],
        }
    }

    fn paint(&self, pixels: &mut [[f64; 3]], regions: &mut [Region], w: usize, h: usize) {
        let (cx, cy, r) = (self.centre.0, self.centre.1, self.radius);
        let y_range = (cy - r).max(0.0) as usize..((cy + r).ceil() as usize).min(h);
        let x_range = (cx - r).max(0.0) as usize..((cx + r).ceil() as usize).min(w);
        for y in y_range {
            for x in x_range.clone() {
                let (dx, dy) = ((x as f64 - cx) / r, (y as f64 - cy) / r);
                let d2 = dx * dx + dy * dy;
                if d2 < 1.0 {
                    let light = 0.55 + 0.45 * (-(dx + dy) * 0.7 + (1.0 - d2).sqrt() * 0.6);
                    pixels[y * w + x] = self.colour.map(|c| c * light);
                    regions[y * w + x] = Region::Rocks;
                }
            }
        }
    }
}

/// Sum of value-noise octaves from 2 px up to the image's size, each octave's amplitude
/// growing with its scale (`scale^exponent`, normalised): a 1/f-like field around 0.
fn fractal_noise(
    w: usize,
    h: usize,
    image_size: f64,
    exponent: f64,
    rng: &mut SplitMix64,
) -> Vec<f64> {
    let mut field = vec![0f64; w * h];
    let mut total = 0.0;
    let mut cell = 2.0;
    while cell <= image_size / 2.0 {
        let amplitude = (cell / image_size).powf(exponent * 0.5);
        total += amplitude;
        let (gw, gh) = (
            (w as f64 / cell) as usize + 2,
            (h as f64 / cell) as usize + 2,
        );
        let grid: Vec<f64> = (0..gw * gh).map(|_| rng.uniform() * 2.0 - 1.0).collect();
        for y in 0..h {
            let gy = y as f64 / cell;
            let (y0, fy) = (gy as usize, smooth(gy.fract()));
            for x in 0..w {
                let gx = x as f64 / cell;
                let (x0, fx) = (gx as usize, smooth(gx.fract()));
                let at = |i: usize, j: usize| grid[j * gw + i];
                let top = at(x0, y0) + (at(x0 + 1, y0) - at(x0, y0)) * fx;
                let bottom = at(x0, y0 + 1) + (at(x0 + 1, y0 + 1) - at(x0, y0 + 1)) * fx;
                field[y * w + x] += amplitude * (top + (bottom - top) * fy);
            }
        }
        cell *= 2.0;
    }
    field.iter_mut().for_each(|v| *v /= total);
    field
}

fn smooth(t: f64) -> f64 {
    t * t * (3.0 - 2.0 * t)
}
