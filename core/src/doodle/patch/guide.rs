//! How a content image (a photo) guides patch synthesis: per pixel, its tone (the photo's
//! luminance as the painting would have it, see [`tone`](super::tone)) and its chroma
//! (shifted and scaled to the painting's), compared with the painting's own luminance
//! and chroma. Both sides are blurred a little, by [`GUIDE_BLUR`] pixels at the output's
//! scale, so a smooth photo area accepts any of the painting's strokes of the right tone
//! and colour instead of only its smoothest patches. Beside them, both sides' structure:
//! the luminance's band-pass at two fine scales ([`STRUCTURE_SCALES`]), unblurred, so the
//! painting's lines and hard edges (a black outline, a lead line of stained glass, a dark
//! stroke) go where the photo has lines and edges, not across a smooth cheek.

use image::imageops::FilterType;
use image::{ImageBuffer, Rgb};
use rayon::prelude::*;

use super::field::{CHANNELS, GUIDES};
use super::tone::{Plane, ToneMapping, match_spread, painted_tone};
use crate::lab::LabPlanes;
use crate::pixels::{gaussian_blur, gaussian_blurred};

/// Standard deviation, in pixels at the output size, of the blur applied to both sides'
/// guides (halved with every coarser level). Measured on portraits and street scenes
/// (docs/DOODLE.md): 4 px let the background take the painting's full-contrast strokes,
/// 1-2 px only its smooth patches (the result washes out), 8 px loses small shapes.
pub(super) const GUIDE_BLUR: f32 = 4.0;

/// The band-pass scales of the structure lanes, in pixels of the level: a difference of
/// Gaussians of these standard deviations (each lane from one scale to the next).
const STRUCTURE_SCALES: [f32; 3] = [1.0, 2.5, 5.0];

/// The least spread (a*, b* units) the photo's chroma is taken to have when it is
/// matched to the painting's: a nearly grey photo's colour noise stays small.
const LEAST_CHROMA_SPREAD: f32 = 4.0;

/// The content's guidance at the output size.
pub(crate) struct PhotoGuide {
    width: usize,
    height: usize,
    /// The tone the result should have (L*, 0-100): the painting's range with the
    /// photo's shapes, or the photo's own luminance when its colours are kept.
    pub tone: Vec<f32>,
    /// How the tone was mapped from the photo's luminance (none when it is the photo's
    /// own), for enlarging.
    pub mapping: Option<ToneMapping>,
    /// The photo's chroma (a*, b*), matched to the painting's mean and spread.
    pub chroma: [Vec<f32>; 2],
}

impl PhotoGuide {
    /// The guidance for painting `content` (at the output size) from `style`. With
    /// `own_tone` the tone is the photo's own luminance (for keeping its colours).
    pub fn new(content: &LabPlanes, style: &LabPlanes, own_tone: bool) -> Self {
        let mapping = (!own_tone).then(|| {
            painted_tone(
                Plane {
                    values: &content.l,
                    width: content.width,
                },
                Plane {
                    values: &style.l,
                    width: style.width,
                },
            )
        });
        let tone = match &mapping {
            Some(mapping) => mapping.tone.clone(),
            None => content.l.clone(),
        };
        let mut chroma = [content.a.clone(), content.b.clone()];
        match_spread(&mut chroma[0], &style.a, LEAST_CHROMA_SPREAD);
        match_spread(&mut chroma[1], &style.b, LEAST_CHROMA_SPREAD);
        PhotoGuide {
            width: content.width,
            height: content.height,
            tone,
            mapping,
            chroma,
        }
    }

    /// The target's guidance lanes at one level's size.
    pub fn level(&self, (width, height): (usize, usize)) -> Vec<[f32; CHANNELS]> {
        let planes = [&self.tone, &self.chroma[0], &self.chroma[1]];
        let sigma = GUIDE_BLUR * width as f32 / self.width as f32;
        if (width, height) == (self.width, self.height) {
            return pack(&mut planes.map(|p| p.clone()), width, sigma);
        }
        // `image` resamples floating-point pixels as 0-1 values (and clips them there), so
        // L*, a* and b* (within -128..128) travel shifted and scaled into that range.
        let buffer = ImageBuffer::<Rgb<f32>, Vec<f32>>::from_fn(
            self.width as u32,
            self.height as u32,
            |x, y| {
                let i = y as usize * self.width + x as usize;
                Rgb(planes.map(|p| p[i] / 256.0 + 0.5))
            },
        );
        let resized =
            image::imageops::resize(&buffer, width as u32, height as u32, FilterType::Triangle);
        let mut lanes: [Vec<f32>; 3] =
            std::array::from_fn(|k| resized.pixels().map(|p| (p.0[k] - 0.5) * 256.0).collect());
        pack(&mut lanes, width, sigma)
    }
}

/// The style's guidance lanes at a level `scale` times the output's size (its own
/// luminance and chroma, blurred as the content's are at that level).
pub(super) fn style_level(style: &LabPlanes, scale: f32) -> Vec<[f32; CHANNELS]> {
    let sigma = GUIDE_BLUR * scale;
    let mut lanes = [style.l.clone(), style.a.clone(), style.b.clone()];
    pack(&mut lanes, style.width, sigma)
}

/// Puts the structure of the tone (L*) and the planes (L*, a*, b*) blurred by `sigma`,
/// all scaled by 1/100, into the guidance lanes.
fn pack(planes: &mut [Vec<f32>; 3], width: usize, sigma: f32) -> Vec<[f32; CHANNELS]> {
    let structure = structure(&planes[0], width);
    for plane in planes.iter_mut() {
        gaussian_blur(plane, width, sigma);
    }
    (0..planes[0].len())
        .into_par_iter()
        .map(|i| {
            let mut values = [0f32; CHANNELS];
            for (k, plane) in planes.iter().chain(&structure).enumerate() {
                values[3 + k] = plane[i] / 100.0;
            }
            values
        })
        .collect()
}

/// The band-passes of `tone` between consecutive [`STRUCTURE_SCALES`].
fn structure(tone: &[f32], width: usize) -> [Vec<f32>; GUIDES - 3] {
    let blurred = STRUCTURE_SCALES.map(|sigma| gaussian_blurred(tone, width, sigma));
    std::array::from_fn(|k| {
        blurred[k]
            .iter()
            .zip(&blurred[k + 1])
            .map(|(fine, coarse)| fine - coarse)
            .collect()
    })
}
