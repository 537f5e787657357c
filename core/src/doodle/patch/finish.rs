//! The last step of painting a photo: the synthesised painting keeps its strokes (the
//! fine band of its luminance) and its colours, and takes most of its coarser luminance
//! from the photo's tone, so shapes, shading and outlines are the photo's (Hertzmann et
//! al.'s luminance remapping, 2001, with the band split of detail transfer).
//!
//! Three refinements, each judged blind against a feed-forward network (docs/DOODLE.md):
//! where the photo has its strongest fine edges (eyelids, lips, window frames, cables:
//! its *drawing*, [`drawing`]) the photo's fine band replaces the strokes, so features are
//! drawn, not smeared; strokes are limited to a little more than the painting's usual
//! contrast, so an odd line of the painting cannot scratch a face; and where the
//! synthesis strays far from the photo's tone (a dark piece of the painting on a lit
//! cheek) the photo's share rises to all of it. Colours stay the synthesis's, pulled a
//! little towards the photo's (as the guide maps them) at a broad scale, so a region keeps
//! one colour rather than the patchwork of the painting's parts it took.

use rayon::prelude::*;

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

/// The synthesis's coarse luminance straying this far (L* units) from the photo's tone
/// takes the photo's share most of the way to all of it (a Gaussian falloff): a few
/// units are the painting's modelling, tens are a misplaced piece of it.
const DEVIATION: f32 = 15.0;

/// Voting averages overlapping patches, which softens strokes: they are amplified by this
/// times the ratio of the painting's fine-band contrast to the synthesis's, within
/// `[1, MAX_STROKE_GAIN]`. Judged blind (docs/DOODLE.md): the painting's own contrast
/// alone read as a filter over the photo.
const STROKE_GAIN: f32 = 1.6;
const MAX_STROKE_GAIN: f32 = 3.0;

/// Strokes are limited softly (tanh) to this many times the spread of the painting's
/// fine band before they are amplified.
const STROKE_LIMIT: f32 = 1.5;

/// How far the colours move towards the photo's guide colours, at the default content
/// weight, below [`COLOUR_SCALE`].
const COLOUR_PULL: f32 = 0.3;

/// Standard deviation (working pixels) of the scale the colours are pulled at: regions,
/// not strokes.
const COLOUR_SCALE: f32 = 6.0;

/// Where the photo's drawing is: its fine gradient (at [`DRAWING_SCALE`] px) relative to
/// its 90th percentile, ramping from [`DRAWING_THRESHOLD`] (nothing) to 1 (all of the
/// photo's fine band).
const DRAWING_SCALE: f32 = 1.0;
const DRAWING_THRESHOLD: f32 = 0.3;

/// What the finish needs besides the synthesised image.
pub(super) struct FinishInputs<'a> {
    /// The tone the result should have (see [`PhotoGuide::tone`](super::guide::PhotoGuide)).
    pub tone: &'a [f32],
    /// The photo's chroma (a*, b*) as the guide maps it onto the painting's.
    pub chroma: &'a [Vec<f32>; 2],
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
    /// Per pixel, the share of the coarse band taken from the photo.
    pub shares: Vec<f32>,
    /// The range the luminance was kept in (none when the photo's colours are kept).
    pub range: Option<Range>,
}

/// The finished painting, from the synthesised one (same size as the content).
pub(super) fn finish(painted: &LabPlanes, inputs: &FinishInputs<'_>) -> Finished {
    let width = painted.width;
    let coarse = coarse_band(&painted.l, width);
    let coarse_tone = coarse_band(inputs.tone, width);
    let strokes = Strokes::new(painted, &coarse, inputs.style);
    // The content weight scales every pull towards the photo; 0 leaves the synthesis.
    let pull = inputs.guide_weight.min(1.0);
    let share = (PHOTO_SHARE * inputs.guide_weight).min(1.0);
    let drawing = drawing(inputs.tone, width);
    let range = (!inputs.preserve_colors).then(|| Range::of(&Distribution::of(&inputs.style.l)));
    let shares: Vec<f32> = coarse
        .par_iter()
        .zip(&coarse_tone)
        .map(|(&ours, &photo)| {
            let strayed = 1.0 - (-((photo - ours) / DEVIATION).powi(2)).exp();
            share + pull * (1.0 - share) * strayed
        })
        .collect();
    let mut painting = painted.clone();
    painting.l.par_iter_mut().enumerate().for_each(|(i, l)| {
        let shapes = coarse[i] + shares[i] * (coarse_tone[i] - coarse[i]);
        let drawn = pull * drawing[i];
        let photo_fine = inputs.tone[i] - coarse_tone[i];
        let value =
            shapes + (1.0 - drawn) * strokes.at(painted.l[i] - coarse[i]) + drawn * photo_fine;
        *l = range.map_or(value, |range| range.keep(value));
    });
    pull_colours(&mut painting, inputs.chroma, COLOUR_PULL * pull);
    Finished {
        painting,
        coarse_tone,
        shares,
        range,
    }
}

