//! Exact nearest-patch search on the CPU: patch scores summed from pixel correlations,
//! only the running best kept, and style tiles the labels rule out skipped.
//!
//! The tensor search scores every image patch against every style patch with a dot
//! product of `9 C` values and stores the scores. On a CPU device this module finds the
//! same best patches with a fraction of the work:
//!
//! - **Pixel correlations, summed.** The dot product of two 3x3 patches is the sum of
//!   the dot products of their nine pixel pairs at the same offsets, and neighbouring
//!   patch pairs share eight of those nine. So both sides are cut into small rectangles
//!   of patch positions ([`Tile`]s); for an image tile and a style tile, one matrix
//!   product gives the dot products of all their pixel pairs (`C` values each) and each
//!   patch pair adds its nine. For tiles of 8x16 and 8x32 patches that is about a fifth of the
//!   multiplications of patch-by-patch dot products. Patch norms come from the same
//!   pixels, so the cosines are those of the tensor search up to rounding.
//! - **Running best.** Scores are made one tile pair at a time and only each image
//!   patch's best so far is kept, so memory does not grow with the image.
//! - **Label pruning.** With semantic maps a score is `cos(features) + w cos(labels) -
//!   v usage`, and `cos(features)` lies in [-1, 1]. The label parts (`w cos(labels) -
//!   v usage`, cheap: a few label channels) are computed first; a style tile whose best
//!   label part for an image patch is more than 2 below the best that patch has anywhere
//!   cannot hold its best, and when that holds for every patch of an image tile its
//!   features are not compared at all. A doodle's image tiles then meet only the style
//!   tiles of their own region and its boundaries.
//!
//! The answer is the full search's: every style patch that could win is scored, and ties
//! go to the lower style index, as with the tensor search. It does not depend on the
//! number of threads: each image tile is searched the same way whoever searches it.

use rayon::prelude::*;

use crate::doodle::observe::Stop;
use crate::host::matmul::{MatrixRef, multiply};
use crate::host::scratch;

/// Image tiles, in patch rows and columns. Each is one parallel task.
const IMAGE_TILE: (usize, usize) = (8, 16);
/// Style tiles, in patch rows and columns.
const STYLE_TILE: (usize, usize) = (8, 32);
/// How far a style tile's bound on its label parts may lie below a label part an image
/// patch attains elsewhere, with the tile still able to hold its best match: the feature
/// part spans 2, plus room for rounding (a cosine can exceed 1 by a few ulps).
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
        let (rows, columns) = self.patch_grid();
        rows * columns
    }

    /// Rows and columns of patch positions. Patch `index` is at `(index / columns, index
    /// % columns)`, its top-left pixel.
    fn patch_grid(&self) -> (usize, usize) {
        (self.height.saturating_sub(2), self.width.saturating_sub(2))
    }

    /// Writes patch `index` into `row` (`9 C` values, channel-major like a convolution
    /// filter), divided by its L2 norm (a patch of zeros stays zero).
    fn normalised_patch(&self, index: usize, row: &mut [f32]) {
        let columns = self.width - 2;
        let (y, x) = (index / columns, index % columns);
        let plane = self.height * self.width;
        for (c, channel) in row.chunks_exact_mut(9).enumerate() {
            for (dy, values) in channel.chunks_exact_mut(3).enumerate() {
                let start = c * plane + (y + dy) * self.width + x;
                values.copy_from_slice(&self.values[start..start + 3]);
            }
        }
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-8);
        row.iter_mut().for_each(|v| *v /= norm);
    }

    /// The pixels under `tile`'s patches, `[C][(rows + 2) * (columns + 2)]`, into `out`.
    fn copy_tile(&self, tile: &Tile, out: &mut [f32]) {
        let (rows, columns) = tile.pixel_size();
        let plane = self.height * self.width;
        for (c, channel) in out.chunks_exact_mut(rows * columns).enumerate() {
            for (y, row) in channel.chunks_exact_mut(columns).enumerate() {
                let start = c * plane + (tile.row + y) * self.width + tile.column;
                row.copy_from_slice(&self.values[start..start + columns]);
            }
        }
    }
}

/// A rectangle of `rows x columns` patch positions from `(row, column)`. Its patches
/// are searched in row-major order, from position `start` of the search order.
#[derive(Clone, Copy, Debug)]
struct Tile {
    row: usize,
    column: usize,
    rows: usize,
    columns: usize,
    start: usize,
}

impl Tile {
    fn patches(&self) -> usize {
        self.rows * self.columns
    }

