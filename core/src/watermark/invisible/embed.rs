//! Embedding: a keyed, tiled pattern added to the luma, scaled by how much texture hides it.

use std::borrow::Cow;

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use super::canonical::{BlockSums, Canonical, detail};
use super::detect::{Alignment, read_aligned};
use super::layout::{CHIP, CHIPS_PER_SIDE, Layout, PAYLOAD_BITS, TILE};
use super::plane::{Plane, samples_of};
use super::{code, payload};
use crate::field::{Field, OptionValue, declare_options, field_table, within};
use crate::{Error, Limits, Result};

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

declare_options! {
    /// How to embed an invisible mark.
    ///
    /// ```
    /// let options = stylemark::watermark::invisible::MarkOptions::default();
    /// assert_eq!(options.strength, 1.0);
    /// assert!(options.verify);
    /// ```
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct MarkOptions {
        /// Multiplies the mark's amplitude and its distortion budget, 0.25 to 4: 1 keeps
        /// the PSNR at or above 40 dB; 2 survives harsher treatment at about 34 dB.
        strength: f32 = 1.0,
            valid |v| within(*v, 0.25..=4.0, "must be between 0.25 and 4");
        carried {
            /// After embedding, check that the mark still reads back after a JPEG
            /// quality-50 round trip, and refuse (with [`Error::MarkWouldNotSurvive`])
            /// when it does not, instead of returning a mark that will not read back. On
            /// by default (as a text field: `no_verify` turns it off).
            verify: bool = true;
        }
    }
}

impl MarkOptions {
    /// The mark options' text fields, as forms and the CLI spell them (see [`Field`]):
    /// `strength`, and `no_verify` for [`verify`](Self::verify).
    pub fn fields() -> &'static [Field<MarkOptions>] {
        field_table!(MarkOptions, || {
            let mut fields = Self::declared_fields();
            fields.push(Field::custom(
                "no_verify",
                "Skip the check that the mark survives a JPEG quality-50 round trip.",
                true,
                Some(false.to_string()),
                |options: &mut MarkOptions, text| {
                    options.verify = !bool::from_text(text, "no_verify")?;
                    Ok(())
                },
            ));
            fields
        })
    }
}

impl MarkOptions {
    /// Checks every option, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        Self::fields()
            .iter()
            .try_for_each(|field| field.check(self))
    }
}

