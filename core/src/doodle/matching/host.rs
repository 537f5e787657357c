//! Exact nearest-patch search on the CPU, fused and pruned by the semantic labels.
//!
//! The tensor search scores every image patch against every style patch and stores the
//! scores. On a CPU device this module finds the same best patches with less work:
//!
//! - it scores tiles of [`QUERY_BLOCK`] image patches by [`STYLE_BLOCK`] style patches
//!   with one matrix product each and keeps only the running best, so no score matrix is
//!   stored and memory does not grow with the image;
//! - with semantic maps, both sides are sorted by their main label and a tile is skipped
//!   when the labels alone rule it out. A score is `cos(features) + w cos(labels) -
//!   v usage`, and `cos(features)` lies in [-1, 1], so a style patch whose label part
//!   (`w cos(labels) - v usage`) is more than 2 below the best label part an image patch
//!   has anywhere can never be its best. A doodle's image patches then only meet the style
//!   patches of their own region (and the boundaries'), about one tile in five for five
//!   regions of equal size.
//!
//! The answer is the full search's: every style patch that could win is scored, and ties
//! go to the lower style index, as with the tensor search. It does not depend on the
//! number of threads: each tile is computed the same way whoever computes it.

use rayon::prelude::*;

use crate::cpu::matmul::{MatrixRef, multiply};

/// Image patches per parallel task and per tile.
const QUERY_BLOCK: usize = 128;
/// Style patches per tile.
const STYLE_BLOCK: usize = 256;
/// How far below an image patch's best label part a style patch's label part may be and
/// still win: the feature part spans 2, plus room for rounding (a normalised dot product
/// can exceed 1 by a few ulps).
const BOUND_SLACK: f32 = 2.0 + 1e-3;

/// An activation `[C][h][w]` (planar, as burn stores `[1, C, h, w]`).
#[derive(Clone, Copy)]
pub(crate) struct Planar<'a> {
    pub values: &'a [f32],
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Planar<'_> {
    /// Number of 3x3 patches (stride 1, no padding).
    pub fn patch_count(&self) -> usize {
        self.height.saturating_sub(2) * self.width.saturating_sub(2)
    }

    /// Length of one patch row: `C * 9`.
    pub fn patch_dims(&self) -> usize {
        self.channels * 9
    }

    /// Writes patch `index` (row-major over the `(h-2) x (w-2)` patch positions) into
    /// `row`, ordered channel-major like a convolution filter, divided by its L2 norm
    /// (a patch of zeros stays zero).
    fn normalised_patch(&self, index: usize, row: &mut [f32]) {
        let columns = self.width - 2;
        let (y, x) = (index / columns, index % columns);
        let plane = self.height * self.width;
        let mut out = row.iter_mut();
        for c in 0..self.channels {
            for dy in 0..3 {
                let start = c * plane + (y + dy) * self.width + x;
                for value in &self.values[start..start + 3] {
                    *out.next().expect("row has C * 9 values") = *value;
                }
            }
        }
        normalise(row);
    }

    /// Every patch, normalised, in the given order: `[order.len(), C * 9]`.
    fn normalised_patches(&self, order: &[u32]) -> Vec<f32> {
        let dims = self.patch_dims();
        let mut rows = vec![0f32; order.len() * dims];
        rows.par_chunks_mut(dims)
            .zip(order.par_iter())
            .for_each(|(row, &index)| self.normalised_patch(index as usize, row));
        rows
    }

    /// The order that groups patches by their main label (the channel with the largest
    /// sum over the patch), each group in index order.
    fn order_by_main_label(&self) -> Vec<u32> {
        let dims = self.patch_dims();
        let mut row = vec![0f32; dims];
        let mut keyed: Vec<(usize, u32)> = (0..self.patch_count())
            .map(|index| {
                self.normalised_patch(index, &mut row);
                let main = (0..self.channels)
                    .map(|c| row[c * 9..c * 9 + 9].iter().sum::<f32>())
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (c, sum)| {
                        if sum > best.1 { (c, sum) } else { best }
                    })
                    .0;
                (main, index as u32)
            })
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, index)| index).collect()
    }
}

fn normalise(row: &mut [f32]) {
    let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-8);
    row.iter_mut().for_each(|v| *v /= norm);
}

/// The order patches are searched in, and their normalised label rows in that order.
pub(crate) struct SearchOrder {
    /// Patch indices, grouped by main label when there are labels.
    order: Vec<u32>,
    /// `[count, K * 9]` normalised label rows in `order`, or `None` without labels.
    labels: Option<Vec<f32>>,
    label_dims: usize,
}

