//! Guided patch synthesis (`method = patch`): the output is made of the style's own
//! pixels, so it stays as sharp as the painting.
//!
//! Coarse to fine over an image pyramid, each level alternates two steps a few times
//! (expectation-maximisation, as in Wexler et al. 2007 and Kaspar et al. 2015):
//!
//! 1. **Match**: a nearest-neighbour field by PatchMatch ([`field`]) over a patch distance
//!    that adds the colour difference to the current output (CIE Lab), a cost for every
//!    pixel whose semantic label differs, and, when a content image guides the painting, the
//!    difference of its tone and chroma to the style's ([`guide`]) and of its encoder
//!    features ([`features`]) to the style's.
//! 2. **Vote**: every output pixel becomes the weighted mean of the style pixels that the
//!    overlapping matched patches put there; close matches weigh more.
//!
//! The field found at one level seeds the next (coordinates doubled), so the fine levels
//! only refine. The first round of the coarsest level has no output yet and matches on
//! labels and guidance alone.
//!
//! A painted photo is then finished ([`finish`]): the synthesis gives the strokes and
//! colours, the photo most of the coarser luminance, so its shapes stay recognisable.

mod enlarge;
mod features;
mod field;
mod finish;
mod guide;
mod paint;
mod scale;
mod tone;
mod usage;

use std::time::{Duration, Instant};

use image::RgbImage;
use rayon::prelude::*;

use super::maps::{LabelImage, Labels};
use super::observe::Losses;
use super::report::PhaseReport;
use enlarge::{BAND_ROWS, Enlargement, enlarge};
pub(crate) use features::{Encode, FeatureMap};
use field::{CHANNELS, Field, Problem, StyleLevel, TargetLevel, Weights, mix};
use finish::{FinishInputs, Finished, finish};
use guide::PhotoGuide;
pub(crate) use paint::paint_plan;
use scale::PhotoScale;
pub(crate) use scale::{enlargement_time, stroke_magnification};

use crate::Result;
use crate::lab::LabPlanes;
use crate::pixels::resize_bilinear;

/// The coarsest level's longer side is at least this.
const COARSEST_SIDE: usize = 48;

/// What a match that breaks a run of the painting costs when a photo is painted, in units
/// of the mean patch distance (see [`Weights::coherence`]). Measured (docs/DOODLE.md):
/// without it a photo's smooth areas average unrelated patches into a wash; with 1 they
/// copy whole strokes.
const PHOTO_COHERENCE: f32 = 1.0;

/// Weight of the photo's chroma against its tone. Measured on 16 pairs judged blind
/// (docs/DOODLE.md): at 3 a region took the one part of the painting nearest its colour
/// (Van Gogh's moon over a face); at 1, with every part used in its share
/// ([`usage`]), the painting's palette spreads over the whole scene.
const CHROMA_WEIGHT: f32 = 1.0;

/// Weight of the photo's structure against the painting's (see [`guide`]): at 2 a
/// painting's black outlines and dark strokes no longer cross smooth faces.
const STRUCTURE_WEIGHT: f32 = 2.0;

/// Levels whose images are smaller than this on a side skip the feature-guided term.
const MIN_FEATURE_SIDE: usize = 16;

/// What a patch synthesis paints from.
#[derive(Clone, Copy)]
pub(crate) struct PatchInputs<'a> {
    pub style: &'a RgbImage,
    pub content: Option<&'a RgbImage>,
    pub labels: Option<&'a Labels>,
    pub target: (u32, u32),
    /// The encoder, for the feature-guided term (used only with a content image and a
    /// feature weight above 0).
    pub encode: &'a Encode<'a>,
}

/// The knobs, from [`DoodleOptions`](super::DoodleOptions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PatchSettings {
    pub patch_size: usize,
    /// Cost of one pixel of a patch whose label differs (semantic weight / 10).
    pub label_weight: f32,
    /// Weight of the content's tone and chroma (content weight / 10).
    pub guide_weight: f32,
    /// Weight of the content's encoder features (feature weight / 10).
    pub feature_weight: f32,
    /// With a content image: its colours will be kept, so its own luminance guides (and
    /// not the painting's range).
    pub preserve_colors: bool,
    /// With a content image: how large the painting's strokes appear (see
    /// [`DoodleOptions::stroke_scale`](super::DoodleOptions::stroke_scale)).
    pub stroke_scale: f32,
    pub seed: u64,
}