    /// Rows and columns of the pixels its patches cover.
    fn pixel_size(&self) -> (usize, usize) {
        (self.rows + 2, self.columns + 2)
    }

    fn pixels(&self) -> usize {
        let (rows, columns) = self.pixel_size();
        rows * columns
    }

    /// Its patches' positions in the search order.
    fn range(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.patches()
    }
}

/// A grid of `rows x columns` patch positions cut into tiles of at most `size`, row
/// after row of tiles, and the patch indices in the order the tiles list them.
fn tiles(grid: (usize, usize), size: (usize, usize)) -> (Vec<Tile>, Vec<u32>) {
    let (rows, columns) = grid;
    let mut tiles = Vec::new();
    let mut order = Vec::with_capacity(rows * columns);
    for row in (0..rows).step_by(size.0) {
        for column in (0..columns).step_by(size.1) {
            let tile = Tile {
                row,
                column,
                rows: size.0.min(rows - row),
                columns: size.1.min(columns - column),
                start: order.len(),
            };
            for y in row..row + tile.rows {
                order.extend((column..column + tile.columns).map(|x| (y * columns + x) as u32));
            }
            tiles.push(tile);
        }
    }
    (tiles, order)
}

/// One tile's pixels, `[C][pixels]`, and its patches' inverse norms (row-major).
#[derive(Clone, Copy)]
struct TileView<'a> {
    tile: Tile,
    pixels: &'a [f32],
    inverse_norms: &'a [f32],
    channels: usize,
}

impl<'a> TileView<'a> {
    /// The pixels as a `C x pixels` matrix.
    fn matrix(&self) -> MatrixRef<'a> {
        MatrixRef::rows(self.pixels, self.channels, self.tile.pixels())
    }
}

/// Each patch's `1 / |patch|` over the `9 C` values of its pixels, into `out`. A patch
/// of zeros gets a large finite value, so its cosines are 0, as when the tensor search
/// divides it by its clamped norm.
fn inverse_norms(tile: &Tile, pixels: &[f32], out: &mut [f32]) {
    let mut squares = vec![0f32; tile.pixels()];
    for plane in pixels.chunks_exact(tile.pixels()) {
        squares.iter_mut().zip(plane).for_each(|(s, v)| *s += v * v);
    }
    let pixel_columns = tile.pixel_size().1;
    for (index, inverse) in out.iter_mut().enumerate().take(tile.patches()) {
        let (y, x) = (index / tile.columns, index % tile.columns);
        let mut sum = 0f32;
        for dy in 0..3 {
            sum += squares[(y + dy) * pixel_columns + x..][..3]
                .iter()
                .sum::<f32>();
        }
        *inverse = 1.0 / sum.sqrt().max(1e-8);
    }
}

/// One side of a search cut into tiles: the pixels under each tile and its patches'
/// inverse norms, in search order.
struct TiledValues {
    channels: usize,
    pixels: Vec<f32>,
    /// Where each tile's pixels start in `pixels`, in values.
    offsets: Vec<usize>,
    inverse_norms: Vec<f32>,
}

impl TiledValues {
    fn new(values: Planar<'_>, tiles: &[Tile]) -> Self {
        let channels = values.channels;
        let mut offsets = Vec::with_capacity(tiles.len());
        let mut total = 0;
        for tile in tiles {
            offsets.push(total);
            total += tile.pixels() * channels;
        }
        let mut pixels = vec![0f32; total];
        let patches = tiles.iter().map(Tile::patches).sum();
        let mut inverse = vec![0f32; patches];
        for (tile, &offset) in tiles.iter().zip(&offsets) {
            let own = &mut pixels[offset..offset + tile.pixels() * channels];
            values.copy_tile(tile, own);
            inverse_norms(tile, own, &mut inverse[tile.range()]);
        }
        TiledValues {
            channels,
            pixels,
            offsets,
            inverse_norms: inverse,
        }
    }

    fn view(&self, tiles: &[Tile], index: usize) -> TileView<'_> {
        let tile = tiles[index];
        TileView {
            tile,
            pixels: &self.pixels[self.offsets[index]..][..tile.pixels() * self.channels],
            inverse_norms: &self.inverse_norms[tile.range()],
            channels: self.channels,
        }
    }
}

/// A side's label fractions, cut into its tiles, and each patch's normalised label row
/// (`9 K` values, channel-major), in search order.
struct Labels {
    tiled: TiledValues,
    rows: Vec<f32>,
    dims: usize,
}