impl SearchOrder {
    /// For `count` patches without labels: index order.
    pub fn unlabelled(count: usize) -> Self {
        SearchOrder {
            order: (0..count as u32).collect(),
            labels: None,
            label_dims: 0,
        }
    }

    /// From label fractions `[K][h][w]` at the layer's resolution.
    pub fn labelled(labels: Planar<'_>) -> Self {
        let order = labels.order_by_main_label();
        SearchOrder {
            labels: Some(labels.normalised_patches(&order)),
            label_dims: labels.patch_dims(),
            order,
        }
    }

    fn count(&self) -> usize {
        self.order.len()
    }

    fn label_rows(&self, range: std::ops::Range<usize>) -> Option<&[f32]> {
        self.labels
            .as_ref()
            .map(|rows| &rows[range.start * self.label_dims..range.end * self.label_dims])
    }
}

/// The style's side of the search, fixed for a phase.
pub(crate) struct HostStyle {
    search: SearchOrder,
    /// `[count, C * 9]` normalised feature rows in search order.
    features: Vec<f32>,
    dims: usize,
}

impl HostStyle {
    /// From the style's activation and, with maps, its label fractions at the same size.
    pub fn new(features: Planar<'_>, labels: Option<Planar<'_>>) -> Self {
        let search = match labels {
            Some(labels) => SearchOrder::labelled(labels),
            None => SearchOrder::unlabelled(features.patch_count()),
        };
        HostStyle {
            features: features.normalised_patches(&search.order),
            dims: features.patch_dims(),
            search,
        }
    }
}

/// What a search weighs besides the features.
#[derive(Clone, Copy)]
pub(crate) struct Weights<'a> {
    pub semantic: f32,
    pub variety: f32,
    /// How often each style patch was chosen last time (by style index), for `variety`.
    pub usage: Option<&'a [f32]>,
}

/// For every patch of `image` (index order), the index of the style patch with the
/// highest `cos(features) + semantic * cos(labels) - variety * usage`.
///
/// `targets` is the image's search order and labels (fixed for a phase).
pub(crate) fn nearest(
    image: Planar<'_>,
    targets: &SearchOrder,
    style: &HostStyle,
    weights: Weights<'_>,
) -> Vec<i64> {
    assert_eq!(
        image.patch_dims(),
        style.dims,
        "image and style features differ"
    );
    assert_eq!(
        image.patch_count(),
        targets.count(),
        "labels and image differ"
    );
    let penalty: Vec<f32> = match weights.usage {
        Some(usage) if weights.variety != 0.0 => style
            .search
            .order
            .iter()
            .map(|&s| weights.variety * usage[s as usize])
            .collect(),
        _ => vec![0.0; style.search.count()],
    };
    let labelled =
        weights.semantic != 0.0 && targets.labels.is_some() && style.search.labels.is_some();
    let search = TileSearch {
        style,
        penalty: &penalty,
        semantic: if labelled { weights.semantic } else { 0.0 },
        label_dims: if labelled { targets.label_dims } else { 0 },
    };
    let blocks: Vec<Vec<u32>> = targets
        .order
        .par_chunks(QUERY_BLOCK)
        .enumerate()
        .map(|(block, queries)| {
            let start = block * QUERY_BLOCK;
            let query_labels = targets
                .label_rows(start..start + queries.len())
                .filter(|_| labelled);
            search.block(image, queries, query_labels)
        })
        .collect();
    let mut best = vec![0i64; targets.count()];
    for (queries, found) in targets.order.chunks(QUERY_BLOCK).zip(blocks) {
        for (&query, style_index) in queries.iter().zip(found) {
            best[query as usize] = i64::from(style_index);
        }
    }
    best
}

/// One search's fixed parts, shared by the parallel tasks.
struct TileSearch<'a> {
    style: &'a HostStyle,
    /// `variety * usage` per style patch, in search order.
    penalty: &'a [f32],
    /// 0 when labels are not used.
    semantic: f32,
    label_dims: usize,
}

