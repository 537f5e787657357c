//! Blind detection: fold the image's detail onto one tile, find where the keyed pilot sits
//! (which undoes crops and shifts) over a range of scales (which undoes the scale change a
//! crop causes) and small rotations, then read the bits there and check the CRC.

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use super::canonical::{Canonical, detail};
use super::layout::{Layout, PAYLOAD_BITS, TILE};
use super::plane::Plane;
use super::search::{Grid, Hypothesis, Peak, Tile, z_score};
use super::{code, payload};

pub(crate) use super::search::Alignment;
use crate::{Limits, Result};

/// The smallest shorter side detection reads (a 0.5x copy of the smallest markable image).
pub const MIN_DETECT_SIDE: u32 = 128;
/// Sync score a mark must reach, with a valid CRC, to be reported found. Unmarked images
/// peak near 5 over the whole search; see `docs/PERFORMANCE.md` for the measured rates.
pub(crate) const FOUND_SCORE: f32 = 5.5;
/// Candidate alignments decoded before giving up.
const MAX_TRIES: usize = 24;
/// Peaks kept per hypothesis (a strong sidelobe must not hide the true peak).
const PEAKS_PER_HYPOTHESIS: usize = 3;
/// Sync score a rotated candidate must reach (see `detect`).
const ROTATED_FOUND_SCORE: f32 = 6.5;
/// Rotations searched (degrees) when the axis-aligned search finds nothing: a turn of
/// up to 2 degrees, as a straightened phone photo or a careless re-save has.
const ROTATIONS: [f32; 8] = [-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0];
/// Scales searched: a crop of up to 11% of the shorter side enlarges the canonical image
/// by up to 1/0.89; the steps keep misalignment under a pixel across 512 px.
const SCALES: (f32, f32, f32) = (0.97, 1.13, 0.005);
/// Hypotheses screened on the coarse grid (at every other scale) whose best peaks are
/// then read at full resolution, each at its scale and the two next to it.
const SHORTLIST: usize = 4;

/// What detection found.
///
/// ```
/// let detection = stylemark::watermark::invisible::Detection::default();
/// assert!(!detection.found && detection.payload.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
pub(super) fn detect(image: &DynamicImage, key: &str, limits: &Limits) -> Result<Detection> {
    super::check_key(key)?;
    super::check_side(image, MIN_DETECT_SIDE)?;
    let canonical = Canonical::of(image.width(), image.height(), limits.max_mark_plane_pixels)?;
    let detail = detail(&canonical.luma(image));
    let layout = Layout::for_key(key);
    let full = Grid::full(&detail, &layout);
    let coarse = Grid::coarse(&detail, &layout);
    // Every search screens its hypotheses on the coarse grid (a quarter of the work
    // each, at every other scale) and reads only the shortlist at full resolution.
    let search = |angles: &[f32]| {
        let screened = coarse.peaks(&hypotheses(angles, 2), 1);
        full.peaks(&shortlist(&screened), PEAKS_PER_HYPOTHESIS)
    };

    // Axis-aligned first; small rotations only when that finds nothing, so untouched
    // marks pay for one search.
    let straight = search(&[0.0]);
    if let Some(found) = first_decodable(&full, &straight, &layout, FOUND_SCORE) {
        return Ok(found);
    }
    // Rotations: eight times the hypotheses, which raise the chance peaks of unmarked
    // images, so rotated candidates must stand out more; rotated marks score about 12.
    let rotated = search(&ROTATIONS);
    if let Some(found) = first_decodable(&full, &rotated, &layout, ROTATED_FOUND_SCORE) {
        return Ok(found);
    }
    let best = straight
        .iter()
        .chain(&rotated)
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .map(|peak| {
            let (tile, _) = full.tile(peak.alignment.hypothesis());
            not_found(
                &read(&tile, &layout, peak.alignment, peak.score),
                peak.alignment.scale,
            )
        })
        .unwrap_or_default();
    Ok(best)
}

/// Every searched scale, every `scale_stride`-th one, at each of `angles`.
fn hypotheses(angles: &[f32], scale_stride: usize) -> Vec<Hypothesis> {
    let steps = ((SCALES.1 - SCALES.0) / SCALES.2).round() as usize;
    angles
        .iter()
        .flat_map(|&angle| {
            (0..=steps)
                .step_by(scale_stride)
                .map(move |step| Hypothesis {
                    scale: SCALES.0 + step as f32 * SCALES.2,
                    angle,
                })
        })
        .collect()
}

/// The hypotheses of the best screened peaks, each with the scales next to it.
fn shortlist(screened: &[Peak]) -> Vec<Hypothesis> {
    let mut chosen: Vec<Hypothesis> = Vec::new();
    for peak in screened.iter().take(SHORTLIST) {
        let Alignment { scale, angle, .. } = peak.alignment;
        for scale in [scale - SCALES.2, scale, scale + SCALES.2] {
            let hypothesis = Hypothesis { scale, angle };
            if (SCALES.0 - 1e-4..=SCALES.1 + 1e-4).contains(&scale) && !chosen.contains(&hypothesis)
            {
                chosen.push(hypothesis);
            }
        }
    }
    chosen
}

/// The first of the strongest peaks that stands out enough and whose CRC checks.
fn first_decodable(
    grid: &Grid,
    peaks: &[Peak],
    layout: &Layout,
    min_score: f32,
) -> Option<Detection> {
    let mut tiles: Vec<(Hypothesis, Tile)> = Vec::new();
    peaks
        .iter()
        .take(MAX_TRIES)
        .take_while(|peak| peak.score >= min_score)
        .find_map(|peak| {
            let hypothesis = peak.alignment.hypothesis();
            let index = match tiles.iter().position(|(h, _)| *h == hypothesis) {
                Some(index) => index,
                None => {
                    tiles.push((hypothesis, grid.tile(hypothesis).0));
                    tiles.len() - 1
                }
            };
            let reading = read(&tiles[index].1, layout, peak.alignment, peak.score);
            payload::decode(&reading.bits).map(|payload| Detection {
                found: true,
                payload: Some(payload),
                confidence: reading.agreement,
                sync_score: peak.score,
                scale: peak.alignment.scale,
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
    let (tile, surface) = Grid::full(detail, layout).tile(alignment.hypothesis());
    let score = z_score(&surface, surface[alignment.dy * TILE + alignment.dx]);
    read(&tile, layout, alignment, score)
}

/// The information bits at an alignment: the chips' keyed values, decoded.
fn read(tile: &Tile, layout: &Layout, alignment: Alignment, score: f32) -> Reading {
    let soft: Vec<f32> = layout
        .bits
        .iter()
        .map(|c| c.sign * tile.chip(c.column, c.row, alignment.dx, alignment.dy))
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