impl Labels {
    fn new(labels: Planar<'_>, tiles: &[Tile], order: &[u32]) -> Self {
        let dims = labels.channels * 9;
        let mut rows = vec![0f32; order.len() * dims];
        rows.par_chunks_mut(dims.max(1))
            .zip(order.par_iter())
            .for_each(|(row, &index)| labels.normalised_patch(index as usize, row));
        Labels {
            tiled: TiledValues::new(labels, tiles),
            rows,
            dims,
        }
    }

    fn row(&self, position: usize) -> &[f32] {
        &self.rows[position * self.dims..][..self.dims]
    }
}

/// The order a side's patches are searched in (tile by tile) and, with maps, its labels.
pub(crate) struct SearchOrder {
    tiles: Vec<Tile>,
    /// Patch indices in search order.
    order: Vec<u32>,
    labels: Option<Labels>,
}

impl SearchOrder {
    /// For the patches of an activation of `height x width`, without labels.
    fn unlabelled(height: usize, width: usize, tile: (usize, usize)) -> Self {
        let grid = (height.saturating_sub(2), width.saturating_sub(2));
        let (tiles, order) = tiles(grid, tile);
        SearchOrder {
            tiles,
            order,
            labels: None,
        }
    }

    /// From label fractions `[K][h][w]` at the layer's resolution.
    fn labelled(labels: Planar<'_>, tile: (usize, usize)) -> Self {
        let (tiles, order) = tiles(labels.patch_grid(), tile);
        SearchOrder {
            labels: Some(Labels::new(labels, &tiles, &order)),
            tiles,
            order,
        }
    }

    /// The image's side: tiles of [`IMAGE_TILE`].
    pub fn for_image(height: usize, width: usize, labels: Option<Planar<'_>>) -> Self {
        match labels {
            Some(labels) => Self::labelled(labels, IMAGE_TILE),
            None => Self::unlabelled(height, width, IMAGE_TILE),
        }
    }

    fn count(&self) -> usize {
        self.order.len()
    }

    fn label_view(&self, index: usize) -> Option<TileView<'_>> {
        self.labels
            .as_ref()
            .map(|l| l.tiled.view(&self.tiles, index))
    }

    /// Tile `index`'s label pixels and its patches' label rows.
    fn tile_labels(&self, index: usize) -> Option<ImageLabels<'_>> {
        let labels = self.labels.as_ref()?;
        let tile = self.tiles[index];
        Some(ImageLabels {
            view: labels.tiled.view(&self.tiles, index),
            rows: &labels.rows[tile.start * labels.dims..][..tile.patches() * labels.dims],
        })
    }
}

/// What bounds the label parts of a style tile's patches, for pruning: the largest
/// value of each label row entry over the tile, and one patch of the tile (its centre)
/// whose label part is an attainable value.
struct LabelBounds {
    /// `[tiles][9 K]`: an image patch's label cosine with any patch of a tile is at most
    /// its dot product with the tile's row here, as label rows are not negative.
    largest: Vec<f32>,
    /// Search positions of each tile's centre patch.
    centres: Vec<usize>,
}

impl LabelBounds {
    fn new(labels: &Labels, tiles: &[Tile]) -> Self {
        let dims = labels.dims;
        let mut largest = vec![0f32; tiles.len() * dims];
        for (tile, bound) in tiles.iter().zip(largest.chunks_exact_mut(dims.max(1))) {
            for position in tile.range() {
                for (b, &v) in bound.iter_mut().zip(labels.row(position)) {
                    *b = b.max(v);
                }
            }
        }
        let centres = tiles
            .iter()
            .map(|t| t.start + (t.rows / 2) * t.columns + t.columns / 2)
            .collect();
        LabelBounds { largest, centres }
    }
}

/// The style's side of the search, fixed for a phase.
pub(crate) struct HostStyle {
    search: SearchOrder,
    features: TiledValues,
    bounds: Option<LabelBounds>,
}

impl HostStyle {
    /// From the style's activation and, with maps, its label fractions at the same size.
    pub fn new(features: Planar<'_>, labels: Option<Planar<'_>>) -> Self {
        let search = match labels {
            Some(labels) => SearchOrder::labelled(labels, STYLE_TILE),
            None => SearchOrder::unlabelled(features.height, features.width, STYLE_TILE),
        };
        HostStyle {
            features: TiledValues::new(features, &search.tiles),
            bounds: search
                .labels
                .as_ref()
                .map(|labels| LabelBounds::new(labels, &search.tiles)),
            search,
        }
    }

