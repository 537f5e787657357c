//! Blind detection: fold the image's detail onto one tile, find where the keyed pilot sits
//! (which undoes crops and shifts) over a range of scales (which undoes the scale change a
//! crop causes), then read the bits there and check the CRC.

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use super::canonical::{Canonical, detail};
use super::layout::{CHIP, Layout, PAYLOAD_BITS, TILE};
use super::plane::Plane;
use super::{code, payload};
use crate::Result;

/// The smallest shorter side detection reads (a 0.5x copy of the smallest markable image).
pub const MIN_DETECT_SIDE: u32 = 128;
/// Sync score a mark must reach, with a valid CRC, to be reported found. Unmarked images
/// peak near 5 over the whole search; see `docs/PERFORMANCE.md` for the measured rates.
pub(crate) const FOUND_SCORE: f32 = 5.5;
/// Candidate alignments decoded before giving up.
const MAX_TRIES: usize = 24;
/// Peaks kept per scale (a strong sidelobe must not hide the true peak).
const PEAKS_PER_SCALE: usize = 3;
/// Sync score a rotated candidate must reach (see `detect`).
const ROTATED_FOUND_SCORE: f32 = 6.5;
/// Rotations searched (degrees) when the axis-aligned search finds nothing: a turn of
/// up to 2 degrees, as a straightened phone photo or a careless re-save has.
const ROTATIONS: [f32; 8] = [-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0];
/// Scales searched: a crop of up to 11% of the shorter side enlarges the canonical image
/// by up to 1/0.89; the steps keep misalignment under a pixel across 512 px.
const SCALES: (f32, f32, f32) = (0.97, 1.13, 0.005);

/// What detection found.
///
/// ```
/// let detection = stylemark::mark::Detection::default();
/// assert!(!detection.found && detection.payload.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Whether a mark made with this key was found (its CRC checked and its pilot stood
    /// out clearly).
    pub found: bool,
    /// The payload, when found.
    #[serde(with = "hex_bytes")]
    pub payload: Option<Vec<u8>>,
    /// How clearly the best reading's chips agree with its decoded bits, from 0 (chance)
    /// to 1 (every chip agrees). Clean marks read near 1, heavily recompressed ones lower;
    /// unmarked images and wrong keys near 0.
    pub confidence: f32,
    /// How far the pilot's correlation peak stands out, in standard deviations
    /// (`found` needs 5.5).
    pub sync_score: f32,
    /// The scale the mark was found at, relative to how it was embedded (1 when the image
    /// was only resized; above 1 after a crop).
    pub scale: f32,
    /// The 64 payload bits as read at the best alignment, even when the CRC failed: for
    /// diagnostics and bit-accuracy measurements, not for trusting.
    #[serde(skip)]
    pub raw_bits: Vec<bool>,
}

/// How a tile is laid over the folded detail: the scale and the shift in canonical pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Alignment {
    pub scale: f32,
    /// Rotation of the grid, in degrees.
    pub angle: f32,
    pub dx: usize,
    pub dy: usize,
}

impl Alignment {
    pub const IDENTITY: Alignment = Alignment {
        scale: 1.0,
        angle: 0.0,
        dx: 0,
        dy: 0,
    };
}

/// The bits read at one alignment.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    pub bits: [bool; PAYLOAD_BITS],
    /// Fraction of chips agreeing with the re-encoded bits, mapped to 0 (chance) .. 1 (all).
    pub agreement: f32,
    /// Sync score of this alignment.
    pub score: f32,
}

/// Looks for a mark made with `key`.
pub(super) fn detect(image: &DynamicImage, key: &str) -> Result<Detection> {
    super::check_key(key)?;
    super::check_side(image, MIN_DETECT_SIDE)?;
    let (width, height) = (image.width(), image.height());
    let canonical = Canonical::of(width, height);
    let detail = detail(&canonical.resample(&Plane::luma(image)));
    let layout = Layout::for_key(key);

    // Axis-aligned first; small rotations only when that finds nothing, so unmarked
    // images and untouched marks pay for one search, not nine.
    let straight = candidates(&detail, &layout, &[0.0]);
    if let Some(found) = first_decodable(&straight, &layout, FOUND_SCORE) {
        return Ok(found);
    }
    // Eight times the hypotheses raise the chance peak of unmarked images (measured up to
    // 5.56), so rotated candidates must stand out more; rotated marks score about 12.
    let rotated = candidates(&detail, &layout, &ROTATIONS);
    if let Some(found) = first_decodable(&rotated, &layout, ROTATED_FOUND_SCORE) {
        return Ok(found);
    }
    let best = straight
        .iter()
        .chain(&rotated)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(score, alignment, tile)| {
            not_found(&tile.read(&layout, *alignment, *score), alignment.scale)
        })
        .unwrap_or_default();
    Ok(best)
}

