//! The alignment search: fold the image's detail onto one tile at a hypothesised scale and
//! rotation, correlate the fold with the keyed pilot at every shift, and keep the peaks.
//!
//! Folding is the costly step (every canonical pixel, for every hypothesis), so the search
//! can fold onto a coarse grid of 2x2 canonical pixels: a quarter of the work per
//! hypothesis, and a chip still spans two cells. The detector screens the many rotated
//! hypotheses that way and reads only the few best at full resolution.

use rayon::prelude::*;

use super::layout::{CHIP, Layout, TILE};
use super::plane::Plane;

/// A scale and rotation the mark may have been found at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hypothesis {
    /// Size of the mark's tile in the image, relative to how it was embedded.
    pub scale: f32,
    /// Rotation of the grid, in degrees.
    pub angle: f32,
}

/// Where a tile lies over the image: a hypothesis and the shift in canonical pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Alignment {
    pub scale: f32,
    /// Rotation of the grid, in degrees.
    pub angle: f32,
    pub dx: usize,
    pub dy: usize,
}

impl Alignment {
    /// The alignment of a mark as embedded.
    pub const IDENTITY: Alignment = Alignment {
        scale: 1.0,
        angle: 0.0,
        dx: 0,
        dy: 0,
    };

    /// The scale and rotation of this alignment.
    pub fn hypothesis(&self) -> Hypothesis {
        Hypothesis {
            scale: self.scale,
            angle: self.angle,
        }
    }
}

/// A peak of the pilot correlation: an alignment and how far it stands out (z-score over
/// its hypothesis's correlation surface).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Peak {
    pub score: f32,
    pub alignment: Alignment,
}

/// The detail folded onto one full-resolution tile, as sums over every chip-sized window
/// (`cells[v * TILE + u]` sums the 4x4 window whose corner is `(u, v)`, wrapping around).
#[derive(Debug, Clone)]
pub(crate) struct Tile {
    pub cells: Vec<f32>,
}

impl Tile {
    /// The chip sum at chip `(column, row)` of a tile shifted by `(dx, dy)`.
    pub fn chip(&self, column: usize, row: usize, dx: usize, dy: usize) -> f32 {
        let u = (column * CHIP + dx) % TILE;
        let v = (row * CHIP + dy) % TILE;
        self.cells[v * TILE + u]
    }
}

/// The detail of one image at one grid resolution, ready to be folded.
pub(crate) struct Grid<'a> {
    detail: std::borrow::Cow<'a, Plane>,
    /// Canonical pixels per grid cell along each side (1 or 2).
    cell: usize,
    /// The pilot's chips as `(column, row, sign)` in grid cells.
    pilot: Vec<(usize, usize, f32)>,
}

impl<'a> Grid<'a> {
    /// The full-resolution grid: one cell per canonical pixel.
    pub fn full(detail: &'a Plane, layout: &Layout) -> Grid<'a> {
        Grid::new(std::borrow::Cow::Borrowed(detail), 1, layout)
    }

    /// The coarse grid: each cell sums 2x2 canonical pixels (an odd last row or column is
    /// left out).
    pub fn coarse(detail: &Plane, layout: &Layout) -> Grid<'static> {
        let (width, height) = (detail.width / 2, detail.height / 2);
        let mut data = vec![0f32; width * height];
        for (y, target) in data.chunks_exact_mut(width.max(1)).enumerate().take(height) {
            let (upper, lower) = (detail.row(2 * y), detail.row(2 * y + 1));
            for (x, value) in target.iter_mut().enumerate() {
                *value = upper[2 * x] + upper[2 * x + 1] + lower[2 * x] + lower[2 * x + 1];
            }
        }
        let plane = Plane {
            width,
            height,
            data,
        };
        Grid::new(std::borrow::Cow::Owned(plane), 2, layout)
    }