impl TileSearch<'_> {
    /// The best style index for each of `queries` (image patch indices).
    fn block(&self, image: Planar<'_>, queries: &[u32], labels: Option<&[f32]>) -> Vec<u32> {
        let rows = queries.len();
        let dims = self.style.dims;
        let mut features = vec![0f32; rows * dims];
        for (row, &query) in features.chunks_mut(dims).zip(queries) {
            image.normalised_patch(query as usize, row);
        }
        let style_count = self.style.search.count();
        let tiles = style_count.div_ceil(STYLE_BLOCK);
        let mut scores = vec![0f32; rows * STYLE_BLOCK];

        // Label parts first: per image patch, its best label part in each style tile and
        // overall, to rule out the tiles that cannot hold its best patch.
        let mut tile_best_label = vec![f32::NEG_INFINITY; rows * tiles];
        let mut best_label = vec![f32::NEG_INFINITY; rows];
        if let Some(labels) = labels {
            for tile in 0..tiles {
                let range = self.tile_range(tile);
                let width = range.len();
                let scores = &mut scores[..rows * width];
                self.label_part(labels, range, false, scores);
                for (row, tile_scores) in scores.chunks(width).enumerate() {
                    let best = tile_scores
                        .iter()
                        .copied()
                        .fold(f32::NEG_INFINITY, f32::max);
                    tile_best_label[row * tiles + tile] = best;
                    best_label[row] = best_label[row].max(best);
                }
            }
        }

        let mut best = vec![(f32::NEG_INFINITY, u32::MAX); rows];
        let mut candidate = vec![false; rows];
        for tile in 0..tiles {
            for (row, wanted) in candidate.iter_mut().enumerate() {
                *wanted = labels.is_none()
                    || tile_best_label[row * tiles + tile] >= best_label[row] - BOUND_SLACK;
            }
            if !candidate.contains(&true) {
                continue;
            }
            let range = self.tile_range(tile);
            let width = range.len();
            let scores = &mut scores[..rows * width];
            let style_features = &self.style.features[range.start * dims..range.end * dims];
            multiply_transposed(&features, style_features, dims, 1.0, false, scores);
            match labels {
                Some(labels) => self.label_part(labels, range.clone(), true, scores),
                None => subtract_per_column(scores, &self.penalty[range.clone()]),
            }
            let style_order = &self.style.search.order[range];
            for ((row_scores, best), _) in scores
                .chunks(width)
                .zip(best.iter_mut())
                .zip(&candidate)
                .filter(|(_, wanted)| **wanted)
            {
                for (&score, &index) in row_scores.iter().zip(style_order) {
                    if score > best.0 || (score == best.0 && index < best.1) {
                        *best = (score, index);
                    }
                }
            }
        }
        best.into_iter().map(|(_, index)| index).collect()
    }

    fn tile_range(&self, tile: usize) -> std::ops::Range<usize> {
        let start = tile * STYLE_BLOCK;
        start..(start + STYLE_BLOCK).min(self.style.search.count())
    }

    /// `semantic * cos(labels) - penalty` for the tile's style patches, added to
    /// `scores` when `accumulate`, written over them otherwise.
    fn label_part(
        &self,
        labels: &[f32],
        range: std::ops::Range<usize>,
        accumulate: bool,
        scores: &mut [f32],
    ) {
        let style_labels = self
            .style
            .search
            .label_rows(range.clone())
            .expect("labelled searches have style labels");
        multiply_transposed(
            labels,
            style_labels,
            self.label_dims,
            self.semantic,
            accumulate,
            scores,
        );
        subtract_per_column(scores, &self.penalty[range]);
    }
}

fn subtract_per_column(scores: &mut [f32], per_column: &[f32]) {
    if per_column.iter().all(|p| *p == 0.0) {
        return;
    }
    for row in scores.chunks_mut(per_column.len()) {
        row.iter_mut().zip(per_column).for_each(|(s, p)| *s -= p);
    }
}

