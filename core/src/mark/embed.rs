//! Embedding: a keyed, tiled pattern added to the luma, scaled by how much texture hides it.

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use super::canonical::{Canonical, detail};
use super::detect::{Alignment, read_aligned};
use super::layout::{CHIP, CHIPS_PER_SIDE, Layout, PAYLOAD_BITS, TILE};
use super::plane::Plane;
use super::{code, payload};
use crate::{Error, Result};

/// The smallest shorter side an image needs to carry a mark.
pub const MIN_MARK_SIDE: u32 = 256;

/// Amplitude of the pattern, in grey levels, where the texture is average.
const BASE_AMPLITUDE: f32 = 4.0;
/// Local detail (RMS of the 9x9 high-pass) at which the pattern has its base amplitude.
const REFERENCE_ACTIVITY: f32 = 8.0;
/// The mask's range: flat areas get 1.2 grey levels (invisible), busy
/// texture up to 1.6x.
const MASK_RANGE: (f32, f32) = (0.3, 1.6);
/// The PSNR the mark never goes below at strength 1.
const MIN_PSNR_DB: f32 = 40.0;
/// The quality of the JPEG round trip the embedder checks the mark against.
const CHECK_JPEG_QUALITY: u8 = 50;
/// The sync score the mark must keep after that round trip (detection needs 5.5).
const CHECK_MIN_SCORE: f32 = 7.0;

/// How to embed an invisible mark.
///
/// ```
/// let options = stylemark::mark::MarkOptions::default();
/// assert_eq!(options.strength, 1.0);
/// assert!(options.verify);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarkOptions {
    /// Multiplies the mark's amplitude and its distortion budget. 1 keeps the PSNR at or
    /// above 40 dB; 2 survives harsher treatment at about 34 dB. Between 0.25 and 4.
    pub strength: f32,
    /// After embedding, check that the mark still reads back after a JPEG quality-50 round
    /// trip, and refuse (with [`Error::MarkWouldNotSurvive`]) when it does not, instead of
    /// returning a mark that will not read back. On by default.
    pub verify: bool,
}

impl Default for MarkOptions {
    fn default() -> Self {
        MarkOptions {
            strength: 1.0,
            verify: true,
        }
    }
}

impl MarkOptions {
    /// Checks every option, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        if !(self.strength.is_finite() && (0.25..=4.0).contains(&self.strength)) {
            return Err(Error::option("strength", "must be between 0.25 and 4"));
        }
        Ok(())
    }
}

/// A marked image and what embedding measured.
#[derive(Debug, Clone)]
pub struct Marked {
    /// The marked image, in the input's pixel layout (alpha untouched).
    pub image: DynamicImage,
    /// Peak signal-to-noise ratio of the marked image against the input, in dB.
    pub psnr_db: f32,
    /// The sync score the mark kept after the verification round trip (`None` when
    /// verification was off). Detection needs 5.5; higher is more robust.
    pub verified_score: Option<f32>,
}

impl Marked {
    /// What embedding measured, as every entry point reports it:
    /// `{"psnr_db": ..., "verified_score": ...}`.
    pub fn report_json(&self) -> serde_json::Value {
        serde_json::json!({"psnr_db": self.psnr_db, "verified_score": self.verified_score})
    }
}

/// Embeds `payload` (1 to 8 bytes) under `key` into `image`.
pub(super) fn embed(
    image: &DynamicImage,
    payload: &[u8],
    key: &str,
    options: &MarkOptions,
) -> Result<Marked> {
    options.validate()?;
    super::check_key(key)?;
    let bits = payload::encode(payload)?;
    super::check_side(image, MIN_MARK_SIDE)?;
    let (width, height) = (image.width(), image.height());
    let canonical = Canonical::of(width, height);
    let mask = texture_mask(&canonical.resample(&Plane::luma(image)));
    let chips = Layout::for_key(key).chip_values(&code::encode(&bits));
    let pattern = Pattern {
        canonical,
        mask: &mask,
        chips: &chips,
        amplitude: BASE_AMPLITUDE * options.strength,
    };
    // Aim 0.2 dB above the floor: rounding to whole grey levels adds a little error, and
    // landing above the floor first time saves a second pass over the image.
    let budget_rms = 255.0 / 10f32.powf((MIN_PSNR_DB + 0.2) / 20.0) * options.strength;
    // The pattern is an upsampled canonical one, so its RMS at the canonical size is the
    // same and far cheaper to compute on a large photo.
    let rms = pattern.canonical_rms();
    let gain = if rms > budget_rms {
        budget_rms / rms
    } else {
        1.0
    };

    let (marked, psnr_db) = apply_within_budget(
        image,
        &pattern,
        gain,
        MIN_PSNR_DB - 20.0 * options.strength.log10(),
    );
    let verified_score = if options.verify {
        Some(verify(&marked, key, &bits)?)
    } else {
        None
    };
    Ok(Marked {
        image: marked,
        psnr_db,
        verified_score,
    })
}