/// A plane's band coarser than the strokes: blurred by [`STROKE_SCALE`].
pub(super) fn coarse_band(values: &[f32], width: usize) -> Vec<f32> {
    gaussian_blurred(values, width, STROKE_SCALE)
}

/// How the synthesis's strokes (its fine band) are limited and amplified.
struct Strokes {
    limit: f32,
    gain: f32,
}

impl Strokes {
    /// The limit from the painting's fine-band contrast, and the gain that brings the
    /// synthesis's to [`STROKE_GAIN`] times it (within `[1, MAX_STROKE_GAIN]`).
    fn new(painted: &LabPlanes, coarse: &[f32], style: &LabPlanes) -> Self {
        let fine = |values: &[f32], blurred: &[f32]| -> f32 {
            let band: Vec<f32> = values.iter().zip(blurred).map(|(v, b)| v - b).collect();
            spread(&band).1
        };
        let ours = fine(&painted.l, coarse);
        let theirs = fine(&style.l, &coarse_band(&style.l, style.width));
        Strokes {
            limit: (STROKE_LIMIT * theirs).max(1e-3),
            gain: (STROKE_GAIN * theirs / ours.max(1e-3)).clamp(1.0, MAX_STROKE_GAIN),
        }
    }

    /// A stroke of fine-band value `value`, limited and amplified.
    fn at(&self, value: f32) -> f32 {
        self.gain * self.limit * (value / self.limit).tanh()
    }
}

/// Where the photo's drawing lies (0-1 per pixel): its strongest fine edges.
fn drawing(tone: &[f32], width: usize) -> Vec<f32> {
    let height = tone.len() / width.max(1);
    if width < 2 || height < 2 {
        return vec![0.0; tone.len()];
    }
    let smooth = gaussian_blurred(tone, width, DRAWING_SCALE);
    let gradient: Vec<f32> = (0..tone.len())
        .into_par_iter()
        .map(|i| {
            let (x, y) = (i % width, i / width);
            let at = |x: usize, y: usize| smooth[y * width + x];
            let dx = at((x + 1).min(width - 1), y) - at(x.saturating_sub(1), y);
            let dy = at(x, (y + 1).min(height - 1)) - at(x, y.saturating_sub(1));
            dx.hypot(dy)
        })
        .collect();
    let strong = {
        let mut sorted = gradient.clone();
        let at = sorted.len() * 9 / 10;
        *sorted.select_nth_unstable_by(at, f32::total_cmp).1
    }
    .max(1e-3);
    let ramp: Vec<f32> = gradient
        .iter()
        .map(|g| ((g / strong - DRAWING_THRESHOLD) / (1.0 - DRAWING_THRESHOLD)).clamp(0.0, 1.0))
        .collect();
    gaussian_blurred(&ramp, width, DRAWING_SCALE)
}