/// What the synthesis reports after each round; returning `false` stops it.
pub(crate) struct RoundInfo {
    pub level: usize,
    pub levels: usize,
    pub round: usize,
    pub rounds: usize,
    pub width: u32,
    pub height: u32,
    pub mean_cost: f32,
}

/// The result: the image, whether it stopped early, one report per level.
pub(crate) struct PatchResult {
    pub image: RgbImage,
    pub stopped: bool,
    pub levels: Vec<PhaseReport>,
}

/// Paints the target by patch synthesis; `keep_going` is asked before every round. Fails
/// only when the encoder does.
pub(crate) fn synthesize(
    inputs: &PatchInputs<'_>,
    settings: PatchSettings,
    keep_going: impl FnMut(&RoundInfo) -> bool,
) -> Result<PatchResult> {
    match inputs.content {
        Some(content) => paint_photo(inputs, content, settings, keep_going),
        None => paint(inputs, None, settings, keep_going),
    }
}

/// A photo: painted at the working size its stroke scale asks for, finished there, and
/// enlarged to the output guided by the photo when the work is smaller.
fn paint_photo(
    inputs: &PatchInputs<'_>,
    content: &RgbImage,
    settings: PatchSettings,
    keep_going: impl FnMut(&RoundInfo) -> bool,
) -> Result<PatchResult> {
    let scale = PhotoScale::plan(
        inputs.target,
        inputs.style.dimensions(),
        settings.stroke_scale,
    );
    let style = working_painting(inputs.style, scale.painting, settings.patch_size);
    let (ww, wh) = scale.work;
    let work_content = resize_bilinear(content, ww, wh);
    let work = PatchInputs {
        style: &style,
        content: Some(&work_content),
        target: scale.work,
        ..*inputs
    };
    let photo = Photo::new(&work_content, &style, &settings);
    let painted = paint(&work, Some(&photo), settings, keep_going)?;
    let finished = photo.finish(&painted.image, &settings);
    let image = if scale.enlarges(inputs.target) {
        enlarge(
            &Enlargement {
                finished: &finished,
                mapping: photo.guide.mapping.as_ref(),
                photo: content,
            },
            BAND_ROWS,
        )
    } else {
        finished.painting.to_image()
    };
    Ok(PatchResult { image, ..painted })
}

/// The painting resized by `factor` (at most 1), though never below what patches of
/// `patch_size` need (three patches on its shorter side).
fn working_painting(style: &RgbImage, factor: f32, patch_size: usize) -> RgbImage {
    let (w, h) = (style.width() as f32, style.height() as f32);
    let least = (3 * patch_size) as f32 / w.min(h);
    let factor = factor.max(least).min(1.0);
    if factor >= 1.0 {
        return style.clone();
    }
    let side = |length: f32| ((length * factor).round() as usize).max(1);
    resize_bilinear(style, side(w) as u32, side(h) as u32)
}