    fn feature_view(&self, index: usize) -> TileView<'_> {
        self.features.view(&self.search.tiles, index)
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
/// highest `cos(features) + semantic * cos(labels) - variety * usage`; `None` when `stop`
/// asked for it (checked before every tile of image patches).
///
/// `targets` is the image's search order and labels (fixed for a phase, made by
/// [`SearchOrder::for_image`]).
pub(crate) fn nearest(
    image: Planar<'_>,
    targets: &SearchOrder,
    style: &HostStyle,
    weights: Weights<'_>,
    stop: &Stop,
) -> Option<Vec<i64>> {
    assert_eq!(
        image.channels, style.features.channels,
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
    let least_penalty = style
        .search
        .tiles
        .iter()
        .map(|t| {
            penalty[t.range()]
                .iter()
                .copied()
                .fold(f32::INFINITY, f32::min)
        })
        .collect();
    let labelled =
        weights.semantic != 0.0 && targets.labels.is_some() && style.search.labels.is_some();
    let search = TileSearch {
        style,
        penalty: &penalty,
        least_penalty,
        semantic: if labelled { weights.semantic } else { 0.0 },
    };
    let found: Option<Vec<Vec<u32>>> = (0..targets.tiles.len())
        .into_par_iter()
        .map(|index| {
            if stop.requested() {
                return None;
            }
            let labels = targets.tile_labels(index).filter(|_| labelled);
            Some(search.tile(image, targets.tiles[index], labels))
        })
        .collect();
    let mut best = vec![0i64; targets.count()];
    for (tile, found) in targets.tiles.iter().zip(found?) {
        for (&query, style_index) in targets.order[tile.range()].iter().zip(found) {
            best[query as usize] = i64::from(style_index);
        }
    }
    Some(best)
}

/// An image tile's labels: its label pixels and its patches' label rows.
#[derive(Clone, Copy)]
struct ImageLabels<'a> {
    view: TileView<'a>,
    rows: &'a [f32],
}

/// One search's fixed parts, shared by the parallel tasks.
struct TileSearch<'a> {
    style: &'a HostStyle,
    /// `variety * usage` per style patch, in search order.
    penalty: &'a [f32],
    /// The smallest penalty of each style tile.
    least_penalty: Vec<f32>,
    /// 0 when labels are not used.
    semantic: f32,
}