    fn new(detail: std::borrow::Cow<'a, Plane>, cell: usize, layout: &Layout) -> Grid<'a> {
        let chip = CHIP / cell;
        let pilot = layout
            .pilot
            .iter()
            .map(|c| (c.column * chip, c.row * chip, c.sign))
            .collect();
        Grid {
            detail,
            cell,
            pilot,
        }
    }

    /// Side of the folded tile, in cells.
    fn side(&self) -> usize {
        TILE / self.cell
    }

    /// The `per_hypothesis` strongest peaks of every hypothesis, strongest first (ties
    /// keep the hypotheses' order, so the result is the same on every run).
    pub fn peaks(&self, hypotheses: &[Hypothesis], per_hypothesis: usize) -> Vec<Peak> {
        let mut found: Vec<Peak> = hypotheses
            .par_iter()
            .flat_map_iter(|&hypothesis| {
                let surface = self.pilot_correlation(&self.window_sums(&self.fold(hypothesis)));
                strongest(&surface, self.side(), CHIP / self.cell, per_hypothesis)
                    .into_iter()
                    .map(move |(score, dx, dy)| Peak {
                        score,
                        alignment: Alignment {
                            scale: hypothesis.scale,
                            angle: hypothesis.angle,
                            dx: dx * self.cell,
                            dy: dy * self.cell,
                        },
                    })
            })
            .collect();
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        found
    }

    /// The full-resolution tile of a hypothesis, and its correlation surface.
    pub fn tile(&self, hypothesis: Hypothesis) -> (Tile, Vec<f32>) {
        debug_assert_eq!(self.cell, 1, "tiles are read at full resolution");
        let cells = self.window_sums(&self.fold(hypothesis));
        let surface = self.pilot_correlation(&cells);
        (Tile { cells }, surface)
    }

    /// Adds every cell of the detail to the tile position it maps to under `hypothesis`,
    /// the grid turned about the image's centre.
    fn fold(&self, hypothesis: Hypothesis) -> Vec<f32> {
        if hypothesis.angle == 0.0 {
            self.fold_straight(hypothesis.scale)
        } else {
            self.fold_rotated(hypothesis)
        }
    }

    /// Folding when the grid is axis-aligned: a cell's bin is its column's bin and its
    /// row's bin, computed once per column and row.
    fn fold_straight(&self, scale: f32) -> Vec<f32> {
        let side = self.side();
        // A cell's centre, in canonical pixels, is `(i + 0.5) * cell`; divided by the scale
        // and by the cell size it is `(i + 0.5) / scale` cells.
        let bins = |length: usize| -> Vec<usize> {
            (0..length)
                .map(|i| ((i as f32 + 0.5) / scale) as usize % side)
                .collect()
        };
        let detail = &self.detail;
        let (columns, rows) = (bins(detail.width), bins(detail.height));
        let mut folded = vec![0f32; side * side];
        for (row, line) in rows.iter().zip(detail.data.chunks_exact(detail.width)) {
            let target = &mut folded[row * side..][..side];
            for (column, value) in columns.iter().zip(line) {
                target[*column] += value;
            }
        }
        folded
    }

    /// Folding with the grid turned. Positions are fixed-point numbers of cells (32
    /// fractional bits), kept positive by a whole number of tiles so that masking wraps
    /// them, and advance by constant steps along a row.
    fn fold_rotated(&self, hypothesis: Hypothesis) -> Vec<f32> {
        const FRACTION_BITS: u32 = 32;
        const ONE: f64 = (1u64 << FRACTION_BITS) as f64;
        let side = self.side();
        let positive = (side * 1024) as f64;
        let mask = side as i64 - 1;
        let shift = side.trailing_zeros();
        let (sin, cos) = f64::from(hypothesis.angle).to_radians().sin_cos();
        let (scale, cell) = (f64::from(hypothesis.scale), self.cell as f64);
        let detail = &self.detail;
        let (cx, cy) = (
            (detail.width as f64 * cell) / 2.0,
            (detail.height as f64 * cell) / 2.0,
        );
        let in_cells = |canonical: f64| canonical / scale / cell;
        let step_u = (in_cells(cos * cell) * ONE).round() as i64;
        let step_v = (in_cells(-sin * cell) * ONE).round() as i64;
        let mut folded = vec![0f32; side * side];
        for (y, line) in detail.data.chunks_exact(detail.width).enumerate() {
            let dy = (y as f64 + 0.5) * cell - cy;
            let dx = 0.5 * cell - cx;
            let mut u = ((in_cells(cos * dx + sin * dy + cx) + positive) * ONE) as i64;
            let mut v = ((in_cells(-sin * dx + cos * dy + cy) + positive) * ONE) as i64;
            for value in line {
                let (column, row) = ((u >> FRACTION_BITS) & mask, (v >> FRACTION_BITS) & mask);
                let index = ((row << shift) | column) as usize;
                folded[index] += value;
                u += step_u;
                v += step_v;
            }
        }
        folded
    }

    /// Sums over every chip-sized window of the folded tile, wrapping around.
    fn window_sums(&self, folded: &[f32]) -> Vec<f32> {
        let (side, chip) = (self.side(), CHIP / self.cell);
        let mut across = vec![0f32; side * side];
        for (target, row) in across.chunks_exact_mut(side).zip(folded.chunks_exact(side)) {
            for (u, value) in target.iter_mut().enumerate() {
                *value = (0..chip).map(|i| row[(u + i) % side]).sum();
            }
        }
        let mut sums = vec![0f32; side * side];
        for (v, target) in sums.chunks_exact_mut(side).enumerate() {
            for j in 0..chip {
                let row = &across[(v + j) % side * side..][..side];
                for (value, add) in target.iter_mut().zip(row) {
                    *value += add;
                }
            }
        }
        sums
    }

    /// Correlation with the pilot at every shift, indexed `dy * side + dx`. Each chip adds
    /// a shifted copy of the window sums, so the inner loop runs over contiguous memory:
    /// the sums are laid out with every row repeated twice over.
    fn pilot_correlation(&self, sums: &[f32]) -> Vec<f32> {
        let side = self.side();
        let mut doubled = Vec::with_capacity(2 * side * side);
        for row in sums.chunks_exact(side) {
            doubled.extend_from_slice(row);
            doubled.extend_from_slice(row);
        }
        let mut surface = vec![0f32; side * side];
        for &(column, row, sign) in &self.pilot {
            for (dy, target) in surface.chunks_exact_mut(side).enumerate() {
                let source = &doubled[(row + dy) % side * 2 * side + column..][..side];
                for (value, add) in target.iter_mut().zip(source) {
                    *value += sign * add;
                }
            }
        }
        surface
    }
}

/// How many standard deviations `value` stands above the surface's mean.
pub(crate) fn z_score(surface: &[f32], value: f32) -> f32 {
    standardised(surface)(value)
}

/// A function giving how many standard deviations a value stands above the surface's mean
/// (0 for a flat surface); the mean and deviation are computed once.
fn standardised(surface: &[f32]) -> impl Fn(f32) -> f32 {
    let (mean, deviation) = crate::pixels::mean_and_deviation(surface.iter().copied());
    move |value| {
        if deviation <= 0.0 {
            0.0
        } else {
            ((f64::from(value) - mean) / deviation) as f32
        }
    }
}

/// The `count` highest peaks of a `side` x `side` correlation surface as `(z, dx, dy)`, at
/// least `apart` cells from each other (wrapping), so the slopes of one peak are not
/// counted as others.
fn strongest(surface: &[f32], side: usize, apart: usize, count: usize) -> Vec<(f32, usize, usize)> {
    let near = |a: usize, b: usize| {
        let d = |p: usize, q: usize| {
            let d = p.abs_diff(q);
            d.min(side - d)
        };
        d(a % side, b % side) < apart && d(a / side, b / side) < apart
    };
    let mut chosen: Vec<usize> = Vec::with_capacity(count);
    while chosen.len() < count {
        let best = (0..surface.len())
            .filter(|&i| chosen.iter().all(|&c| !near(c, i)))
            .max_by(|&a, &b| surface[a].total_cmp(&surface[b]).then(b.cmp(&a)));
        match best {
            Some(index) => chosen.push(index),
            None => break,
        }
    }
    let z = standardised(surface);
    chosen
        .into_iter()
        .map(|i| (z(surface[i]), i % side, i / side))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A detail plane carrying the pilot alone, tiled at `scale`, shifted by `(dx, dy)`.
    fn pilot_only(layout: &Layout, scale: f32, dx: usize, dy: usize) -> Plane {
        let chips = layout.chip_values(&[false; super::super::layout::CODED_BITS]);
        let (width, height) = (512, 384);
        let data = (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                let u = ((x as f32 + 0.5) / scale) as usize + TILE - dx;
                let v = ((y as f32 + 0.5) / scale) as usize + TILE - dy;
                chips[(v % TILE / CHIP) * super::super::layout::CHIPS_PER_SIDE + u % TILE / CHIP]
            })
            .collect();
        Plane {
            width,
            height,
            data,
        }
    }