/// The pyramid of match-and-vote rounds at the target size; the image is unfinished.
fn paint(
    inputs: &PatchInputs<'_>,
    photo: Option<&Photo>,
    settings: PatchSettings,
    mut keep_going: impl FnMut(&RoundInfo) -> bool,
) -> Result<PatchResult> {
    let radius = settings.patch_size / 2;
    let sizes = level_sizes(inputs, settings.patch_size);
    let levels = sizes.len();
    let weights = Weights {
        colour: 1.0,
        label: settings.label_weight,
        tone: settings.guide_weight,
        chroma: settings.guide_weight * CHROMA_WEIGHT,
        structure: settings.guide_weight * STRUCTURE_WEIGHT,
        feature: settings.feature_weight,
        coherence: if photo.is_some() {
            PHOTO_COHERENCE
        } else {
            0.0
        },
    };
    let mut field: Option<Field> = None;
    let mut output: Vec<[f32; 3]> = Vec::new();
    let mut reports = Vec::new();
    let mut stopped = false;
    for (index, &(target_size, style_size)) in sizes.iter().enumerate() {
        let level_started = Instant::now();
        let mut search_time = Duration::ZERO;
        let (style, mut target) = build_level(inputs, photo, &settings, target_size, style_size)?;
        // The feature term places textures most precisely at the finest level, so a
        // feature-guided photo keeps the full schedule.
        let refine_only = photo.is_some() && settings.feature_weight == 0.0;
        let (rounds, searches) = schedule(index, levels, refine_only);
        let mut current = match field.take() {
            // Carries the coarse costs, so the level's first vote already weighs close
            // matches more.
            Some(coarse) => upsample(&coarse, &style, &target, radius),
            None => {
                let blind = Weights {
                    colour: 0.0,
                    ..weights
                };
                let problem = problem(&style, &target, radius, blind);
                let mut field = Field::random(&problem, mix(settings.seed, 1));
                for iteration in 0..searches {
                    field.improve(
                        &problem,
                        iteration,
                        mix(settings.seed, 100 + iteration as u64),
                    );
                }
                field
            }
        };
        output = vote(&current, &style, &target, radius);
        let mut rounds_done = 0;
        for round in 0..rounds {
            let info = RoundInfo {
                level: index + 1,
                levels,
                round: round + 1,
                rounds,
                width: target.width as u32,
                height: target.height as u32,
                mean_cost: current.mean_cost(),
            };
            if !keep_going(&info) {
                stopped = true;
                break;
            }
            let searched = Instant::now();
            target.set_output(&to_lab(&output));
            let problem = problem(&style, &target, radius, weights);
            current.rescore(&problem);
            for iteration in 0..searches {
                let part = ((index * 16 + round) * 16 + iteration) as u64;
                current.improve(&problem, iteration, mix(settings.seed, 1000 + part));
            }
            if photo.is_some() && index < usage::LEVELS {
                let part = (index * 16 + round) as u64;
                usage::spread(&mut current, &problem, mix(settings.seed, 50_000 + part));
            }
            search_time += searched.elapsed();
            output = vote(&current, &style, &target, radius);
            rounds_done += 1;
        }
        reports.push(PhaseReport {
            phase: index + 1,
            width: target.width as u32,
            height: target.height as u32,
            evaluations: rounds_done,
            seconds: level_started.elapsed().as_secs_f64(),
            matching_seconds: search_time.as_secs_f64(),
            matchings: rounds_done * searches,
            losses: Losses {
                style: current.mean_cost(),
                total: current.mean_cost(),
                ..Losses::default()
            },
        });
        field = Some(current);
        if stopped {
            // Finish at the target size from what was found, so the caller still gets a
            // whole image.
            if index + 1 < levels {
                let (target_size, style_size) = sizes[levels - 1];
                let (style, target) =
                    build_level(inputs, photo, &settings, target_size, style_size)?;
                let fine = upsample(field.as_ref().expect("set above"), &style, &target, radius);
                output = vote(&fine, &style, &target, radius);
            }
            break;
        }
    }
    let (w, h) = inputs.target;
    let image = RgbImage::from_fn(w, h, |x, y| {
        let p = output[(y * w + x) as usize];
        image::Rgb(p.map(|v| v.round().clamp(0.0, 255.0) as u8))
    });
    Ok(PatchResult {
        image,
        stopped,
        levels: reports,
    })
}

/// Rounds of match-and-vote and PatchMatch iterations per round at level `index` of
/// `levels`. The coarsest level starts from nothing and needs the most. For a photo the
/// finer levels only refine what the coarser ones placed (the finish takes the shapes
/// from the photo anyway): two rounds at the middle levels, and at the finest, below at
/// least two coarser ones, none (the coarser field, upsampled, votes the output).
/// Measured on 14 painting-photo pairs (docs/DOODLE.md): the same scores within 0.005
/// in half the time of three rounds everywhere.
fn schedule(index: usize, levels: usize, refine_only: bool) -> (usize, usize) {
    match (index, refine_only) {
        (0, _) => (5, 4),
        (_, true) if levels >= 3 && index + 1 == levels => (0, 0),
        (_, true) => (2, 2),
        (_, false) => (3, 2),
    }
}

/// What a painted photo needs beyond the style: the painting in Lab, and the photo's
/// guidance.
struct Photo {
    style: LabPlanes,
    guide: PhotoGuide,
}

impl Photo {
    fn new(content: &RgbImage, style: &RgbImage, settings: &PatchSettings) -> Self {
        let content = LabPlanes::from_image(content);
        let style = LabPlanes::from_image(style);
        let guide = PhotoGuide::new(&content, &style, settings.preserve_colors);
        Photo { style, guide }
    }

    fn finish(&self, painted: &RgbImage, settings: &PatchSettings) -> Finished {
        let inputs = FinishInputs {
            tone: &self.guide.tone,
            chroma: &self.guide.chroma,
            guide_weight: settings.guide_weight,
            style: &self.style,
            preserve_colors: settings.preserve_colors,
        };
        finish(&LabPlanes::from_image(painted), &inputs)
    }
}