/// `out = scale * lhs * rhs^T` (or `+=` when `accumulate`) for row-major `lhs` (`m x k`)
/// and `rhs` (`n x k`).
fn multiply_transposed(
    lhs: &[f32],
    rhs: &[f32],
    k: usize,
    scale: f32,
    accumulate: bool,
    out: &mut [f32],
) {
    multiply(
        MatrixRef::rows(lhs, lhs.len() / k, k),
        MatrixRef::transposed(rhs, rhs.len() / k, k),
        scale,
        accumulate,
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Features alone: no labels, no variety.
    const PLAIN: Weights<'static> = Weights {
        semantic: 0.0,
        variety: 0.0,
        usage: None,
    };

    /// The search without labels.
    fn search_unlabelled(image: Planar<'_>, style: Planar<'_>) -> Vec<i64> {
        nearest(
            image,
            &SearchOrder::unlabelled(image.patch_count()),
            &HostStyle::new(style, None),
            PLAIN,
        )
    }

    fn random(count: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..count).map(|_| rng.uniform() as f32 - 0.3).collect()
    }

    /// Two-label fractions over `h x w`: label 0 left of `split`, with a soft column.
    fn two_labels(height: usize, width: usize, split: usize) -> Vec<f32> {
        let mut planes = vec![0f32; 2 * height * width];
        for y in 0..height {
            for x in 0..width {
                let first = match x.cmp(&split) {
                    std::cmp::Ordering::Less => 1.0,
                    std::cmp::Ordering::Equal => 0.5,
                    std::cmp::Ordering::Greater => 0.0,
                };
                planes[y * width + x] = first;
                planes[height * width + y * width + x] = 1.0 - first;
            }
        }
        planes
    }

    fn planar(values: &[f32], channels: usize, height: usize, width: usize) -> Planar<'_> {
        Planar {
            values,
            channels,
            height,
            width,
        }
    }

    /// The full search, written plainly.
    fn brute_force(
        image: Planar<'_>,
        image_labels: Option<Planar<'_>>,
        style: Planar<'_>,
        style_labels: Option<Planar<'_>>,
        weights: Weights<'_>,
    ) -> Vec<i64> {
        let row = |p: Planar<'_>, i: usize| {
            let mut r = vec![0f32; p.patch_dims()];
            p.normalised_patch(i, &mut r);
            r
        };
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        (0..image.patch_count())
            .map(|q| {
                let query = row(image, q);
                let mut best = (f32::NEG_INFINITY, 0);
                for s in 0..style.patch_count() {
                    let mut score = dot(&query, &row(style, s));
                    if let (Some(il), Some(sl)) = (image_labels, style_labels) {
                        score += weights.semantic * dot(&row(il, q), &row(sl, s));
                    }
                    if let Some(usage) = weights.usage {
                        score -= weights.variety * usage[s];
                    }
                    if score > best.0 + 1e-5 {
                        best = (score, s as i64);
                    }
                }
                best.1
            })
            .collect()
    }

    #[test]
    fn finds_what_the_full_search_finds_with_and_without_labels() {
        let (channels, height, width) = (5, 12, 40);
        let style_values = random(channels * height * width, 1);
        let image_values = random(channels * 9 * 30, 2);
        let style = planar(&style_values, channels, height, width);
        let image = planar(&image_values, channels, 9, 30);
        let style_label_values = two_labels(height, width, 17);
        let image_label_values = two_labels(9, 30, 9);
        let style_labels = planar(&style_label_values, 2, height, width);
        let image_labels = planar(&image_label_values, 2, 9, 30);
        let usage = random(style.patch_count(), 3);
        for (semantic, variety) in [(0.0, 0.0), (10.0, 0.0), (1.0, 0.5), (10.0, 1.0)] {
            let weights = Weights {
                semantic,
                variety,
                usage: Some(&usage),
            };
            let expected = brute_force(
                image,
                Some(image_labels),
                style,
                Some(style_labels),
                weights,
            );
            let host = HostStyle::new(style, Some(style_labels));
            let targets = SearchOrder::labelled(image_labels);
            let found = nearest(image, &targets, &host, weights);
            let agree = found.iter().zip(&expected).filter(|(a, b)| a == b).count();
            // Scores closer than rounding may order differently; anything else must agree.
            assert!(
                agree * 100 >= expected.len() * 99,
                "semantic {semantic}, variety {variety}: {agree} of {} agree",
                expected.len()
            );
            if semantic >= 10.0 && variety == 0.0 {
                // Each image patch takes a style patch with some of its own label.
                for (q, &s) in found.iter().enumerate() {
                    let (qx, sx) = (q % 28, s as usize % (width - 2));
                    if qx + 2 < 9 {
                        assert!(sx < 17, "query {q} (left) took style {s}");
                    }
                    if qx > 9 {
                        assert!(sx > 15, "query {q} (right) took style {s}");
                    }
                }
            }
        }
        let unlabelled = search_unlabelled(image, style);
        let expected = brute_force(image, None, style, None, PLAIN);
        assert_eq!(unlabelled, expected);
    }

    #[test]
    fn an_image_made_of_the_style_finds_its_own_patches() {
        let values = random(3 * 20 * 70, 4);
        let style = planar(&values, 3, 20, 70);
        let found = search_unlabelled(style, style);
        assert_eq!(found, (0..style.patch_count() as i64).collect::<Vec<_>>());
    }

    #[test]
    fn ties_go_to_the_lower_style_index_and_zero_patches_score_zero() {
        // A style of identical patches: every image patch must take patch 0.
        let style_values = vec![1.0f32; 2 * 6 * 300];
        let style = planar(&style_values, 2, 6, 300);
        let image_values = vec![0.5f32; 2 * 5 * 5];
        let zeros = vec![0f32; 2 * 5 * 5];
        for values in [&image_values, &zeros] {
            let image = planar(values, 2, 5, 5);
            let found = search_unlabelled(image, style);
            assert_eq!(found, vec![0; 9]);
        }
    }
}
