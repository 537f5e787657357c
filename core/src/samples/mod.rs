//! Procedural sample inputs: a painting-like style image with brush strokes, its semantic
//! map, and a doodle with another layout. The demo and the tests use them, so stylemark
//! needs no files and no network to show what it does.

mod photo;

pub use photo::{photo, photo_map};

use image::{Rgb, RgbImage};

use crate::rng::SplitMix64;

/// A region of the sample scenes: its map colour and how it is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Light blue map colour; pale blue and white horizontal strokes.
    Sky,
    /// Yellow map colour; warm, short radial dabs.
    Sun,
    /// Blue map colour; deep blue-green horizontal strokes.
    Sea,
    /// Green map colour; green and ochre vertical strokes.
    Land,
    /// Black map colour (black regions must work); dark red-brown diagonal strokes.
    Rocks,
}

impl Region {
    /// Every region.
    pub const ALL: [Region; 5] = [
        Region::Sky,
        Region::Sun,
        Region::Sea,
        Region::Land,
        Region::Rocks,
    ];

    /// The flat colour of the region in semantic maps.
    pub fn map_colour(self) -> [u8; 3] {
        match self {
            Region::Sky => [140, 200, 255],
            Region::Sun => [255, 230, 0],
            Region::Sea => [0, 40, 200],
            Region::Land => [0, 150, 40],
            Region::Rocks => [0, 0, 0],
        }
    }

    /// Base colours of the strokes.
    fn palette(self) -> [[f32; 3]; 3] {
        match self {
            Region::Sky => [
                [150.0, 185.0, 225.0],
                [205.0, 220.0, 240.0],
                [120.0, 160.0, 215.0],
            ],
            Region::Sun => [
                [250.0, 210.0, 80.0],
                [245.0, 170.0, 40.0],
                [255.0, 235.0, 150.0],
            ],
            Region::Sea => [
                [20.0, 70.0, 120.0],
                [30.0, 110.0, 130.0],
                [60.0, 130.0, 170.0],
            ],
            Region::Land => [
                [70.0, 120.0, 50.0],
                [150.0, 130.0, 60.0],
                [100.0, 150.0, 70.0],
            ],
            Region::Rocks => [[90.0, 45.0, 35.0], [60.0, 35.0, 30.0], [130.0, 70.0, 50.0]],
        }
    }

    /// Main stroke direction in radians (`None`: radial around the region's centre).
    fn direction(self) -> Option<f64> {
        match self {
            Region::Sky | Region::Sea => Some(0.0),
            Region::Land => Some(std::f64::consts::FRAC_PI_2),
            Region::Rocks => Some(std::f64::consts::FRAC_PI_4),
            Region::Sun => None,
        }
    }
}

/// The style painting's layout, in coordinates relative to the image (0-1).
fn style_layout(x: f64, y: f64) -> Region {
    if (x - 0.22).hypot((y - 0.2) * 0.75) < 0.09 {
        Region::Sun
    } else if x > 0.62 && y > 0.18 + 0.5 * (1.0 - x) && y < 0.8 {
        Region::Land
    } else if ((x - 0.38) / 0.12).hypot((y - 0.66) / 0.09) < 1.0 {
        Region::Rocks
    } else if y < 0.5 {
        Region::Sky
    } else {
        Region::Sea
    }
}

/// The doodle's layout: the same regions, rearranged.
fn doodle_layout(x: f64, y: f64) -> Region {
    if (x - 0.78).hypot((y - 0.18) * 0.75) < 0.08 {
        Region::Sun
    } else if ((x - 0.32) / 0.26).hypot((y - 0.55) / 0.2) < 1.0 && y < 0.6 {
        Region::Land
    } else if ((x - 0.62) / 0.1).hypot((y - 0.72) / 0.08) < 1.0
        || ((x - 0.1) / 0.08).hypot((y - 0.64) / 0.06) < 1.0
    {
        Region::Rocks
    } else if y < 0.58 {
        Region::Sky
    } else {
        Region::Sea
    }
}

fn region_grid(width: u32, height: u32, layout: fn(f64, f64) -> Region) -> Vec<Region> {
    (0..height)
        .flat_map(|y| {
            (0..width).map(move |x| {
                layout(
                    (f64::from(x) + 0.5) / f64::from(width),
                    (f64::from(y) + 0.5) / f64::from(height),
                )
            })
        })
        .collect()
}

fn map_image(width: u32, height: u32, regions: &[Region]) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb(regions[(y * width + x) as usize].map_colour())
    })
}

