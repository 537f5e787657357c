//! The nearest-neighbour field of one pyramid level and PatchMatch (Barnes et al. 2009):
//! for every output pixel, the style patch most like the patch around it, found by
//! propagating good matches to neighbours and searching randomly around them.

use rayon::prelude::*;

use super::features::COMPONENTS;
use crate::rng::SplitMix64;

/// Rows per band: bands are searched in parallel, each in scan order; a band reads the
/// rows of its neighbours as they were at the start of the iteration, so the result does
/// not depend on the number of threads.
const BAND_ROWS: usize = 8;

/// Values compared per pixel: the colour in Lab (scaled by 1/100) and, when a content
/// image guides the painting, its guidance channels ([`GUIDES`] of them, see
/// [`guide`](super::guide)); zero otherwise. Eight lanes, so a pixel's distance is one
/// vector operation.
pub(super) const CHANNELS: usize = 8;

/// Guidance channels after the colour: the content's tone, its two chroma channels and
/// its two structure channels (the tone's band-pass at two scales).
pub(super) const GUIDES: usize = 5;

/// One level's style: per pixel the compared values, the colour and labels.
pub(super) struct StyleLevel {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<[f32; 3]>,
    /// Lab colour (scaled by 1/100) in lanes 0-2, guidance in lanes 3.. (see [`CHANNELS`]).
    pub values: Vec<[f32; CHANNELS]>,
    pub labels: Option<Vec<u16>>,
    pub features: Option<Vec<[f32; COMPONENTS]>>,
    /// Valid patch centres (index `y * width + x`) by the label at the centre; every
    /// valid centre under index 0 when there are no labels.
    pub centres_by_label: Vec<Vec<u32>>,
    /// All valid patch centres.
    pub centres: Vec<u32>,
}

/// One level's target: what the output must follow, and the current output.
pub(super) struct TargetLevel {
    pub width: usize,
    pub height: usize,
    /// The current output's Lab colour in lanes 0-2 (set by
    /// [`TargetLevel::set_output`]), the content's guidance in lanes 3...
    pub values: Vec<[f32; CHANNELS]>,
    pub labels: Option<Vec<u16>>,
    pub features: Option<Vec<[f32; COMPONENTS]>>,
}

impl TargetLevel {
    /// Puts the output (Lab scaled by 1/100, one per pixel) into the colour lanes.
    pub fn set_output(&mut self, lab: &[[f32; 3]]) {
        for (values, colour) in self.values.iter_mut().zip(lab) {
            values[..3].copy_from_slice(colour);
        }
    }
}

/// The weights of the patch distance's terms.
#[derive(Debug, Clone, Copy)]
pub(super) struct Weights {
    /// The colour difference to the current output.
    pub colour: f32,
    /// Each pixel whose semantic label differs.
    pub label: f32,
    /// The content's tone against the style's.
    pub tone: f32,
    /// The content's chroma against the style's.
    pub chroma: f32,
    /// The content's structure (its lines and edges) against the style's: keeps the
    /// painting's lines off the photo's smooth areas and on its edges.
    pub structure: f32,
    /// The encoder features.
    pub feature: f32,
    /// What a match that does not continue a neighbour's costs, in units of the field's
    /// mean cost: above 0, the output copies longer runs of the painting (whole strokes)
    /// instead of averaging unrelated patches.
    pub coherence: f32,
}

impl Weights {
    /// The weight of each lane of [`CHANNELS`].
    fn lanes(&self) -> [f32; CHANNELS] {
        let mut lanes = [0f32; CHANNELS];
        lanes[..3].fill(self.colour);
        lanes[3] = self.tone;
        lanes[4..6].fill(self.chroma);
        lanes[6..3 + GUIDES].fill(self.structure);
        lanes
    }
}

/// Everything a distance needs: both sides (the target holding the current output), the
/// weights.
pub(super) struct Problem<'a> {
    pub style: &'a StyleLevel,
    pub target: &'a TargetLevel,
    pub radius: usize,
    pub weights: Weights,
    /// Style centres that already serve as many pixels as they may (see
    /// [`usage`](super::usage)): no pixel takes them anew.
    pub taken: Option<&'a [bool]>,
}

