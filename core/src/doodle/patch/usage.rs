//! Every part of the painting in its share, when a photo is painted: no part of the
//! painting may serve many more pixels than its share, so a large even area of the photo
//! (a face, a sky) cannot become one piece of the painting copied whole (the moon over a
//! face, another face's beard), and the painting's whole palette and all its kinds of
//! strokes appear. This is StyLit's uniform use of the exemplar (Fišer et al. 2016) as a
//! capacity: after each round's search, a style patch that serves more pixels than its
//! capacity keeps its best ones and the others search again among the patches with room
//! left; a pixel whose best remaining patch is much worse than the one it lost keeps
//! that one (StyLit's error knee), so the rule never forces a bad fit.

use super::field::{Field, Problem, mix};

/// How many pixels one style patch may serve, as a multiple of its even share (target
/// pixels over style patches). Measured on 16 photo and painting pairs judged blind
/// (docs/DOODLE.md): 2 keeps faces free of pasted pieces and the palette whole; an even
/// share (1) makes a jigsaw of the painting.
const SLACK: f32 = 2.0;

/// A pixel whose new match costs more than this times the one it lost (or the typical
/// cost, whichever is larger) keeps the one it lost.
const KNEE: f32 = 2.0;

/// The rule applies at the coarsest levels only, where the painting's parts are placed;
/// the finer levels refine what they placed. Measured (docs/DOODLE.md): the same pictures
/// as at every level, in two thirds of the time at 512 px and of the time at 12 MP.
pub(super) const LEVELS: usize = 2;

/// Rounds of eviction and search again, and PatchMatch iterations in each.
const PASSES: usize = 3;
const ITERATIONS: usize = 2;

/// Moves the pixels of over-used style patches to patches with room left (see the
/// module's documentation). `problem` is the round's, without taken centres.
pub(super) fn spread(field: &mut Field, problem: &Problem<'_>, seed: u64) {
    let style_size = problem.style.width * problem.style.height;
    let capacity = capacity(field.centres.len(), problem.style.centres.len());
    let before = field.clone();
    for pass in 0..PASSES {
        let taken = evict(field, capacity, style_size);
        let constrained = Problem {
            taken: Some(&taken),
            ..*problem
        };
        for iteration in 0..ITERATIONS {
            let part = (pass * ITERATIONS + iteration) as u64;
            field.improve(&constrained, iteration, mix(seed, part));
        }
    }
    // Pixels that found nothing keep their old match, at its true cost.
    field.rescore(problem);
    let typical = before.mean_cost();
    for i in 0..field.centres.len() {
        if field.costs[i] > KNEE * before.costs[i].max(typical) {
            field.centres[i] = before.centres[i];
            field.costs[i] = before.costs[i];
        }
    }
}

/// The most pixels one of `patches` style patches may serve among `pixels`.
fn capacity(pixels: usize, patches: usize) -> usize {
    ((SLACK * pixels as f32 / patches.max(1) as f32).ceil() as usize).max(1)
}