/// Adds the pattern at `gain`, lowering the gain when rounding to whole grey levels took
/// the PSNR below `min_psnr`.
fn apply_within_budget(
    image: &DynamicImage,
    pattern: &Pattern,
    mut gain: f32,
    min_psnr: f32,
) -> (DynamicImage, f32) {
    let samples = f64::from(image.width()) * f64::from(image.height());
    loop {
        let mut marked = to_8bit(image);
        let psnr_db = psnr(pattern.add_to(&mut marked, gain) / samples);
        if psnr_db >= min_psnr || gain < 0.05 {
            return (marked, psnr_db);
        }
        gain *= 10f32.powf((psnr_db - min_psnr) / 20.0) * 0.97;
    }
}

/// The mark's pattern over the image: chip signs, scaled by the texture mask.
struct Pattern<'a> {
    canonical: Canonical,
    mask: &'a Plane,
    chips: &'a [f32; CHIPS_PER_SIDE * CHIPS_PER_SIDE],
    amplitude: f32,
}

impl Pattern<'_> {
    /// The chip column (or row) each image column (or row) falls in.
    fn chip_index(&self, length: usize) -> Vec<usize> {
        (0..length)
            .map(|i| ((i as f32 + 0.5) * self.canonical.scale) as usize % TILE / CHIP)
            .collect()
    }

    /// Calls `f(x, y, delta)` for every pixel of a `width` x `height` image.
    fn for_each(&self, width: usize, height: usize, mut f: impl FnMut(usize, usize, f32)) {
        let columns = self.chip_index(width);
        let rows = self.chip_index(height);
        // The mask is sampled bilinearly: the horizontal weights are the same on every row,
        // and each row needs the mask's two neighbouring rows blended once.
        let horizontal = taps(width, self.canonical.scale, self.mask.width);
        let vertical = taps(height, self.canonical.scale, self.mask.height);
        let mut blended = vec![0f32; self.mask.width];
        for (y, row) in rows.iter().enumerate() {
            let (top, bottom, fy) = vertical[y];
            let (upper, lower) = (self.mask.row(top), self.mask.row(bottom));
            for ((b, u), l) in blended.iter_mut().zip(upper).zip(lower) {
                *b = u + (l - u) * fy;
            }
            let chips = &self.chips[row * CHIPS_PER_SIDE..][..CHIPS_PER_SIDE];
            for (x, (column, &(left, right, fx))) in columns.iter().zip(&horizontal).enumerate() {
                let mask = blended[left] + (blended[right] - blended[left]) * fx;
                f(x, y, self.amplitude * mask * chips[*column]);
            }
        }
    }

    /// Root mean square of the pattern over the canonical frame.
    fn canonical_rms(&self) -> f32 {
        let mut sum = 0f64;
        for (i, m) in self.mask.data.iter().enumerate() {
            let (x, y) = (i % self.mask.width, i / self.mask.width);
            let chip = self.chips[(y % TILE / CHIP) * CHIPS_PER_SIDE + x % TILE / CHIP];
            sum += f64::from(self.amplitude * m * chip).powi(2);
        }
        (sum / self.mask.data.len() as f64).sqrt() as f32
    }

    /// Adds `gain` times the pattern to every colour channel of `image` (which is 8-bit);
    /// returns the summed squared error per pixel (averaged over colour channels).
    fn add_to(&self, image: &mut DynamicImage, gain: f32) -> f64 {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let channels = usize::from(image.color().channel_count());
        let colours = if image.color().has_alpha() {
            channels - 1
        } else {
            channels
        };
        let bytes = raw_bytes(image);
        let mut squared_error = 0f64;
        self.for_each(width, height, |x, y, delta| {
            let pixel = &mut bytes[(y * width + x) * channels..][..colours];
            for value in pixel {
                let new = (f32::from(*value) + gain * delta).round().clamp(0.0, 255.0);
                let error = new - f32::from(*value);
                squared_error += f64::from(error * error) / colours as f64;
                *value = new as u8;
            }
        });
        squared_error
    }
}

