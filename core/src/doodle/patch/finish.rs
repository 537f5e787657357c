//! The last step of painting a photo: the synthesised painting keeps its strokes (the
//! fine band of its luminance) and its colours, and takes most of its coarser luminance
//! from the photo's tone, so shapes, shading and outlines are the photo's (Hertzmann et
//! al.'s luminance remapping, 2001, with the band split of detail transfer).

use super::tone::{Distribution, Range, spread};
use crate::doodle::photo::STROKE_SCALE;
use crate::lab::LabPlanes;
use crate::pixels::gaussian_blurred;

/// How much of the coarse band comes from the photo's tone at the default content weight
/// (the rest stays the synthesis's: the painting's own modelling of forms); it scales
/// with the content weight, up to all of it. Measured (docs/DOODLE.md): 0.8 keeps faces
/// and buildings as recognisable as a feed-forward network does while strokes still
/// cross them; 1 looks like a photo under a texture.
const PHOTO_SHARE: f32 = 0.8;

/// The most the strokes are amplified to bring them to the painting's contrast (voting
/// averages overlapping patches, which softens them).
const MAX_STROKE_GAIN: f32 = 1.8;

/// What the finish needs besides the synthesised image.
pub(super) struct FinishInputs<'a> {
    /// The tone the result should have (see [`PhotoGuide::tone`](super::guide::PhotoGuide)).
    pub tone: &'a [f32],
    /// The content's weight (content weight / 10; 1 by default).
    pub guide_weight: f32,
    /// The painting, for the contrast and range of its luminance.
    pub style: &'a LabPlanes,
    /// The photo's colours will be kept (its tone is then the photo's own, which may
    /// leave the painting's range).
    pub preserve_colors: bool,
}

/// The finished painting and what went into it, which an enlargement reuses.
pub(super) struct Finished {
    /// The finished painting (same size as the content).
    pub painting: LabPlanes,
    /// The tone's coarse band, which the shapes were taken from.
    pub coarse_tone: Vec<f32>,
    /// The share of the coarse band taken from the photo.
    pub share: f32,
    /// The range the luminance was kept in (none when the photo's colours are kept).
    pub range: Option<Range>,
}

/// The finished painting, from the synthesised one (same size as the content).
pub(super) fn finish(painted: &LabPlanes, inputs: &FinishInputs<'_>) -> Finished {
    let coarse = coarse_band(&painted.l, painted.width);
    let coarse_tone = coarse_band(inputs.tone, painted.width);
    let gain = stroke_gain(painted, &coarse, inputs.style);
    let share = (PHOTO_SHARE * inputs.guide_weight).min(1.0);
    let range = (!inputs.preserve_colors).then(|| Range::of(&Distribution::of(&inputs.style.l)));
    let mut painting = painted.clone();
    for i in 0..painting.l.len() {
        let strokes = painted.l[i] - coarse[i];
        let shapes = coarse[i] + share * (coarse_tone[i] - coarse[i]);
        let l = shapes + gain * strokes;
        painting.l[i] = range.map_or(l, |range| range.keep(l));
    }
    Finished {
        painting,
        coarse_tone,
        share,
        range,
    }
}

/// A plane's band coarser than the strokes: blurred by [`STROKE_SCALE`].
pub(super) fn coarse_band(values: &[f32], width: usize) -> Vec<f32> {
    gaussian_blurred(values, width, STROKE_SCALE)
}

/// How much to amplify the painted strokes so their contrast is the painting's: the
/// ratio of the spreads of the fine band (luminance minus its blur), within
/// `[1, MAX_STROKE_GAIN]`.
fn stroke_gain(painted: &LabPlanes, coarse: &[f32], style: &LabPlanes) -> f32 {
    let fine = |values: &[f32], blurred: &[f32]| -> f32 {
        let band: Vec<f32> = values.iter().zip(blurred).map(|(v, b)| v - b).collect();
        spread(&band).1
    };
    let ours = fine(&painted.l, coarse);
    let theirs = fine(&style.l, &coarse_band(&style.l, style.width));
    (theirs / ours.max(1e-3)).clamp(1.0, MAX_STROKE_GAIN)
}