/// Every style centre keeps its `capacity` best pixels; the others get an infinite cost
/// (so any match with room improves on it). Returns which centres are full.
fn evict(field: &mut Field, capacity: usize, style_size: usize) -> Vec<bool> {
    let mut users: Vec<Vec<u32>> = vec![Vec::new(); style_size];
    for (pixel, &centre) in field.centres.iter().enumerate() {
        if field.costs[pixel].is_finite() {
            users[centre as usize].push(pixel as u32);
        }
    }
    let mut full = vec![false; style_size];
    for (centre, pixels) in users.iter_mut().enumerate() {
        full[centre] = pixels.len() >= capacity;
        if pixels.len() > capacity {
            let costs = &field.costs;
            pixels.sort_unstable_by(|&a, &b| {
                costs[a as usize]
                    .total_cmp(&costs[b as usize])
                    .then(a.cmp(&b))
            });
            for &pixel in &pixels[capacity..] {
                field.costs[pixel as usize] = f32::INFINITY;
            }
        }
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(centres: Vec<u32>, costs: Vec<f32>) -> Field {
        Field {
            width: centres.len(),
            style_size: (4, 1),
            centres,
            costs,
        }
    }

    #[test]
    fn an_over_used_patch_keeps_its_best_pixels() {
        let mut f = field(vec![1, 1, 1, 2], vec![0.3, 0.1, 0.2, 0.5]);
        let full = evict(&mut f, 2, 4);
        assert_eq!(full, [false, true, false, false]);
        assert_eq!(f.costs[..3], [f32::INFINITY, 0.1, 0.2]);
        assert_eq!(f.costs[3], 0.5, "patch 2 is within its capacity");
    }

    #[test]
    fn capacity_is_the_slack_times_the_even_share() {
        assert_eq!(capacity(1000, 1000), 2);
        assert_eq!(capacity(1000, 300), 7);
        assert_eq!(capacity(10, 1000), 1);
        assert_eq!(capacity(10, 0), 20);
    }

    #[test]
    fn no_style_patch_serves_far_beyond_its_share_and_good_fits_stay() {
        use super::super::field::{CHANNELS, StyleLevel, TargetLevel, Weights};
        // A style whose left half is a flat grey that fits the flat grey target best, and
        // whose right half is a lighter grey that fits it within the knee: without the
        // rule every pixel takes the left half.
        let (sw, sh) = (32, 16);
        let values: Vec<[f32; CHANNELS]> = (0..sw * sh)
            .map(|i| {
                let mut v = [0f32; CHANNELS];
                v[0] = if i % sw < sw / 4 { 0.5 } else { 0.52 };
                v
            })
            .collect();
        let radius = 1;
        let centres: Vec<u32> = (radius..sh - radius)
            .flat_map(|y| (radius..sw - radius).map(move |x| (y * sw + x) as u32))
            .collect();
        let style = StyleLevel {
            width: sw,
            height: sh,
            rgb: vec![[128.0; 3]; sw * sh],
            values,
            labels: None,
            features: None,
            centres_by_label: vec![centres.clone()],
            centres,
        };
        let (tw, th) = (40, 40);
        let mut target_values = vec![[0f32; CHANNELS]; tw * th];
        target_values.iter_mut().for_each(|v| v[0] = 0.509);
        let target = TargetLevel {
            width: tw,
            height: th,
            values: target_values,
            labels: None,
            features: None,
        };
        let weights = Weights {
            colour: 1.0,
            label: 0.0,
            tone: 0.0,
            chroma: 0.0,
            structure: 0.0,
            feature: 0.0,
            coherence: 0.0,
        };
        let problem = Problem {
            style: &style,
            target: &target,
            radius,
            weights,
            taken: None,
        };
        let mut field = Field::random(&problem, 3);
        for iteration in 0..4 {
            field.improve(&problem, iteration, 10 + iteration as u64);
        }
        let left = |f: &Field| {
            f.centres
                .iter()
                .filter(|&&c| (c as usize % sw) < sw / 4)
                .count()
        };
        assert_eq!(
            left(&field),
            tw * th,
            "unconstrained, all take the exact fit"
        );
        let most = |f: &Field| {
            let mut uses = vec![0usize; sw * sh];
            f.centres.iter().for_each(|&c| uses[c as usize] += 1);
            *uses.iter().max().unwrap()
        };
        let unconstrained = most(&field);
        spread(&mut field, &problem, 5);
        // Each pass evicts down to the capacity; the last pass's search may fill a patch a
        // little past it again (no pass follows to evict), never back to where it was.
        let cap = capacity(tw * th, style.centres.len());
        let spread_most = most(&field);
        assert!(
            spread_most <= 2 * cap && spread_most < unconstrained,
            "a patch serves {spread_most} pixels, capacity {cap}, {unconstrained} unconstrained"
        );
        assert!(
            left(&field) < tw * th * 3 / 4,
            "the lighter half is used too: {} of {}",
            left(&field),
            tw * th
        );
        assert!(field.costs.iter().all(|c| c.is_finite()));
    }
}