impl Problem<'_> {
    /// The distance between the patch around target pixel `(x, y)` and the style patch
    /// centred at style index `centre`; stops adding once it exceeds `limit`. Target
    /// pixels outside the image are left out.
    pub fn cost(&self, x: usize, y: usize, centre: u32, limit: f32) -> f32 {
        let (tw, th) = (self.target.width, self.target.height);
        let sw = self.style.width;
        let (cu, cv) = (centre as usize % sw, centre as usize / sw);
        let r = self.radius;
        // The patch's columns inside the target, and the style columns under them (a
        // centre is always at least `r` from the style's edges).
        let (x0, x1) = (x.saturating_sub(r), (x + r).min(tw - 1));
        let columns = x1 - x0 + 1;
        let s0 = cu + x0 - x;
        let lanes = self.weights.lanes();
        let mut sum = 0f32;
        for ty in y.saturating_sub(r)..=(y + r).min(th - 1) {
            let sy = cv + ty - y;
            let t = ty * tw + x0;
            let s = sy * sw + s0;
            // Lane by lane over the row, weighted once per row: the loop vectorises.
            let mut row = [0f32; CHANNELS];
            for (a, b) in self.target.values[t..t + columns]
                .iter()
                .zip(&self.style.values[s..s + columns])
            {
                for k in 0..CHANNELS {
                    let d = a[k] - b[k];
                    row[k] += d * d;
                }
            }
            sum += row.iter().zip(&lanes).map(|(v, w)| v * w).sum::<f32>();
            if let (Some(tl), Some(sl)) = (&self.target.labels, &self.style.labels) {
                let differing = tl[t..t + columns]
                    .iter()
                    .zip(&sl[s..s + columns])
                    .filter(|(a, b)| a != b)
                    .count();
                sum += self.weights.label * differing as f32;
            }
            if let (Some(tf), Some(sf)) = (&self.target.features, &self.style.features) {
                let distance: f32 = tf[t..t + columns]
                    .iter()
                    .zip(&sf[s..s + columns])
                    .map(|(a, b)| a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f32>())
                    .sum();
                sum += self.weights.feature * distance;
            }
            if sum > limit {
                return sum;
            }
        }
        sum
    }

    /// The style centres worth trying for target pixel `i` at random: its label's, or
    /// all of them.
    fn centres_for(&self, i: usize) -> &[u32] {
        if let Some(labels) = &self.target.labels {
            let own = &self.style.centres_by_label[labels[i] as usize];
            if !own.is_empty() {
                return own;
            }
        }
        &self.style.centres
    }
}

/// For every target pixel, a style patch centre and the distance to it.
#[derive(Debug, Clone)]
pub(super) struct Field {
    /// The target's width.
    pub width: usize,
    /// The size of the style the centres index.
    pub style_size: (usize, usize),
    pub centres: Vec<u32>,
    pub costs: Vec<f32>,
}

