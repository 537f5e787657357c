//! 3x3 convolutions (stride 1, padding 1) by Winograd's minimal filtering, F(4x4, 3x3),
//! forward and backward to the input.
//!
//! Each 4x4 block of outputs is computed from the 6x6 block of inputs around it: both the
//! input block and the 3x3 kernel are moved to a 6x6 "transform" space where the
//! convolution becomes an element-wise product, summed over input channels, then moved
//! back (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). The
//! sums over channels are 36 matrix products per band of blocks, which run near the
//! machine's peak, and they need 36 multiplications per 16 outputs where a direct
//! convolution needs 144: a quarter of the arithmetic. The results differ from a direct
//! convolution by rounding only (the tests compare them to a direct one in f64).
//!
//! The backward pass to the input is the exact adjoint of these steps (the transposed
//! transforms around the same transformed kernels), so no second set of kernels is kept.

use rayon::prelude::*;

use super::activation::Activation;
use super::matmul::{MatrixRef, multiply};
use super::scratch;

/// Output block side.
const BLOCK: usize = 4;
/// Input block side: the output block plus the kernel's reach on both sides.
const TILE: usize = 6;
/// Points of the transform space.
const POINTS: usize = TILE * TILE;
/// Blocks per band, roughly: the rows of each band's matrix products. Smaller bands keep
/// a band's transformed blocks in cache; 64 measured about 10% faster than 192 at 128
/// and 256 px (VGG19 forward and backward; 32 to 768 tried).
const BLOCKS_PER_BAND: usize = 64;