/// Moves the colours' broad scale (blurred by [`COLOUR_SCALE`]) `amount` of the way to
/// the photo's guide colours', leaving their finer variation (the strokes' colours).
fn pull_colours(painting: &mut LabPlanes, chroma: &[Vec<f32>; 2], amount: f32) {
    if amount <= 0.0 {
        return;
    }
    let width = painting.width;
    for (plane, photo) in [&mut painting.a, &mut painting.b].into_iter().zip(chroma) {
        let ours = gaussian_blurred(plane, width, COLOUR_SCALE);
        let theirs = gaussian_blurred(photo, width, COLOUR_SCALE);
        plane
            .par_iter_mut()
            .zip(ours.par_iter().zip(&theirs))
            .for_each(|(v, (o, t))| *v += amount * (t - o));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat painting of value `l` with soft stripes of amplitude `stripes`.
    fn planes(width: usize, height: usize, l: impl Fn(usize, usize) -> f32) -> LabPlanes {
        let n = width * height;
        LabPlanes {
            width,
            height,
            l: (0..n).map(|i| l(i % width, i / width)).collect(),
            a: vec![0.0; n],
            b: vec![0.0; n],
        }
    }

    fn inputs<'a>(
        tone: &'a [f32],
        chroma: &'a [Vec<f32>; 2],
        style: &'a LabPlanes,
    ) -> FinishInputs<'a> {
        FinishInputs {
            tone,
            chroma,
            guide_weight: 1.0,
            style,
            preserve_colors: false,
        }
    }

    #[test]
    fn the_photos_drawing_replaces_the_strokes_on_its_edges_only() {
        let (w, h) = (64, 48);
        // The photo: flat, with one thin dark line at x = 32.
        let tone: Vec<f32> = (0..w * h)
            .map(|i| if i % w == 32 { 30.0 } else { 60.0 })
            .collect();
        let chroma = [vec![0.0; w * h], vec![0.0; w * h]];
        // The painting and the synthesis: horizontal stripes (strokes) around 60.
        let striped = |_: usize, y: usize| 60.0 + if y % 4 < 2 { 6.0 } else { -6.0 };
        let style = planes(w, h, striped);
        let painted = planes(w, h, striped);
        let finished = finish(&painted, &inputs(&tone, &chroma, &style));
        let l = |x: usize, y: usize| finished.painting.l[y * w + x];
        // The line is drawn: darker than both sides.
        assert!(l(32, 20) < l(26, 20) - 8.0 && l(32, 20) < l(38, 20) - 8.0);
        // Away from it the strokes stay (rows alternate).
        let stripes = (l(10, 20) - l(10, 22)).abs();
        assert!(
            stripes > 5.0,
            "strokes kept away from the drawing: {stripes}"
        );
        // On the line the strokes give way to the photo's line.
        let on_line = (l(32, 20) - l(32, 22)).abs();
        assert!(on_line < stripes / 2.0, "{on_line} vs {stripes}");
    }

    #[test]
    fn a_stroke_far_past_the_paintings_contrast_is_limited() {
        let (w, h) = (48, 48);
        let tone = vec![60.0; w * h];
        let chroma = [vec![0.0; w * h], vec![0.0; w * h]];
        let striped = |_: usize, y: usize| 60.0 + if y % 4 < 2 { 3.0 } else { -3.0 };
        let style = planes(w, h, striped);
        // The synthesis has the stripes and one black scratch across it.
        let painted = planes(w, h, |x, y| if x == 24 { 5.0 } else { striped(x, y) });
        let finished = finish(&painted, &inputs(&tone, &chroma, &style));
        let l = |x: usize, y: usize| finished.painting.l[y * w + x];
        let scratch = l(20, 21) - l(24, 21);
        assert!(
            (0.0..25.0).contains(&scratch),
            "a 55-unit scratch is limited to a few strokes' contrast: {scratch}"
        );
    }

    #[test]
    fn a_misplaced_dark_piece_takes_the_photos_tone() {
        let (w, h) = (48, 48);
        let tone = vec![70.0; w * h];
        let chroma = [vec![0.0; w * h], vec![0.0; w * h]];
        // A painting whose range (30 to 90) holds the photo's tone, so it is not clamped.
        let style = planes(w, h, |x, y| 30.0 + ((x + y) % 4) as f32 * 20.0);
        // A dark square of the painting on the lit photo, and a mild shading elsewhere.
        let painted = planes(w, h, |x, y| {
            if (16..32).contains(&x) && (16..32).contains(&y) {
                20.0
            } else {
                66.0
            }
        });
        let finished = finish(&painted, &inputs(&tone, &chroma, &style));
        let at = |x: usize, y: usize| finished.shares[y * w + x];
        assert!(at(24, 24) > 0.97, "the stray piece: share {}", at(24, 24));
        assert!(
            (at(4, 4) - PHOTO_SHARE).abs() < 0.02,
            "modelling: share {}",
            at(4, 4)
        );
        let l = finished.painting.l[24 * w + 24];
        assert!(
            l > 60.0,
            "the dark piece is lifted to the photo's tone: {l}"
        );
    }

    #[test]
    fn a_content_weight_of_zero_leaves_the_synthesis() {
        let (w, h) = (40, 40);
        let tone: Vec<f32> = (0..w * h)
            .map(|i| if i % w == 20 { 20.0 } else { 70.0 })
            .collect();
        let chroma = [vec![30.0; w * h], vec![-30.0; w * h]];
        let style = planes(w, h, |x, _| 40.0 + (x % 5) as f32);
        let painted = planes(w, h, |x, _| 45.0 + (x % 5) as f32);
        let mut zero = inputs(&tone, &chroma, &style);
        zero.guide_weight = 0.0;
        let finished = finish(&painted, &zero);
        let coarse = coarse_band(&painted.l, w);
        let strokes = Strokes::new(&painted, &coarse, &style);
        let range = Range::of(&Distribution::of(&style.l));
        for (i, &base) in coarse.iter().enumerate() {
            let expected = range.keep(base + strokes.at(painted.l[i] - base));
            assert!(
                (finished.painting.l[i] - expected).abs() < 1e-3,
                "pixel {i}"
            );
            assert_eq!(finished.painting.a[i], 0.0);
        }
    }
}