    #[test]
    fn the_pilot_is_found_at_its_shift_and_scale_on_both_grids() {
        let layout = Layout::for_key("search");
        let detail = pilot_only(&layout, 1.05, 12, 40);
        let hypotheses: Vec<Hypothesis> = [1.0, 1.05, 1.1]
            .iter()
            .map(|&scale| Hypothesis { scale, angle: 0.0 })
            .collect();
        let full = Grid::full(&detail, &layout).peaks(&hypotheses, 1);
        let expected = Alignment {
            scale: 1.05,
            angle: 0.0,
            dx: 12,
            dy: 40,
        };
        assert_eq!(full[0].alignment, expected);
        let coarse = Grid::coarse(&detail, &layout).peaks(&hypotheses, 1);
        assert_eq!(coarse[0].alignment, expected);
        assert!(
            coarse[0].score > 8.0 && full[0].score > 8.0,
            "{} {}",
            coarse[0].score,
            full[0].score
        );
    }

    #[test]
    fn a_rotated_fold_at_no_rotation_equals_the_straight_fold() {
        let layout = Layout::for_key("fold");
        let detail = pilot_only(&layout, 1.0, 3, 5);
        let grid = Grid::full(&detail, &layout);
        let straight = grid.fold_straight(1.03);
        let rotated = grid.fold_rotated(Hypothesis {
            scale: 1.03,
            angle: 1e-9,
        });
        let differing = straight
            .iter()
            .zip(&rotated)
            .filter(|(a, b)| (*a - *b).abs() > 1e-3)
            .count();
        assert!(differing < 40, "{differing} of 4096 bins differ");
    }

    #[test]
    fn peaks_are_distinct_and_strongest_first() {
        let mut surface = vec![0f32; 64 * 64];
        surface[10 * 64 + 10] = 9.0;
        surface[10 * 64 + 11] = 8.0; // a slope of the first peak
        surface[40 * 64 + 3] = 5.0;
        let found = strongest(&surface, 64, 4, 2);
        assert_eq!((found[0].1, found[0].2), (10, 10));
        assert_eq!((found[1].1, found[1].2), (3, 40));
        assert!(found[0].0 > found[1].0);
    }
}