impl TileSearch<'_> {
    /// The best style index for each patch of the image tile `tile` (row-major).
    fn tile(&self, image: Planar<'_>, tile: Tile, labels: Option<ImageLabels<'_>>) -> Vec<u32> {
        let channels = image.channels;
        let mut pixels = scratch::take(tile.pixels() * channels);
        image.copy_tile(&tile, &mut pixels);
        let mut inverse = scratch::take(tile.patches());
        inverse_norms(&tile, &pixels, &mut inverse);
        let features = TileView {
            tile,
            pixels: &pixels,
            inverse_norms: &inverse,
            channels,
        };
        let rows = tile.patches();
        let style_tiles = self.style.search.tiles.len();
        let wanted = labels.map(|labels| self.wanted_tiles(labels.rows));
        let mut scores = scratch::take(rows * STYLE_TILE.0 * STYLE_TILE.1);
        let mut work = Correlation::default();
        let mut best = vec![(f32::NEG_INFINITY, u32::MAX); rows];
        let mut candidate = vec![true; rows];
        for s in 0..style_tiles {
            if let Some(wanted) = &wanted {
                for (row, c) in candidate.iter_mut().enumerate() {
                    *c = wanted[row * style_tiles + s];
                }
                if !candidate.contains(&true) {
                    continue;
                }
            }
            let style_tile = self.style.search.tiles[s];
            let width = style_tile.patches();
            let scores = &mut scores[..rows * width];
            for row in scores.chunks_mut(width) {
                row.iter_mut()
                    .zip(&self.penalty[style_tile.range()])
                    .for_each(|(score, p)| *score = -p);
            }
            if let Some(labels) = labels {
                let style_labels = self
                    .style
                    .search
                    .label_view(s)
                    .expect("labelled searches have style labels");
                let pair = (labels.view, style_labels);
                work.add_cosines(pair, self.semantic, &candidate, scores);
            }
            let pair = (features, self.style.feature_view(s));
            work.add_cosines(pair, 1.0, &candidate, scores);
            let style_order = &self.style.search.order[style_tile.range()];
            for ((row_scores, best), _) in scores
                .chunks(width)
                .zip(best.iter_mut())
                .zip(&candidate)
                .filter(|(_, wanted)| **wanted)
            {
                // Style indices rise within a tile, so the first of its highest scores
                // is the tile's best; the scan for it is rare once a good match is known.
                let highest = largest(row_scores);
                if highest >= best.0 {
                    let first = row_scores.iter().position(|&v| v == highest);
                    let index = style_order[first.expect("the largest is in the row")];
                    if highest > best.0 || index < best.1 {
                        *best = (highest, index);
                    }
                }
            }
        }
        best.into_iter().map(|(_, index)| index).collect()
    }

    /// For each image patch (its label row in `rows`) and style tile, whether the tile
    /// may hold the patch's best match: `[patches][style tiles]`.
    ///
    /// A tile's label parts are at most `semantic * (row . largest) - least penalty`
    /// (label rows are not negative, nor is the semantic weight: the options check it),
    /// and the best score is at least the label part at any one style patch (a tile's
    /// centre, say) minus 1; the feature cosine adds at most 1. So a tile whose bound is
    /// more than 2 below the best centre's label part cannot win.
    fn wanted_tiles(&self, rows: &[f32]) -> Vec<bool> {
        let bounds = self.style.bounds.as_ref().expect("labelled style");
        let style_labels = self.style.search.labels.as_ref().expect("labelled style");
        let dims = style_labels.dims;
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let tiles = self.style.search.tiles.len();
        let mut wanted = Vec::with_capacity(rows.len() / dims.max(1) * tiles);
        let mut upper = vec![0f32; tiles];
        for row in rows.chunks_exact(dims.max(1)) {
            let mut attained = f32::NEG_INFINITY;
            for (s, &centre) in bounds.centres.iter().enumerate() {
                let largest = &bounds.largest[s * dims..][..dims];
                upper[s] = self.semantic * dot(row, largest) - self.least_penalty[s];
                let at_centre =
                    self.semantic * dot(row, style_labels.row(centre)) - self.penalty[centre];
                attained = attained.max(at_centre);
            }
            wanted.extend(upper.iter().map(|&u| u >= attained - BOUND_SLACK));
        }
        wanted
    }
}

/// The largest of `values` (negative infinity for none; scores are never NaN), in
/// independent lanes so that it runs on vector instructions.
fn largest(values: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = if v > *lane { v } else { *lane };
        }
    }
    let rest = chunks.remainder().iter().copied();
    lanes
        .into_iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Working buffers for [`Correlation::add_cosines`].
#[derive(Default)]
struct Correlation {
    /// Dot products of every image pixel with every style pixel of a tile pair.
    products: Vec<f32>,
}