/// The best peaks of the pilot correlation at every scale and each of `angles`, strongest
/// first.
fn candidates(detail: &Plane, layout: &Layout, angles: &[f32]) -> Vec<(f32, Alignment, Tile)> {
    let mut found = Vec::new();
    let steps = ((SCALES.1 - SCALES.0) / SCALES.2).round() as usize;
    for &angle in angles {
        for step in 0..=steps {
            let scale = SCALES.0 + step as f32 * SCALES.2;
            let tile = Tile::fold(detail, scale, angle);
            let surface = tile.pilot_correlation(layout);
            for (score, dx, dy) in peaks(&surface, PEAKS_PER_SCALE) {
                let alignment = Alignment {
                    scale,
                    angle,
                    dx,
                    dy,
                };
                found.push((score, alignment, tile.clone()));
            }
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    found
}

/// The first of the strongest candidates that stands out enough and whose CRC checks.
fn first_decodable(
    candidates: &[(f32, Alignment, Tile)],
    layout: &Layout,
    min_score: f32,
) -> Option<Detection> {
    candidates
        .iter()
        .take(MAX_TRIES)
        .take_while(|(score, _, _)| *score >= min_score)
        .find_map(|(score, alignment, tile)| {
            let reading = tile.read(layout, *alignment, *score);
            payload::decode(&reading.bits).map(|payload| Detection {
                found: true,
                payload: Some(payload),
                confidence: reading.agreement,
                sync_score: *score,
                scale: alignment.scale,
                raw_bits: reading.bits[..64].to_vec(),
            })
        })
}

fn not_found(reading: &Reading, scale: f32) -> Detection {
    Detection {
        found: false,
        payload: None,
        confidence: reading.agreement,
        sync_score: reading.score,
        scale,
        raw_bits: reading.bits[..64].to_vec(),
    }
}

/// Reads the bits at a known alignment (used by the embedder's self-check).
pub(crate) fn read_aligned(detail: &Plane, layout: &Layout, alignment: Alignment) -> Reading {
    let tile = Tile::fold(detail, alignment.scale, alignment.angle);
    let surface = tile.pilot_correlation(layout);
    let score = z_score(&surface, surface[alignment.dy * TILE + alignment.dx]);
    tile.read(layout, alignment, score)
}

/// The detail folded onto one tile, as sums over every chip-sized window (`cells[v][u]` is
/// the sum over the 4x4 window whose corner is `(u, v)`, wrapping around).
#[derive(Debug, Clone)]
struct Tile {
    cells: Vec<f32>,
}

impl Tile {
    /// Adds every pixel of `detail` to the tile position it maps to at `scale`, with the
    /// grid turned by `angle` degrees about the image's centre.
    fn fold(detail: &Plane, scale: f32, angle: f32) -> Tile {
        let folded = if angle == 0.0 {
            fold_straight(detail, scale)
        } else {
            fold_rotated(detail, scale, angle)
        };
        let mut cells = vec![0f32; TILE * TILE];
        for v in 0..TILE {
            for u in 0..TILE {
                let mut sum = 0.0;
                for j in 0..CHIP {
                    for i in 0..CHIP {
                        sum += folded[(v + j) % TILE * TILE + (u + i) % TILE];
                    }
                }
                cells[v * TILE + u] = sum;
            }
        }
        Tile { cells }
    }

    /// The chip sum at chip `(column, row)` of a tile shifted by `(dx, dy)`.
    fn chip(&self, column: usize, row: usize, dx: usize, dy: usize) -> f32 {
        let u = (column * CHIP + dx) % TILE;
        let v = (row * CHIP + dy) % TILE;
        self.cells[v * TILE + u]
    }

    /// Correlation with the pilot at every shift, indexed `dy * 64 + dx`.
    fn pilot_correlation(&self, layout: &Layout) -> Vec<f32> {
        let mut surface = vec![0f32; TILE * TILE];
        for dy in 0..TILE {
            for dx in 0..TILE {
                surface[dy * TILE + dx] = layout
                    .pilot
                    .iter()
                    .map(|chip| chip.sign * self.chip(chip.column, chip.row, dx, dy))
                    .sum();
            }
        }
        surface
    }

    /// The information bits at an alignment: the chips' keyed values, decoded.
    fn read(&self, layout: &Layout, alignment: Alignment, score: f32) -> Reading {
        let soft: Vec<f32> = layout
            .bits
            .iter()
            .map(|c| c.sign * self.chip(c.column, c.row, alignment.dx, alignment.dy))
            .collect();
        let decoded = code::decode(&soft);
        let bits: [bool; PAYLOAD_BITS] = std::array::from_fn(|i| decoded[i]);
        let agreeing = code::encode(&bits)
            .iter()
            .zip(&soft)
            .filter(|(bit, value)| (**value > 0.0) == **bit)
            .count();
        let fraction = agreeing as f32 / soft.len() as f32;
        Reading {
            bits,
            agreement: ((fraction - 0.5) / 0.5).clamp(0.0, 1.0),
            score,
        }
    }
}

/// Folding when the grid is axis-aligned: the bin of a pixel is its column's bin and its
/// row's bin, computed once per column and row.
fn fold_straight(detail: &Plane, scale: f32) -> Vec<f32> {
    let bins = |length: usize| -> Vec<usize> {
        (0..length)
            .map(|i| ((i as f32 + 0.5) / scale) as usize % TILE)
            .collect()
    };
    let (columns, rows) = (bins(detail.width), bins(detail.height));
    let mut folded = vec![0f32; TILE * TILE];
    for (row, line) in rows.iter().zip(detail.data.chunks_exact(detail.width)) {
        let target = &mut folded[row * TILE..][..TILE];
        for (column, value) in columns.iter().zip(line) {
            target[*column] += value;
        }
    }
    folded
}

/// Folding with the grid turned by `angle` degrees about the centre (the shift this
/// leaves is found by the correlation, like a crop's).
fn fold_rotated(detail: &Plane, scale: f32, angle: f32) -> Vec<f32> {
    // Positions are kept positive by a whole number of tiles, so a cast floors them (no
    // floating-point modulo per pixel), and advance by constant steps along a row.
    const POSITIVE: f64 = (TILE * 1024) as f64;
    let (sin, cos) = f64::from(angle).to_radians().sin_cos();
    let scale = f64::from(scale);
    let (cx, cy) = (detail.width as f64 / 2.0, detail.height as f64 / 2.0);
    let mut folded = vec![0f32; TILE * TILE];
    for (y, line) in detail.data.chunks_exact(detail.width).enumerate() {
        let dy = y as f64 + 0.5 - cy;
        let dx = 0.5 - cx;
        let mut u = (cos * dx + sin * dy + cx) / scale + POSITIVE;
        let mut v = (-sin * dx + cos * dy + cy) / scale + POSITIVE;
        let (step_u, step_v) = (cos / scale, -sin / scale);
        for value in line {
            folded[(v as usize % TILE) * TILE + u as usize % TILE] += value;
            u += step_u;
            v += step_v;
        }
    }
    folded
}

/// How many standard deviations `value` stands above the surface's mean.
fn z_score(surface: &[f32], value: f32) -> f32 {
    let (mean, deviation) = crate::pixels::mean_and_deviation(surface.iter().copied());
    if deviation <= 0.0 {
        return 0.0;
    }
    ((f64::from(value) - mean) / deviation) as f32
}

/// The `count` highest peaks of a correlation surface as `(z, dx, dy)`, at least a chip
/// apart (wrapping), so the slopes of one peak are not counted as others.
fn peaks(surface: &[f32], count: usize) -> Vec<(f32, usize, usize)> {
    let mut order: Vec<usize> = (0..surface.len()).collect();
    order.sort_by(|&a, &b| surface[b].total_cmp(&surface[a]));
    let near = |a: usize, b: usize| {
        let d = |p: usize, q: usize| {
            let d = p.abs_diff(q);
            d.min(TILE - d)
        };
        d(a % TILE, b % TILE) < CHIP && d(a / TILE, b / TILE) < CHIP
    };
    let mut chosen: Vec<usize> = Vec::new();
    for index in order {
        if chosen.len() == count {
            break;
        }
        if chosen.iter().all(|&c| !near(c, index)) {
            chosen.push(index);
        }
    }
    chosen
        .into_iter()
        .map(|i| (z_score(surface, surface[i]), i % TILE, i / TILE))
        .collect()
}

/// Payload bytes as a lowercase hex string in JSON.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => s.serialize_some(&super::super::to_hex(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| super::super::parse_hex(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}