/// The inputs of the demo: a style painting with its map, and a doodle to paint.
#[derive(Debug, Clone)]
pub struct DemoScene {
    /// A painting-like image made of brush strokes.
    pub style: RgbImage,
    /// Its semantic map.
    pub style_map: RgbImage,
    /// A target map with the same regions in another layout.
    pub doodle: RgbImage,
}

/// Generates the demo scene. The style is `width x height`; the doodle has the same size.
/// The same seed gives the same pixels.
///
/// ```
/// let scene = stylemark::samples::demo_scene(96, 72, 1);
/// assert_eq!(scene.style.dimensions(), (96, 72));
/// assert_eq!(scene.doodle.dimensions(), scene.style_map.dimensions());
/// ```
pub fn demo_scene(width: u32, height: u32, seed: u64) -> DemoScene {
    let style_regions = region_grid(width, height, style_layout);
    let doodle_regions = region_grid(width, height, doodle_layout);
    DemoScene {
        style: paint_strokes(width, height, &style_regions, seed),
        style_map: map_image(width, height, &style_regions),
        doodle: map_image(width, height, &doodle_regions),
    }
}

/// Paints every region with overlapping brush strokes clipped to the region.
fn paint_strokes(width: u32, height: u32, regions: &[Region], seed: u64) -> RgbImage {
    let mut rng = SplitMix64::new(seed);
    let (w, h) = (width as usize, height as usize);
    let mut canvas = vec![[0f32; 3]; w * h];
    for (pixel, region) in canvas.iter_mut().zip(regions) {
        *pixel = region.palette()[0];
    }
    let scale = f64::from(width.min(height)) / 192.0;
    let length = (14.0 * scale).max(4.0);
    let thickness = (2.2 * scale).max(1.2);
    let strokes = (w * h) as f64 / (length * thickness) * 2.5;
    for _ in 0..strokes as usize {
        let (x0, y0) = (rng.uniform() * w as f64, rng.uniform() * h as f64);
        let region = regions[(y0 as usize).min(h - 1) * w + (x0 as usize).min(w - 1)];
        let angle = match region.direction() {
            Some(angle) => angle + (rng.uniform() - 0.5) * 0.6,
            None => (y0 - 0.2 * h as f64).atan2(x0 - 0.22 * w as f64) + (rng.uniform() - 0.5) * 0.4,
        };
        let base = region.palette()[rng.below(3) as usize];
        let jitter = (rng.uniform() as f32 - 0.5) * 30.0;
        let colour = base.map(|c| (c + jitter).clamp(0.0, 255.0));
        let this_length = length * (0.6 + 0.8 * rng.uniform());
        draw_stroke(
            &mut canvas,
            w,
            h,
            regions,
            region,
            (x0, y0),
            angle,
            this_length,
            thickness,
            colour,
        );
    }
    RgbImage::from_fn(width, height, |x, y| {
        Rgb(canvas[(y * width + x) as usize].map(|c| c.round().clamp(0.0, 255.0) as u8))
    })
}

/// A soft-edged capsule from `start` along `angle`, blended in only where the region is.
#[allow(clippy::too_many_arguments)]
fn draw_stroke(
    canvas: &mut [[f32; 3]],
    w: usize,
    h: usize,
    regions: &[Region],
    region: Region,
    start: (f64, f64),
    angle: f64,
    length: f64,
    thickness: f64,
    colour: [f32; 3],
) {
    let (dx, dy) = (angle.cos(), angle.sin());
    let end = (start.0 + dx * length, start.1 + dy * length);
    let reach = thickness + 1.0;
    let (x_min, x_max) = (start.0.min(end.0) - reach, start.0.max(end.0) + reach);
    let (y_min, y_max) = (start.1.min(end.1) - reach, start.1.max(end.1) + reach);
    for y in (y_min.max(0.0) as usize)..(y_max.min(h as f64 - 1.0) as usize + 1) {
        for x in (x_min.max(0.0) as usize)..(x_max.min(w as f64 - 1.0) as usize + 1) {
            let i = y * w + x;
            if regions[i] != region {
                continue;
            }
            let (px, py) = (x as f64 + 0.5 - start.0, y as f64 + 0.5 - start.1);
            let along = (px * dx + py * dy).clamp(0.0, length);
            let distance = (px - along * dx).hypot(py - along * dy);
            let coverage = (thickness - distance + 0.5).clamp(0.0, 1.0) as f32 * 0.85;
            if coverage > 0.0 {
                for c in 0..3 {
                    canvas[i][c] += (colour[c] - canvas[i][c]) * coverage;
                }
            }
        }
    }
}