/// For each of `length` image pixels, the two canonical pixels around its centre and the
/// weight of the second (bilinear interpolation, clamped at the edges).
fn taps(length: usize, scale: f32, canonical_length: usize) -> Vec<(usize, usize, f32)> {
    let last = canonical_length - 1;
    (0..length)
        .map(|i| {
            let position = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, last as f32);
            let first = position as usize;
            (first, (first + 1).min(last), position - first as f32)
        })
        .collect()
}

/// How much the pattern may be scaled at each canonical pixel: busy texture hides it,
/// flat areas do not.
fn texture_mask(luma: &Plane) -> Plane {
    let detail = luma.high_pass(4);
    let energy = Plane {
        data: detail.data.iter().map(|v| v * v).collect(),
        ..detail
    };
    let mut mask = energy.box_mean(4);
    for value in &mut mask.data {
        *value = (value.sqrt() / REFERENCE_ACTIVITY).clamp(MASK_RANGE.0, MASK_RANGE.1);
    }
    mask
}

/// The image in one of the four 8-bit layouts the pattern is added to.
fn to_8bit(image: &DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image.clone(),
        _ if image.color().has_alpha() => DynamicImage::ImageRgba8(image.to_rgba8()),
        _ => DynamicImage::ImageRgb8(image.to_rgb8()),
    }
}

/// The samples of an 8-bit image (see [`to_8bit`]).
fn raw_bytes(image: &mut DynamicImage) -> &mut [u8] {
    match image {
        DynamicImage::ImageLuma8(buffer) => buffer,
        DynamicImage::ImageLumaA8(buffer) => buffer,
        DynamicImage::ImageRgb8(buffer) => buffer,
        DynamicImage::ImageRgba8(buffer) => buffer,
        _ => unreachable!("to_8bit leaves only 8-bit layouts"),
    }
}

fn psnr(mse: f64) -> f32 {
    if mse <= 0.0 {
        return f32::INFINITY;
    }
    (10.0 * (255.0f64 * 255.0 / mse).log10()) as f32
}

/// Reads the mark back, where it was put, after a JPEG round trip at the canonical
/// resolution; refuses when it no longer reads clearly.
fn verify(marked: &DynamicImage, key: &str, bits: &[bool; PAYLOAD_BITS]) -> Result<f32> {
    let canonical = Canonical::of(marked.width(), marked.height());
    let luma = canonical.resample(&Plane::luma(marked));
    let recompressed = jpeg_round_trip(&luma, CHECK_JPEG_QUALITY)?;
    let reading = read_aligned(
        &detail(&recompressed),
        &Layout::for_key(key),
        Alignment::IDENTITY,
    );
    let wrong_bits = reading
        .bits
        .iter()
        .zip(bits)
        .filter(|(a, b)| a != b)
        .count();
    if wrong_bits > 0 || reading.score < CHECK_MIN_SCORE {
        return Err(Error::MarkWouldNotSurvive {
            reason: format!(
                "after a JPEG quality {CHECK_JPEG_QUALITY} round trip its sync score is {:.1} \
                 (it needs {CHECK_MIN_SCORE}) and {wrong_bits} of 80 bits read wrong; the image \
                 is too flat or too small to hide a stronger mark",
                reading.score
            ),
        });
    }
    Ok(reading.score)
}

fn jpeg_round_trip(plane: &Plane, quality: u8) -> Result<Plane> {
    let grey = image::GrayImage::from_fn(plane.width as u32, plane.height as u32, |x, y| {
        let value = plane.data[y as usize * plane.width + x as usize];
        image::Luma([value.round().clamp(0.0, 255.0) as u8])
    });
    let bytes = crate::io::encode(
        &DynamicImage::ImageLuma8(grey),
        crate::io::OutputFormat::Jpeg { quality },
    )?;
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .map_err(|e| Error::Internal(format!("re-reading our own JPEG failed: {e}")))?;
    Ok(Plane::luma(&decoded))
}