fn problem<'a>(
    style: &'a StyleLevel,
    target: &'a TargetLevel,
    radius: usize,
    weights: Weights,
) -> Problem<'a> {
    Problem {
        style,
        target,
        radius,
        weights,
        taken: None,
    }
}

/// Target and style sizes per level, coarse to fine; the finest is the target itself.
fn level_sizes(
    inputs: &PatchInputs<'_>,
    patch_size: usize,
) -> Vec<((usize, usize), (usize, usize))> {
    let target = (inputs.target.0 as usize, inputs.target.1 as usize);
    let style = (
        inputs.style.width() as usize,
        inputs.style.height() as usize,
    );
    let mut sizes = vec![(target, style)];
    loop {
        let (t, s) = *sizes.last().expect("one at least");
        let (t2, s2) = ((t.0 / 2, t.1 / 2), (s.0 / 2, s.1 / 2));
        if t2.0.max(t2.1) < COARSEST_SIDE
            || t2.0.min(t2.1) < patch_size
            || s2.0.min(s2.1) < 3 * patch_size
        {
            break;
        }
        sizes.push((t2, s2));
    }
    sizes.reverse();
    sizes
}

/// One level's style and target at the given sizes.
fn build_level(
    inputs: &PatchInputs<'_>,
    photo: Option<&Photo>,
    settings: &PatchSettings,
    (tw, th): (usize, usize),
    (sw, sh): (usize, usize),
) -> Result<(StyleLevel, TargetLevel)> {
    let radius = settings.patch_size / 2;
    let style_image = resize_bilinear(inputs.style, sw as u32, sh as u32);
    let rgb: Vec<[f32; 3]> = style_image.pixels().map(|p| p.0.map(f32::from)).collect();
    let style_lab = LabPlanes::from_image(&style_image);
    let style_labels = inputs.labels.map(|l| downsample_labels(&l.style, sw, sh));
    let target_labels = inputs.labels.map(|l| downsample_labels(&l.target, tw, th));
    let mut style_features = None;
    let mut target_features = None;
    let scale = tw as f32 / inputs.target.0 as f32;
    let (mut style_values, target_values) = match (photo, inputs.content) {
        (Some(photo), Some(content)) => {
            // Below this the deeper layers have too few activations to say anything.
            let large_enough = sw.min(sh).min(tw).min(th) >= MIN_FEATURE_SIDE;
            if settings.feature_weight > 0.0 && large_enough {
                let (s, t) = features::pixel_features(
                    &(inputs.encode)(&style_image)?,
                    &(inputs.encode)(&resize_bilinear(content, tw as u32, th as u32))?,
                    (sw, sh),
                    (tw, th),
                );
                style_features = Some(s);
                target_features = Some(t);
            }
            (
                guide::style_level(&style_lab, scale),
                photo.guide.level((tw, th)),
            )
        }
        _ => (
            vec![[0.0; CHANNELS]; sw * sh],
            vec![[0.0; CHANNELS]; tw * th],
        ),
    };
    for (i, values) in style_values.iter_mut().enumerate() {
        values[..3]
            .copy_from_slice(&[style_lab.l[i], style_lab.a[i], style_lab.b[i]].map(|v| v / 100.0));
    }
    let label_count = inputs.labels.map_or(1, Labels::count);
    let mut centres_by_label = vec![Vec::new(); label_count];
    let mut centres = Vec::new();
    for y in radius..sh.saturating_sub(radius) {
        for x in radius..sw.saturating_sub(radius) {
            let i = y * sw + x;
            centres.push(i as u32);
            let label = style_labels.as_ref().map_or(0, |l| l[i] as usize);
            centres_by_label[label].push(i as u32);
        }
    }
    let style = StyleLevel {
        width: sw,
        height: sh,
        rgb,
        values: style_values,
        labels: style_labels,
        features: style_features,
        centres_by_label,
        centres,
    };
    let target = TargetLevel {
        width: tw,
        height: th,
        values: target_values,
        labels: target_labels,
        features: target_features,
    };
    Ok((style, target))
}