impl Correlation {
    /// Adds `weight * cos(a, b)` for every image patch `a` of the pair's image tile and
    /// style patch `b` of its style tile to `scores` (`[image patches][style patches]`,
    /// both row-major in their tiles), for the image patches marked in `rows`.
    fn add_cosines(
        &mut self,
        (image, style): (TileView<'_>, TileView<'_>),
        weight: f32,
        rows: &[bool],
        scores: &mut [f32],
    ) {
        let (image_pixels, style_pixels) = (image.tile.pixels(), style.tile.pixels());
        self.products.resize(image_pixels * style_pixels, 0.0);
        multiply(
            image.matrix().transpose(),
            style.matrix(),
            1.0,
            false,
            &mut self.products,
        );
        let image_columns = image.tile.pixel_size().1;
        let (style_rows, style_columns) = (style.tile.rows, style.tile.columns);
        let stride = style.tile.pixel_size().1;
        let width = style.tile.patches();
        for (index, row_scores) in scores.chunks_exact_mut(width).enumerate() {
            if !rows[index] {
                continue;
            }
            let (y, x) = (index / image.tile.columns, index % image.tile.columns);
            // The products of the pixel pairs at offset (dy, dx) of image patch (y, x)
            // and style patch (sy, sx): row (y + dy, x + dx) of `products`, column
            // (sy + dy, sx + dx), that is `sy * stride + sx` past `starts[dy * 3 + dx]`.
            let starts: [usize; 9] = std::array::from_fn(|offset| {
                let (dy, dx) = (offset / 3, offset % 3);
                ((y + dy) * image_columns + x + dx) * style_pixels + dy * stride + dx
            });
            let row_weight = weight * image.inverse_norms[index];
            for sy in 0..style_rows {
                let p = starts.map(|start| &self.products[start + sy * stride..][..style_columns]);
                let range = sy * style_columns..(sy + 1) * style_columns;
                let inverse = &style.inverse_norms[range.clone()];
                let out = &mut row_scores[range];
                for sx in 0..style_columns {
                    let sum = p[0][sx]
                        + p[1][sx]
                        + p[2][sx]
                        + p[3][sx]
                        + p[4][sx]
                        + p[5][sx]
                        + p[6][sx]
                        + p[7][sx]
                        + p[8][sx];
                    out[sx] += row_weight * sum * inverse[sx];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doodle::Observer;
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
            &SearchOrder::for_image(image.height, image.width, None),
            &HostStyle::new(style, None),
            PLAIN,
            &Stop::default(),
        )
        .expect("no stop was asked for")
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

    fn normalised_patch(p: Planar<'_>, index: usize) -> Vec<f32> {
        let mut row = vec![0f32; p.channels * 9];
        p.normalised_patch(index, &mut row);
        row
    }

    /// The full search, written plainly.
    fn brute_force(
        image: Planar<'_>,
        image_labels: Option<Planar<'_>>,
        style: Planar<'_>,
        style_labels: Option<Planar<'_>>,
        weights: Weights<'_>,
    ) -> Vec<i64> {
        let row = |p: Planar<'_>, i: usize| normalised_patch(p, i);
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
            let targets = SearchOrder::for_image(9, 30, Some(image_labels));
            let found = nearest(image, &targets, &host, weights, &Stop::default()).unwrap();
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
    fn tile_pairs_give_the_cosines_of_patch_by_patch_dot_products() {
        let (channels, height, width) = (4, 23, 29);
        let image_values = random(channels * height * width, 7);
        let style_values = random(channels * 14 * 11, 8);
        let image = planar(&image_values, channels, height, width);
        let style = planar(&style_values, channels, 14, 11);
        // Tiles that divide the grids unevenly, so edge tiles are smaller.
        let (image_tiles, image_order) = tiles(image.patch_grid(), (5, 7));
        let (style_tiles, style_order) = tiles(style.patch_grid(), (4, 6));
        assert_eq!(image_tiles.len(), 5 * 4);
        let mut sorted = image_order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..image.patch_count() as u32).collect::<Vec<_>>());
        let image_side = TiledValues::new(image, &image_tiles);
        let style_side = TiledValues::new(style, &style_tiles);
        let mut work = Correlation::default();
        for i in 0..image_tiles.len() {
            for s in 0..style_tiles.len() {
                let (a, b) = (
                    image_side.view(&image_tiles, i),
                    style_side.view(&style_tiles, s),
                );
                let mut scores = vec![0.5f32; a.tile.patches() * b.tile.patches()];
                work.add_cosines((a, b), 2.0, &vec![true; a.tile.patches()], &mut scores);
                for (r, &q) in image_order[a.tile.range()].iter().enumerate() {
                    let query = normalised_patch(image, q as usize);
                    for (k, &p) in style_order[b.tile.range()].iter().enumerate() {
                        let key = normalised_patch(style, p as usize);
                        let cosine: f32 = query.iter().zip(&key).map(|(x, y)| x * y).sum();
                        let got = scores[r * b.tile.patches() + k];
                        assert!(
                            (got - (0.5 + 2.0 * cosine)).abs() < 1e-5,
                            "tiles {i}, {s}: {got} vs {cosine}"
                        );
                    }
                }
            }
        }
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

    /// A search asked to stop returns at once without an answer; one not asked returns
    /// the same as ever.
    #[test]
    fn a_stopped_search_gives_no_answer() {
        let (image, style) = (random(8 * 40 * 40, 3), random(8 * 30 * 30, 4));
        let image = Planar {
            channels: 8,
            height: 40,
            width: 40,
            values: &image,
        };
        let style = Planar {
            channels: 8,
            height: 30,
            width: 30,
            values: &style,
        };
        let targets = SearchOrder::for_image(40, 40, None);
        let host = HostStyle::new(style, None);
        let token = crate::doodle::CancelToken::new();
        let stop = Observer::default().cancel_token(token.clone()).stop(None);
        assert!(nearest(image, &targets, &host, PLAIN, &stop).is_some());
        token.cancel();
        assert_eq!(nearest(image, &targets, &host, PLAIN, &stop), None);
        let passed = Observer::default().stop(Some(std::time::Instant::now()));
        assert_eq!(nearest(image, &targets, &host, PLAIN, &passed), None);
    }
}