impl Field {
    /// A random field: each pixel gets a random centre of its own label.
    pub fn random(problem: &Problem<'_>, seed: u64) -> Field {
        let (w, h) = (problem.target.width, problem.target.height);
        let centres: Vec<u32> = (0..h)
            .into_par_iter()
            .flat_map_iter(|y| {
                let mut rng = SplitMix64::new(mix(seed, y as u64));
                (0..w)
                    .map(|x| {
                        let pool = problem.centres_for(y * w + x);
                        pool[rng.below(pool.len() as u64) as usize]
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut field = Field {
            width: w,
            style_size: (problem.style.width, problem.style.height),
            centres,
            costs: vec![0.0; w * h],
        };
        field.rescore(problem);
        field
    }

    /// Recomputes every cost (after the output or the weights changed).
    pub fn rescore(&mut self, problem: &Problem<'_>) {
        let w = self.width;
        let centres = &self.centres;
        self.costs
            .par_chunks_mut(w)
            .enumerate()
            .for_each(|(y, row)| {
                for (x, cost) in row.iter_mut().enumerate() {
                    *cost = problem.cost(x, y, centres[y * w + x], f32::INFINITY);
                }
            });
    }

    /// Mean cost per pixel, over the pixels that have a match (an evicted pixel's cost
    /// is infinite until it finds another).
    pub fn mean_cost(&self) -> f32 {
        let (sum, count) = self
            .costs
            .iter()
            .filter(|c| c.is_finite())
            .fold((0f64, 0usize), |(sum, count), &c| {
                (sum + f64::from(c), count + 1)
            });
        (sum / count.max(1) as f64) as f32
    }

    /// One PatchMatch iteration: propagation from the previous pixels in scan order
    /// (reversed on odd iterations) and a random search at halving radii around the best.
    /// A pixel's cost never increases.
    pub fn improve(&mut self, problem: &Problem<'_>, iteration: usize, seed: u64) {
        let w = self.width;
        let h = problem.target.height;
        let sw = problem.style.width as isize;
        let sh = problem.style.height as isize;
        let r = problem.radius as isize;
        let reverse = iteration % 2 == 1;
        let snapshot = self.centres.clone();
        let max_radius = sw.max(sh);
        // A jump away from the neighbours' runs pays this on top of its distance.
        let jump = problem.weights.coherence * self.mean_cost();
        self.centres
            .par_chunks_mut(BAND_ROWS * w)
            .zip(self.costs.par_chunks_mut(BAND_ROWS * w))
            .enumerate()
            .for_each(|(band, (centres, costs))| {
                let mut rng = SplitMix64::new(mix(seed, band as u64));
                let y0 = band * BAND_ROWS;
                let rows = centres.len() / w;
                let step: isize = if reverse { 1 } else { -1 };
                let clamp_centre = |u: isize, v: isize| -> Option<u32> {
                    (u >= r && u < sw - r && v >= r && v < sh - r).then(|| (v * sw + u) as u32)
                };
                for row in 0..rows {
                    let local_y = if reverse { rows - 1 - row } else { row };
                    let y = y0 + local_y;
                    for column in 0..w {
                        let x = if reverse { w - 1 - column } else { column };
                        let i = local_y * w + x;
                        let mut best = centres[i];
                        let mut best_cost = costs[i];
                        let taken = |c: u32| problem.taken.is_some_and(|t| t[c as usize]);
                        let try_centre = |candidate: u32, best: &mut u32, best_cost: &mut f32| {
                            if candidate == *best || taken(candidate) {
                                return;
                            }
                            let cost = problem.cost(x, y, candidate, *best_cost);
                            if cost < *best_cost {
                                *best = candidate;
                                *best_cost = cost;
                            }
                        };
                        // Propagation: a neighbour's match, shifted back by the offset.
                        let nx = x as isize + step;
                        if nx >= 0 && (nx as usize) < w {
                            let n = centres[local_y * w + nx as usize] as isize;
                            if let Some(c) = clamp_centre(n % sw - step, n / sw) {
                                try_centre(c, &mut best, &mut best_cost);
                            }
                        }
                        let ny = y as isize + step;
                        if ny >= 0 && (ny as usize) < h {
                            let n = if (ny as usize) >= y0 && (ny as usize) < y0 + rows {
                                centres[(ny as usize - y0) * w + x]
                            } else {
                                snapshot[ny as usize * w + x]
                            } as isize;
                            if let Some(c) = clamp_centre(n % sw, n / sw - step) {
                                try_centre(c, &mut best, &mut best_cost);
                            }
                        }
                        // Away from the neighbours' runs, a candidate also pays `jump`.
                        let try_jump = |candidate: u32, best: &mut u32, best_cost: &mut f32| {
                            let limit = *best_cost - jump;
                            if candidate == *best || limit <= 0.0 || taken(candidate) {
                                return;
                            }
                            let cost = problem.cost(x, y, candidate, limit) + jump;
                            if cost < *best_cost {
                                *best = candidate;
                                *best_cost = cost;
                            }
                        };
                        // Random search around the best, radius halving down to 1; the
                        // closest steps (a pixel or two) still continue the same run.
                        let mut radius = max_radius;
                        while radius >= 1 {
                            let (bu, bv) = (best as isize % sw, best as isize / sw);
                            let u = bu + rng.below(2 * radius as u64 + 1) as isize - radius;
                            let v = bv + rng.below(2 * radius as u64 + 1) as isize - radius;
                            if let Some(c) = clamp_centre(u, v) {
                                if radius <= 2 {
                                    try_centre(c, &mut best, &mut best_cost);
                                } else {
                                    try_jump(c, &mut best, &mut best_cost);
                                }
                            }
                            radius /= 2;
                        }
                        // And one jump anywhere in the pixel's own label.
                        let pool = problem.centres_for(y * w + x);
                        try_jump(
                            pool[rng.below(pool.len() as u64) as usize],
                            &mut best,
                            &mut best_cost,
                        );
                        centres[i] = best;
                        costs[i] = best_cost;
                    }
                }
            });
    }
}

/// A seed for one part of the work, from the run's seed.
pub(super) fn mix(seed: u64, part: u64) -> u64 {
    SplitMix64::new(seed ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A striped style and a target whose labels ask for the stripes in another layout.
    fn synthetic() -> (StyleLevel, TargetLevel) {
        let (sw, sh) = (48, 32);
        let mut rgb = Vec::new();
        let mut labels = Vec::new();
        for y in 0..sh {
            for x in 0..sw {
                let label = u16::from(x >= sw / 2);
                let stripe = if (x + y) % 6 < 3 { 0.2 } else { 0.8 };
                rgb.push(if label == 0 {
                    [255.0 * stripe, 40.0, 40.0]
                } else {
                    [40.0, 40.0, 255.0 * stripe]
                });
                labels.push(label);
            }
        }
        let style = style_level(sw, sh, rgb, Some(labels));
        let (tw, th) = (40, 40);
        let target = TargetLevel {
            width: tw,
            height: th,
            values: vec![[0.0; CHANNELS]; tw * th],
            labels: Some((0..tw * th).map(|i| u16::from(i / tw >= th / 2)).collect()),
            features: None,
        };
        (style, target)
    }

    fn style_level(
        sw: usize,
        sh: usize,
        rgb: Vec<[f32; 3]>,
        labels: Option<Vec<u16>>,
    ) -> StyleLevel {
        let values = rgb
            .iter()
            .map(|p| {
                let lab = crate::lab::from_srgb(p.map(|v| v as u8));
                let mut values = [0f32; CHANNELS];
                for k in 0..3 {
                    values[k] = lab[k] / 100.0;
                }
                values
            })
            .collect();
        let radius = 2;
        let count = labels
            .as_ref()
            .map_or(1, |l| 1 + *l.iter().max().unwrap() as usize);
        let mut centres_by_label = vec![Vec::new(); count];
        let mut centres = Vec::new();
        for y in radius..sh - radius {
            for x in radius..sw - radius {
                let i = (y * sw + x) as u32;
                centres.push(i);
                let label = labels.as_ref().map_or(0, |l| l[i as usize] as usize);
                centres_by_label[label].push(i);
            }
        }
        StyleLevel {
            width: sw,
            height: sh,
            rgb,
            values,
            labels,
            features: None,
            centres_by_label,
            centres,
        }
    }

    fn lab_of(style: &StyleLevel, i: usize) -> [f32; 3] {
        let v = style.values[i];
        [v[0], v[1], v[2]]
    }

    fn weights(colour: f32, coherence: f32) -> Weights {
        Weights {
            colour,
            label: 1.0,
            tone: 0.0,
            chroma: 0.0,
            structure: 0.0,
            feature: 0.0,
            coherence,
        }
    }

    fn problem<'a>(style: &'a StyleLevel, target: &'a TargetLevel, colour: f32) -> Problem<'a> {
        Problem {
            style,
            target,
            radius: 2,
            weights: weights(colour, 0.0),
            taken: None,
        }
    }

    #[test]
    fn every_iteration_lowers_the_field_cost_and_no_pixel_gets_worse() {
        let (style, mut target) = synthetic();
        // A fixed output to match against, so only the field changes: the style's own
        // stripes, rearranged into the target's layout, so good matches exist.
        let half = style.width / 2;
        let output: Vec<[f32; 3]> = (0..target.width * target.height)
            .map(|i| {
                let (x, y) = (i % target.width, i / target.width);
                let label = usize::from(y >= target.height / 2);
                lab_of(
                    &style,
                    (y % style.height) * style.width + label * half + x % half,
                )
            })
            .collect();
        target.set_output(&output);
        let problem = problem(&style, &target, 1.0);
        let mut field = Field::random(&problem, 7);
        let mut previous = field.clone();
        let mut means = vec![field.mean_cost()];
        for iteration in 0..5 {
            field.improve(&problem, iteration, 100 + iteration as u64);
            for (now, before) in field.costs.iter().zip(&previous.costs) {
                assert!(now <= before, "a pixel got worse: {before} -> {now}");
            }
            // The stored costs are the true costs of the stored matches.
            let mut check = field.clone();
            check.rescore(&problem);
            assert_eq!(check.costs, field.costs);
            means.push(field.mean_cost());
            previous = field.clone();
        }
        assert!(means.windows(2).all(|w| w[1] <= w[0]), "{means:?}");
        assert!(
            means[5] < means[0] * 0.2,
            "five iterations find the good matches: {means:?}"
        );
    }

    #[test]
    fn matches_respect_labels_once_searched() {
        let (style, mut target) = synthetic();
        target.set_output(&vec![[0.5, 0.0, 0.0]; target.width * target.height]);
        let problem = problem(&style, &target, 0.0);
        let mut field = Field::random(&problem, 1);
        for iteration in 0..4 {
            field.improve(&problem, iteration, iteration as u64);
        }
        let (target_labels, style_labels) = (
            target.labels.as_ref().unwrap(),
            style.labels.as_ref().unwrap(),
        );
        let agree = field
            .centres
            .iter()
            .enumerate()
            .filter(|(i, c)| target_labels[*i] == style_labels[**c as usize])
            .count();
        assert_eq!(
            agree,
            field.centres.len(),
            "every centre carries its pixel's label"
        );
    }

    #[test]
    fn coherence_makes_longer_runs_of_the_painting() {
        // A soft, cloudy style in which many patches fit a flat grey output about equally
        // well.
        let (sw, sh) = (64, 64);
        let mut rng = SplitMix64::new(5);
        let mut grey: Vec<f32> = (0..sw * sh).map(|_| rng.below(120) as f32).collect();
        crate::pixels::gaussian_blur(&mut grey, sw, 2.0);
        let rgb = grey.iter().map(|&v| [v + 68.0; 3]).collect();
        let style = style_level(sw, sh, rgb, None);
        let (tw, th) = (48, 48);
        let mut target = TargetLevel {
            width: tw,
            height: th,
            values: vec![[0.0; CHANNELS]; tw * th],
            labels: None,
            features: None,
        };
        target.set_output(&vec![
            crate::lab::from_srgb([128; 3]).map(|v| v / 100.0);
            tw * th
        ]);
        let continued = |coherence: f32| {
            let problem = Problem {
                style: &style,
                target: &target,
                radius: 2,
                weights: weights(1.0, coherence),
                taken: None,
            };
            let mut field = Field::random(&problem, 9);
            for iteration in 0..6 {
                field.improve(&problem, iteration, 40 + iteration as u64);
            }
            let runs = (0..tw * th)
                .filter(|&i| i % tw > 0 && field.centres[i] == field.centres[i - 1] + 1)
                .count();
            runs as f64 / (tw * th) as f64
        };
        let (free, coherent) = (continued(0.0), continued(1.0));
        assert!(
            coherent > 1.4 * free,
            "share of pixels continuing their left neighbour's run: {free} without, {coherent} with coherence"
        );
    }

    #[test]
    fn the_result_does_not_depend_on_the_thread_count() {
        let (style, mut target) = synthetic();
        target.set_output(&vec![[0.5, 0.1, 0.0]; target.width * target.height]);
        let problem = Problem {
            weights: weights(1.0, 1.0),
            ..problem(&style, &target, 1.0)
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut field = Field::random(&problem, 3);
                for iteration in 0..3 {
                    field.improve(&problem, iteration, 10 + iteration as u64);
                }
                field.centres
            })
        };
        assert_eq!(run(1), run(3));
    }
}