/// Kernel transform `G` (6x3).
const G: [[f32; 3]; 6] = [
    [0.25, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// A 3x3 convolution with its kernels already in transform space.
pub(crate) struct Conv3x3 {
    inputs: usize,
    outputs: usize,
    /// `[36][inputs][outputs]`: for each transform point, the matrix the input channels
    /// are multiplied by.
    kernels: Vec<f32>,
    bias: Vec<f32>,
}

impl Conv3x3 {
    /// From PyTorch-layout weights `[outputs][inputs][3][3]` and a bias per output.
    pub fn new(weight: &[f32], bias: &[f32], outputs: usize, inputs: usize) -> Self {
        assert_eq!(weight.len(), outputs * inputs * 9, "weight size");
        assert_eq!(bias.len(), outputs, "bias size");
        let mut kernels = vec![0f32; POINTS * inputs * outputs];
        for o in 0..outputs {
            for i in 0..inputs {
                let g = &weight[(o * inputs + i) * 9..][..9];
                // G g G^T, in f64 so the kernels carry no more rounding than f32 storage.
                let mut half = [[0f64; 3]; TILE];
                for (r, row) in half.iter_mut().enumerate() {
                    for (c, value) in row.iter_mut().enumerate() {
                        *value = (0..3)
                            .map(|k| f64::from(G[r][k]) * f64::from(g[k * 3 + c]))
                            .sum();
                    }
                }
                for r in 0..TILE {
                    for c in 0..TILE {
                        let value: f64 = (0..3).map(|k| half[r][k] * f64::from(G[c][k])).sum();
                        kernels[((r * TILE + c) * inputs + i) * outputs + o] = value as f32;
                    }
                }
            }
        }
        Conv3x3 {
            inputs,
            outputs,
            kernels,
            bias: bias.to_vec(),
        }
    }

    /// `relu(conv(x) + bias)`, same size as `x`.
    pub fn forward_relu(&self, x: &Activation) -> Activation {
        assert_eq!(x.channels, self.inputs, "input channels");
        let layout = Layout::new(x.height, x.width);
        let mut out = Activation::zeros(x.height, x.width, self.outputs);
        let band_values = layout.band_rows() * BLOCK * x.width * self.outputs;
        if band_values == 0 {
            return out;
        }
        out.values
            .par_chunks_mut(band_values)
            .enumerate()
            .for_each(|(band, values)| self.forward_band(x, &layout, band, values));
        out
    }

    /// The gradient to the input from `gradient`, the gradient at the convolution's
    /// output (before the bias and ReLU: the caller applies the ReLU's mask).
    pub fn backward(&self, gradient: &Activation) -> Activation {
        assert_eq!(gradient.channels, self.outputs, "gradient channels");
        let (height, width) = (gradient.height, gradient.width);
        let layout = Layout::new(height, width);
        let mut out = Activation::zeros(height, width, self.inputs);
        let row_len = width * self.inputs;
        // A band's input blocks reach one row above and below its own rows, so
        // neighbouring bands write to two common rows. Even bands run first, then odd
        // ones, each adding into its own rows: the same sums whatever the number of threads.
        for parity in 0..2 {
            let mut rest: &mut [f32] = &mut out.values;
            let mut consumed = 0;
            let mut jobs = Vec::new();
            for band in (parity..layout.bands()).step_by(2) {
                let rows = layout.band_input_rows(band, height);
                let (_, after) =
                    std::mem::take(&mut rest).split_at_mut((rows.start - consumed) * row_len);
                let (mine, after) = after.split_at_mut(rows.len() * row_len);
                rest = after;
                consumed = rows.end;
                jobs.push((band, rows.start, mine));
            }
            jobs.into_par_iter().for_each(|(band, first_row, rows)| {
                self.backward_band(gradient, &layout, band, first_row, rows)
            });
        }
        out
    }

    /// The `[inputs][outputs]` kernel matrix of transform point `p`.
    fn point_kernels(&self, p: usize) -> &[f32] {
        let size = self.inputs * self.outputs;
        &self.kernels[p * size..][..size]
    }

    fn forward_band(&self, x: &Activation, layout: &Layout, band: usize, out: &mut [f32]) {
        let blocks = layout.band_blocks(band);
        let (inputs, outputs) = (self.inputs, self.outputs);
        let count = blocks.len();
        // Transformed inputs [36][count][inputs] and products [36][count][outputs].
        let mut transformed = scratch::take(POINTS * count * inputs);
        let zeros = vec![0f32; inputs];
        let mut half = vec![0f32; POINTS * inputs];
        for (b, &(by, bx)) in blocks.iter().enumerate() {
            // Rows: half[column][i] = sum_a BT[i][a] d[a][column].
            for column in 0..TILE {
                let d = std::array::from_fn(|a| tile_pixel(x, by, bx, a, column).unwrap_or(&zeros));
                input_1d(
                    d,
                    sixths(&mut half[column * TILE * inputs..][..TILE * inputs]),
                );
            }
            // Columns: V[i][j] = sum_column BT[j][column] half[column][i], straight into place.
            for i in 0..TILE {
                let h =
                    std::array::from_fn(|column| &half[(column * TILE + i) * inputs..][..inputs]);
                input_1d(h, row_of_points(&mut transformed, i, count, b, inputs));
            }
        }
        let mut products = scratch::take(POINTS * count * outputs);
        multiply_points(&transformed, count, inputs, &mut products, |p| {
            MatrixRef::rows(self.point_kernels(p), inputs, outputs)
        });
        let first_row = band * layout.band_rows() * BLOCK;
        let mut half = vec![0f32; TILE * BLOCK * outputs];
        let mut block = vec![0f32; BLOCK * outputs];
        for (b, &(by, bx)) in blocks.iter().enumerate() {
            // Rows: half[j][k] = sum_i AT[k][i] M[i][j].
            for j in 0..TILE {
                let m = std::array::from_fn(|i| {
                    &products[((i * TILE + j) * count + b) * outputs..][..outputs]
                });
                output_1d(
                    m,
                    quarters(&mut half[j * BLOCK * outputs..][..BLOCK * outputs]),
                );
            }
            // Columns: Y[k][l] = sum_j AT[l][j] half[j][k], then bias and ReLU.
            for k in 0..BLOCK {
                let y = by * BLOCK + k;
                if y >= x.height {
                    break;
                }
                let h = std::array::from_fn(|j| &half[(j * BLOCK + k) * outputs..][..outputs]);
                output_1d(h, quarters(&mut block));
                let row = &mut out[(y - first_row) * x.width * outputs..][..x.width * outputs];
                for (l, values) in block.chunks_exact(outputs).enumerate() {
                    let column = bx * BLOCK + l;
                    if column >= x.width {
                        break;
                    }
                    let target = &mut row[column * outputs..][..outputs];
                    for ((t, v), bias) in target.iter_mut().zip(values).zip(&self.bias) {
                        *t = (v + bias).max(0.0);
                    }
                }
            }
        }
    }

    /// Adds the band's contribution to the input gradient into `rows`, the gradient's
    /// rows from `first_row` on (those of `layout.band_input_rows`).
    fn backward_band(
        &self,
        gradient: &Activation,
        layout: &Layout,
        band: usize,
        first_row: usize,
        rows: &mut [f32],
    ) {
        let blocks = layout.band_blocks(band);
        let (inputs, outputs) = (self.inputs, self.outputs);
        let count = blocks.len();
        let mut transformed = scratch::take(POINTS * count * outputs);
        let zeros = vec![0f32; outputs];
        let mut half = vec![0f32; BLOCK * TILE * outputs];
        for (b, &(by, bx)) in blocks.iter().enumerate() {
            // Rows: half[l][i] = sum_k AT[k][i] gY[k][l].
            for l in 0..BLOCK {
                let g =
                    std::array::from_fn(|k| block_pixel(gradient, by, bx, k, l).unwrap_or(&zeros));
                output_adjoint_1d(g, sixths(&mut half[l * TILE * outputs..][..TILE * outputs]));
            }
            // Columns: Z[i][j] = sum_l AT[l][j] half[l][i], straight into place.
            for i in 0..TILE {
                let h = std::array::from_fn(|l| &half[(l * TILE + i) * outputs..][..outputs]);
                output_adjoint_1d(h, row_of_points(&mut transformed, i, count, b, outputs));
            }
        }
        let mut products = scratch::take(POINTS * count * inputs);
        multiply_points(&transformed, count, outputs, &mut products, |p| {
            MatrixRef::transposed(self.point_kernels(p), inputs, outputs)
        });
        let width = gradient.width;
        let mut half = vec![0f32; POINTS * inputs];
        let mut tile_row = vec![0f32; TILE * inputs];
        for (b, &(by, bx)) in blocks.iter().enumerate() {
            // Rows: half[j][a] = sum_i BT[i][a] gV[i][j].
            for j in 0..TILE {
                let q = std::array::from_fn(|i| {
                    &products[((i * TILE + j) * count + b) * inputs..][..inputs]
                });
                input_adjoint_1d(q, sixths(&mut half[j * TILE * inputs..][..TILE * inputs]));
            }
            // Columns: gd[a][c] = sum_j BT[j][c] half[j][a], added where it lands in the image.
            for a in 0..TILE {
                let Some(y) = (by * BLOCK + a)
                    .checked_sub(1)
                    .filter(|y| *y < gradient.height)
                else {
                    continue;
                };
                let h = std::array::from_fn(|j| &half[(j * TILE + a) * inputs..][..inputs]);
                input_adjoint_1d(h, sixths(&mut tile_row));
                let row = &mut rows[(y - first_row) * width * inputs..][..width * inputs];
                for (c, values) in tile_row.chunks_exact(inputs).enumerate() {
                    let column = (bx * BLOCK + c) as isize - 1;
                    if column < 0 || column as usize >= width {
                        continue;
                    }
                    let target = &mut row[column as usize * inputs..][..inputs];
                    target.iter_mut().zip(values).for_each(|(t, v)| *t += v);
                }
            }
        }
    }
}

/// For every transform point `p`: `products[p] = transformed[p] * kernels(p)`, where
/// `transformed` is `[36][count][depth]` and `products` `[36][count][n]`. The 36 products
/// are independent and run in parallel, so that small images with few bands still use
/// every thread.
fn multiply_points<'k>(
    transformed: &[f32],
    count: usize,
    depth: usize,
    products: &mut [f32],
    kernels: impl Fn(usize) -> MatrixRef<'k> + Sync,
) {
    let n = products.len() / (POINTS * count).max(1);
    products
        .par_chunks_mut(count * n)
        .enumerate()
        .for_each(|(p, product)| {
            let lhs = &transformed[p * count * depth..][..count * depth];
            multiply(
                MatrixRef::rows(lhs, count, depth),
                kernels(p),
                1.0,
                false,
                product,
            )
        });
}

/// The six transform points `(i, 0..6)` of block `b` in a `[36][count][c]` buffer.
fn row_of_points(
    buffer: &mut [f32],
    i: usize,
    count: usize,
    b: usize,
    c: usize,
) -> [&mut [f32]; 6] {
    buffer
        .get_disjoint_mut(std::array::from_fn::<_, 6, _>(|j| {
            let start = ((i * TILE + j) * count + b) * c;
            start..start + c
        }))
        .expect("the six points of a row are distinct")
}

/// How an image is cut into 4x4 blocks and bands of block rows.
struct Layout {
    block_rows: usize,
    block_columns: usize,
    band_rows: usize,
}

impl Layout {
    fn new(height: usize, width: usize) -> Self {
        let block_rows = height.div_ceil(BLOCK);
        let block_columns = width.div_ceil(BLOCK);
        Layout {
            block_rows,
            block_columns,
            band_rows: (BLOCKS_PER_BAND / block_columns.max(1)).clamp(1, block_rows.max(1)),
        }
    }

    /// Block rows per band.
    fn band_rows(&self) -> usize {
        self.band_rows
    }

    fn bands(&self) -> usize {
        self.block_rows.div_ceil(self.band_rows)
    }

    /// The blocks `(block row, block column)` of a band.
    fn band_blocks(&self, band: usize) -> Vec<(usize, usize)> {
        let first = band * self.band_rows;
        let last = (first + self.band_rows).min(self.block_rows);
        (first..last)
            .flat_map(|by| (0..self.block_columns).map(move |bx| (by, bx)))
            .collect()
    }

    /// The input rows a band's blocks read, within an image of `height` rows: one more
    /// above and below its own rows.
    fn band_input_rows(&self, band: usize, height: usize) -> std::ops::Range<usize> {
        let first = (band * self.band_rows * BLOCK).saturating_sub(1);
        let last = ((band + 1) * self.band_rows * BLOCK + 1).min(height);
        first..last
    }
}

/// The input pixel at offset `(a, column)` of block `(by, bx)`'s 6x6 tile, `None`
/// outside the image (the zero padding).
fn tile_pixel(x: &Activation, by: usize, bx: usize, a: usize, column: usize) -> Option<&[f32]> {
    let y = (by * BLOCK + a).checked_sub(1)?;
    let column = (bx * BLOCK + column).checked_sub(1)?;
    (y < x.height && column < x.width).then(|| x.pixel(y, column))
}

/// The pixel at offset `(k, l)` of 4x4 block `(by, bx)`, `None` outside the image.
fn block_pixel(x: &Activation, by: usize, bx: usize, k: usize, l: usize) -> Option<&[f32]> {
    let (y, column) = (by * BLOCK + k, bx * BLOCK + l);
    (y < x.height && column < x.width).then(|| x.pixel(y, column))
}

/// A buffer of six equal channel vectors, as six slices.
fn sixths(buffer: &mut [f32]) -> [&mut [f32]; 6] {
    let c = buffer.len() / 6;
    let mut parts = buffer.chunks_exact_mut(c);
    std::array::from_fn(|_| parts.next().expect("six parts"))
}

/// A buffer of four equal channel vectors, as four slices.
fn quarters(buffer: &mut [f32]) -> [&mut [f32]; 4] {
    let c = buffer.len() / 4;
    let mut parts = buffer.chunks_exact_mut(c);
    std::array::from_fn(|_| parts.next().expect("four parts"))
}

// The four one-dimensional transforms, applied to every channel at once: `B^T`, `A^T`
// and their transposes, with their common terms shared. Each computes every output from
// the inputs in one pass over the channels.

/// `out = B^T d` (6 -> 6).
fn input_1d(d: [&[f32]; 6], out: [&mut [f32]; 6]) {
    let c = out[0].len();
    let [o0, o1, o2, o3, o4, o5] = out.map(|o| &mut o[..c]);
    let [d0, d1, d2, d3, d4, d5] = d.map(|s| &s[..c]);
    for x in 0..c {
        let (a0, a1, a2, a3, a4, a5) = (d0[x], d1[x], d2[x], d3[x], d4[x], d5[x]);
        o0[x] = 4.0 * a0 - 5.0 * a2 + a4;
        o1[x] = (a3 + a4) - 4.0 * (a1 + a2);
        o2[x] = (a4 - a3) + 4.0 * (a1 - a2);
        o3[x] = (a4 - a2) + 2.0 * (a3 - a1);
        o4[x] = (a4 - a2) - 2.0 * (a3 - a1);
        o5[x] = 4.0 * a1 - 5.0 * a3 + a5;
    }
}

/// `out = B q` (6 -> 6), the transpose of [`input_1d`].
fn input_adjoint_1d(q: [&[f32]; 6], out: [&mut [f32]; 6]) {
    let c = out[0].len();
    let [o0, o1, o2, o3, o4, o5] = out.map(|o| &mut o[..c]);
    let [q0, q1, q2, q3, q4, q5] = q.map(|s| &s[..c]);
    for x in 0..c {
        let (a0, a1, a2, a3, a4, a5) = (q0[x], q1[x], q2[x], q3[x], q4[x], q5[x]);
        o0[x] = 4.0 * a0;
        o1[x] = 4.0 * (a2 - a1) + 2.0 * (a4 - a3) + 4.0 * a5;
        o2[x] = -5.0 * a0 - 4.0 * (a1 + a2) - (a3 + a4);
        o3[x] = (a1 - a2) + 2.0 * (a3 - a4) - 5.0 * a5;
        o4[x] = a0 + a1 + a2 + a3 + a4;
        o5[x] = a5;
    }
}

/// `out = A^T m` (6 -> 4).
fn output_1d(m: [&[f32]; 6], out: [&mut [f32]; 4]) {
    let c = out[0].len();
    let [o0, o1, o2, o3] = out.map(|o| &mut o[..c]);
    let [m0, m1, m2, m3, m4, m5] = m.map(|s| &s[..c]);
    for x in 0..c {
        let (a0, a1, a2, a3, a4, a5) = (m0[x], m1[x], m2[x], m3[x], m4[x], m5[x]);
        let (sum12, difference12) = (a1 + a2, a1 - a2);
        let (sum34, difference34) = (a3 + a4, a3 - a4);
        o0[x] = a0 + sum12 + sum34;
        o1[x] = difference12 + 2.0 * difference34;
        o2[x] = sum12 + 4.0 * sum34;
        o3[x] = difference12 + 8.0 * difference34 + a5;
    }
}

/// `out = A g` (4 -> 6), the transpose of [`output_1d`].
fn output_adjoint_1d(g: [&[f32]; 4], out: [&mut [f32]; 6]) {
    let c = out[0].len();
    let [o0, o1, o2, o3, o4, o5] = out.map(|o| &mut o[..c]);
    let [g0, g1, g2, g3] = g.map(|s| &s[..c]);
    for x in 0..c {
        let (a0, a1, a2, a3) = (g0[x], g1[x], g2[x], g3[x]);
        let (even, odd) = (a0 + a2, a1 + a3);
        let (even4, odd2) = (a0 + 4.0 * a2, 2.0 * a1 + 8.0 * a3);
        o0[x] = a0;
        o1[x] = even + odd;
        o2[x] = even - odd;
        o3[x] = even4 + odd2;
        o4[x] = even4 - odd2;
        o5[x] = a3;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Input transform `B^T` (6x6), for the points 0, 1, -1, 2, -2 and infinity.
    const BT: [[f32; 6]; 6] = [
        [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
        [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
        [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
        [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
        [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
        [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
    ];

    /// Output transform `A^T` (4x6).
    const AT: [[f32; 6]; 4] = [
        [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
        [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
        [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
    ];

    /// Applies a 1D transform to unit vectors and reads off its matrix (rows: outputs).
    fn matrix_of<const I: usize, const O: usize>(
        transform: fn([&[f32]; I], [&mut [f32]; O]),
    ) -> [[f32; I]; O] {
        let mut matrix = [[0f32; I]; O];
        for input in 0..I {
            let units: [Vec<f32>; I] =
                std::array::from_fn(|k| vec![if k == input { 1.0 } else { 0.0 }]);
            let mut outputs: [Vec<f32>; O] = std::array::from_fn(|_| vec![0.0]);
            let mut slots = outputs.iter_mut();
            transform(
                std::array::from_fn(|k| units[k].as_slice()),
                std::array::from_fn(|_| slots.next().unwrap().as_mut_slice()),
            );
            for (row, value) in matrix.iter_mut().zip(&outputs) {
                row[input] = value[0];
            }
        }
        matrix
    }

    fn transpose<const R: usize, const C: usize>(m: [[f32; C]; R]) -> [[f32; R]; C] {
        std::array::from_fn(|c| std::array::from_fn(|r| m[r][c]))
    }

    #[test]
    fn the_one_dimensional_transforms_are_the_published_matrices() {
        assert_eq!(matrix_of(input_1d), BT);
        assert_eq!(matrix_of(input_adjoint_1d), transpose(BT));
        assert_eq!(matrix_of(output_1d), AT);
        assert_eq!(matrix_of(output_adjoint_1d), transpose(AT));
    }

    fn random(count: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..count)
            .map(|_| (rng.uniform() as f32 - 0.5) * scale)
            .collect()
    }

    /// `conv(x) + bias` written directly (no ReLU), in f64.
    fn direct(x: &Activation, weight: &[f32], bias: &[f32], outputs: usize) -> Vec<f64> {
        let (h, w, inputs) = (x.height as isize, x.width as isize, x.channels);
        let mut out = vec![0f64; (h * w) as usize * outputs];
        for y in 0..h {
            for column in 0..w {
                for o in 0..outputs {
                    let mut sum = f64::from(bias[o]);
                    for i in 0..inputs {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (sy, sx) = (y + ky as isize - 1, column + kx as isize - 1);
                                if sy < 0 || sx < 0 || sy >= h || sx >= w {
                                    continue;
                                }
                                sum += f64::from(weight[((o * inputs + i) * 3 + ky) * 3 + kx])
                                    * f64::from(x.pixel(sy as usize, sx as usize)[i]);
                            }
                        }
                    }
                    out[((y * w + column) as usize) * outputs + o] = sum;
                }
            }
        }
        out
    }

    fn activation(height: usize, width: usize, channels: usize, seed: u64) -> Activation {
        Activation {
            values: random(height * width * channels, seed, 2.0),
            height,
            width,
            channels,
        }
    }

    #[test]
    fn forward_matches_a_direct_convolution_at_awkward_sizes() {
        // Sizes that are not multiples of 4, one band and several.
        for (height, width, inputs, outputs) in
            [(5, 7, 3, 4), (1, 1, 2, 2), (70, 9, 5, 6), (13, 200, 4, 3)]
        {
            let weight = random(outputs * inputs * 9, 1, 1.0);
            let bias = random(outputs, 2, 1.0);
            let x = activation(height, width, inputs, 3);
            let conv = Conv3x3::new(&weight, &bias, outputs, inputs);
            let y = conv.forward_relu(&x);
            let expected = direct(&x, &weight, &bias, outputs);
            for (got, want) in y.values.iter().zip(&expected) {
                assert!(
                    (f64::from(*got) - want.max(0.0)).abs() < 1e-4,
                    "{height}x{width}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn backward_is_the_adjoint_of_the_forward() {
        // <conv(x), g> = <x, backward(g)> for the linear part (bias 0, inputs that keep
        // every output positive would be needed for the ReLU, so compare without it:
        // a direct convolution stands in for the forward).
        for (height, width, inputs, outputs) in [(6, 5, 3, 4), (43, 11, 2, 5), (9, 130, 3, 2)] {
            let weight = random(outputs * inputs * 9, 4, 1.0);
            let x = activation(height, width, inputs, 5);
            let g = activation(height, width, outputs, 6);
            let conv = Conv3x3::new(&weight, &vec![0.0; outputs], outputs, inputs);
            let forward = direct(&x, &weight, &vec![0.0; outputs], outputs);
            let lhs: f64 = forward
                .iter()
                .zip(&g.values)
                .map(|(a, b)| a * f64::from(*b))
                .sum();
            let back = conv.backward(&g);
            assert_eq!(
                (back.height, back.width, back.channels),
                (height, width, inputs)
            );
            let rhs: f64 = back
                .values
                .iter()
                .zip(&x.values)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
                "{height}x{width}: {lhs} vs {rhs}"
            );
        }
    }
}