/// Labels at another size, each pixel taking the label under its centre.
fn downsample_labels(labels: &LabelImage, w: usize, h: usize) -> Vec<u16> {
    let (sw, sh) = (labels.width as usize, labels.height as usize);
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let sy = ((y * 2 + 1) * sh / (2 * h)).min(sh - 1);
        for x in 0..w {
            let sx = ((x * 2 + 1) * sw / (2 * w)).min(sw - 1);
            out.push(labels.labels[sy * sw + sx]);
        }
    }
    out
}

/// The coarse field's matches mapped onto a finer level of any size.
fn upsample(coarse: &Field, style: &StyleLevel, target: &TargetLevel, radius: usize) -> Field {
    let (cw, ch) = (coarse.width, coarse.centres.len() / coarse.width);
    let coarse_style_width = coarse.style_size.0;
    let (tw, th) = (target.width, target.height);
    let scale_x = style.width as f64 / coarse.style_size.0 as f64;
    let scale_y = style.height as f64 / coarse.style_size.1 as f64;
    let (centres, costs) = (0..tw * th)
        .into_par_iter()
        .map(|i| {
            let (x, y) = (i % tw, i / tw);
            let (cx, cy) = ((x * cw / tw).min(cw - 1), (y * ch / th).min(ch - 1));
            let c = coarse.centres[cy * cw + cx] as usize;
            let (cu, cv) = (c % coarse_style_width, c / coarse_style_width);
            // Where this pixel sits inside its coarse pixel, carried over.
            let fx = (x as f64 + 0.5) * cw as f64 / tw as f64 - (cx as f64 + 0.5);
            let fy = (y as f64 + 0.5) * ch as f64 / th as f64 - (cy as f64 + 0.5);
            let u = ((cu as f64 + 0.5 + fx) * scale_x - 0.5).round() as usize;
            let v = ((cv as f64 + 0.5 + fy) * scale_y - 0.5).round() as usize;
            let u = u.clamp(radius, style.width - radius - 1);
            let v = v.clamp(radius, style.height - radius - 1);
            ((v * style.width + u) as u32, coarse.costs[cy * cw + cx])
        })
        .unzip();
    Field {
        width: tw,
        style_size: (style.width, style.height),
        centres,
        costs,
    }
}

/// Every output pixel as the weighted mean of what the overlapping patches put there;
/// a patch's weight falls with its cost relative to the typical cost.
fn vote(field: &Field, style: &StyleLevel, target: &TargetLevel, radius: usize) -> Vec<[f32; 3]> {
    let (tw, th) = (target.width, target.height);
    let mut sorted = field.costs.clone();
    let middle = sorted.len() / 2;
    let typical = if sorted.is_empty() {
        1.0
    } else {
        *sorted.select_nth_unstable_by(middle, f32::total_cmp).1
    }
    .max(1e-6);
    let weights: Vec<f32> = field.costs.iter().map(|&c| (-c / typical).exp()).collect();
    let r = radius as isize;
    let sw = style.width;
    // Each match's style column and row, worked out once rather than 25 times.
    let matches: Vec<(isize, isize)> = field
        .centres
        .par_iter()
        .map(|&c| ((c as usize % sw) as isize, (c as usize / sw) as isize))
        .collect();
    (0..tw * th)
        .into_par_iter()
        .map(|i| {
            let (x, y) = ((i % tw) as isize, (i / tw) as isize);
            let mut sum = [0f32; 3];
            let mut total = 0f32;
            for dy in -r..=r {
                let py = y - dy;
                if py < 0 || py >= th as isize {
                    continue;
                }
                for dx in -r..=r {
                    let px = x - dx;
                    if px < 0 || px >= tw as isize {
                        continue;
                    }
                    let p = py as usize * tw + px as usize;
                    let (u, v) = matches[p];
                    let s = (v + dy) as usize * sw + (u + dx) as usize;
                    let weight = weights[p];
                    let colour = style.rgb[s];
                    for k in 0..3 {
                        sum[k] += weight * colour[k];
                    }
                    total += weight;
                }
            }
            if total > 0.0 {
                sum.map(|v| v / total)
            } else {
                style.rgb[field.centres[i] as usize]
            }
        })
        .collect()
}

/// sRGB (0-255) to CIE Lab scaled by 1/100, so the colour term is about 0-1 per pixel.
fn to_lab(rgb: &[[f32; 3]]) -> Vec<[f32; 3]> {
    rgb.par_iter()
        .map(|p| {
            crate::lab::from_srgb(p.map(|v| v.round().clamp(0.0, 255.0) as u8)).map(|v| v / 100.0)
        })
        .collect()
}