/// A marked image and what embedding measured.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    limits: &Limits,
) -> Result<Marked> {
    options.validate()?;
    super::check_key(key)?;
    let bits = payload::encode(payload)?;
    super::check_side(image, MIN_MARK_SIDE)?;
    let (width, height) = (image.width(), image.height());
    let canonical = Canonical::of(width, height, limits.max_mark_plane_pixels)?;
    let mask = texture_mask(&canonical.luma(image));
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

    let (marked, psnr_db, marked_luma) = apply_within_budget(
        image,
        &pattern,
        gain,
        MIN_PSNR_DB - 20.0 * options.strength.log10(),
    );
    let verified_score = if options.verify {
        Some(verify(&marked_luma, key, &bits)?)
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
/// the PSNR below `min_psnr`. Returns the marked image, its PSNR and its luma at the
/// canonical resolution.
fn apply_within_budget(
    image: &DynamicImage,
    pattern: &Pattern,
    mut gain: f32,
    min_psnr: f32,
) -> (DynamicImage, f32, Plane) {
    /// Rounding rarely needs more than one correction; this bounds the work whatever the
    /// image.
    const MAX_PASSES: usize = 6;
    let pixels = f64::from(image.width()) * f64::from(image.height());
    let image = to_8bit(image);
    let mut pass = 1;
    loop {
        let (marked, squared_error, luma) = pattern.add_to(&image, gain);
        let psnr_db = psnr(squared_error / pixels);
        if psnr_db >= min_psnr || gain < 0.05 || pass == MAX_PASSES {
            return (marked, psnr_db, luma);
        }
        gain *= 10f32.powf((psnr_db - min_psnr) / 20.0) * 0.97;
        pass += 1;
    }
}

/// Which chip and which mask samples each image column and row reads.
struct Geometry {
    /// The chip column (or row) of each image column (or row).
    columns: Vec<usize>,
    rows: Vec<usize>,
    /// The two canonical mask pixels around each image column (or row) and the weight of
    /// the second (bilinear interpolation).
    horizontal: Vec<(usize, usize, f32)>,
    vertical: Vec<(usize, usize, f32)>,
    /// Samples per pixel, and how many of them are colours (the rest is alpha).
    channels: usize,
    colours: usize,
}

/// Working rows of one band of the marking pass.
struct RowBuffers {
    /// The mask's two rows around an image row, blended.
    blended: Vec<f32>,
    /// The change of every sample of a row.
    deltas: Vec<f32>,
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

    fn geometry(&self, image: &DynamicImage) -> Geometry {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let channels = usize::from(image.color().channel_count());
        Geometry {
            columns: self.chip_index(width),
            rows: self.chip_index(height),
            horizontal: taps(width, self.canonical.scale, self.mask.width),
            vertical: taps(height, self.canonical.scale, self.mask.height),
            channels,
            colours: if image.color().has_alpha() {
                channels - 1
            } else {
                channels
            },
        }
    }

    /// `gain` times the pattern's value at each sample of image row `y` (`colours` of
    /// each pixel's `channels`; zero on alpha). The mask is sampled bilinearly: the
    /// horizontal weights are the same on every row, and each row needs the mask's two
    /// neighbouring rows blended once (into `blended`).
    fn row_deltas(&self, geometry: &Geometry, y: usize, gain: f32, buffers: &mut RowBuffers) {
        let (top, bottom, fy) = geometry.vertical[y];
        let (upper, lower) = (self.mask.row(top), self.mask.row(bottom));
        for ((b, u), l) in buffers.blended.iter_mut().zip(upper).zip(lower) {
            *b = u + (l - u) * fy;
        }
        let chips = &self.chips[geometry.rows[y] * CHIPS_PER_SIDE..][..CHIPS_PER_SIDE];
        let blended = &buffers.blended;
        let delta = |column: usize, (left, right, fx): (usize, usize, f32)| {
            let mask = blended[left] + (blended[right] - blended[left]) * fx;
            gain * self.amplitude * mask * chips[column]
        };
        let deltas = &mut buffers.deltas;
        match geometry.channels {
            1 => fill_pixels::<1, 1>(deltas, geometry, delta),
            2 => fill_pixels::<2, 1>(deltas, geometry, delta),
            3 => fill_pixels::<3, 3>(deltas, geometry, delta),
            _ => fill_pixels::<4, 3>(deltas, geometry, delta),
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

    /// The 8-bit `image` with `gain` times the pattern added to every colour channel,
    /// made in parallel over bands of rows. Also returns the summed squared error per pixel
    /// (averaged over colour channels) and the marked image's luma at the canonical
    /// resolution, taken in the same pass (the verification reads it).
    fn add_to(&self, image: &DynamicImage, gain: f32) -> (DynamicImage, f64, Plane) {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let geometry = self.geometry(image);
        let row_samples = width * geometry.channels;
        let block = self.canonical.block();
        let mut sums = BlockSums::new(width, height, block);
        let mut marked = blank_like(image);
        let squared_error: u64 = sums
            .rows_mut()
            .zip(samples_mut(&mut marked).par_chunks_mut(block * row_samples))
            .zip(samples_of(image).0.par_chunks(block * row_samples))
            .enumerate()
            .map(|(band, ((sums, targets), sources))| {
                let mut buffers = RowBuffers {
                    blended: vec![0f32; self.mask.width],
                    deltas: vec![0f32; row_samples],
                };
                let mut column_sums = BlockSums::band(width);
                let mut squared_error = 0u64;
                let rows = targets
                    .chunks_exact_mut(row_samples)
                    .zip(sources.chunks_exact(row_samples));
                for (i, (target, source)) in rows.enumerate() {
                    self.row_deltas(&geometry, band * block + i, gain, &mut buffers);
                    squared_error += add_to_row(source, target, &buffers.deltas);
                    column_sums.add_pixels(target, geometry.channels);
                }
                column_sums.finish(sums, block);
                squared_error
            })
            .sum();
        let luma = self.canonical.resample(sums);
        (marked, squared_error as f64 / geometry.colours as f64, luma)
    }
}

/// Sets the first `COLOURS` samples of every pixel of a row to `delta(chip column, mask
/// taps)` and the rest (alpha) to zero; the channel counts are constants so the loop is
/// unrolled.
fn fill_pixels<const CHANNELS: usize, const COLOURS: usize>(
    deltas: &mut [f32],
    geometry: &Geometry,
    delta: impl Fn(usize, (usize, usize, f32)) -> f32,
) {
    let pixels = deltas.chunks_exact_mut(CHANNELS);
    for ((pixel, column), taps) in pixels.zip(&geometry.columns).zip(&geometry.horizontal) {
        let value = delta(*column, *taps);
        for (channel, sample) in pixel.iter_mut().enumerate() {
            *sample = if channel < COLOURS { value } else { 0.0 };
        }
    }
}

/// Writes `source` plus `deltas` (one per sample; zero on alpha) into `target`; returns
/// the summed squared change. One flat loop over samples, which compiles to vector
/// instructions.
fn add_to_row(source: &[u8], target: &mut [u8], deltas: &[f32]) -> u64 {
    /// Samples whose squared changes (at most 255^2 each) fit a `u32` sum.
    const CHUNK: usize = 4096;
    // Whole numbers: the sum is exact and, unlike a float sum, may be reordered, so it
    // neither holds back vectorisation nor depends on how the bands were shared out.
    let mut squared_error = 0u64;
    let chunks = source
        .chunks(CHUNK)
        .zip(target.chunks_mut(CHUNK))
        .zip(deltas.chunks(CHUNK));
    for ((source, target), deltas) in chunks {
        let mut sum = 0u32;
        for ((old, new), delta) in source.iter().zip(target.iter_mut()).zip(deltas) {
            // Clamped first, rounding is adding a half and truncating: vector
            // instructions, where `round` is a library call per sample.
            let value = ((f32::from(*old) + delta).clamp(0.0, 255.0) + 0.5) as i32;
            let error = value - i32::from(*old);
            sum += (error * error) as u32;
            *new = value as u8;
        }
        squared_error += u64::from(sum);
    }
    squared_error
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
        // Running sums can leave a flat area's mean energy a hair below zero.
        *value = (value.max(0.0).sqrt() / REFERENCE_ACTIVITY).clamp(MASK_RANGE.0, MASK_RANGE.1);
    }
    mask
}

/// The image in one of the four 8-bit layouts the pattern is added to.
fn to_8bit(image: &DynamicImage) -> Cow<'_, DynamicImage> {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => Cow::Borrowed(image),
        _ if image.color().has_alpha() => Cow::Owned(DynamicImage::ImageRgba8(image.to_rgba8())),
        _ => Cow::Owned(DynamicImage::ImageRgb8(image.to_rgb8())),
    }
}

/// An 8-bit image of the same size and layout, zeroed (its pages are only mapped when
/// written, so the parallel pass that fills it also shares that cost).
fn blank_like(image: &DynamicImage) -> DynamicImage {
    let (width, height) = (image.width(), image.height());
    match image {
        DynamicImage::ImageLuma8(_) => DynamicImage::new_luma8(width, height),
        DynamicImage::ImageLumaA8(_) => DynamicImage::new_luma_a8(width, height),
        DynamicImage::ImageRgba8(_) => DynamicImage::new_rgba8(width, height),
        _ => DynamicImage::new_rgb8(width, height),
    }
}

/// The samples of an 8-bit image, to write (see [`to_8bit`]).
fn samples_mut(image: &mut DynamicImage) -> &mut [u8] {
    match image {
        DynamicImage::ImageLuma8(buffer) => buffer,
        DynamicImage::ImageLumaA8(buffer) => buffer,
        DynamicImage::ImageRgb8(buffer) => buffer,
        DynamicImage::ImageRgba8(buffer) => buffer,
        _ => unreachable!("blank_like makes only 8-bit layouts"),
    }
}

fn psnr(mse: f64) -> f32 {
    if mse <= 0.0 {
        return f32::INFINITY;
    }
    (10.0 * (255.0f64 * 255.0 / mse).log10()) as f32
}

/// Reads the mark back, where it was put, after a JPEG round trip of the marked image's
/// canonical luma; refuses when it no longer reads clearly.
fn verify(luma: &Plane, key: &str, bits: &[bool; PAYLOAD_BITS]) -> Result<f32> {
    let recompressed = jpeg_round_trip(luma, CHECK_JPEG_QUALITY)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_is_finite_where_bright_detail_gives_way_to_flat_areas() {
        // Running sums over huge then zero energies can end a hair below zero.
        let (width, height) = (64, 64);
        let data = (0..width * height)
            .map(|i| {
                if i % width < 9 {
                    ((i * 7919) % 255) as f32
                } else {
                    17.0
                }
            })
            .collect();
        let luma = Plane {
            width,
            height,
            data,
        };
        let mask = texture_mask(&luma);
        assert!(
            mask.data
                .iter()
                .all(|m| (MASK_RANGE.0..=MASK_RANGE.1).contains(m))
        );
        assert!(detail(&luma).data.iter().all(|d| d.is_finite()));
    }
}
