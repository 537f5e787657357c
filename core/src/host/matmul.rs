//! Safe matrix products on the `gemm` crate's kernels (the ones burn's flex backend uses).

/// A strided view of a matrix: element `(row, column)` is at
/// `values[row * row_stride + column * column_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct MatrixRef<'a> {
    pub values: &'a [f32],
    pub rows: usize,
    pub columns: usize,
    pub row_stride: usize,
    pub column_stride: usize,
}

impl<'a> MatrixRef<'a> {
    /// A row-major `rows x columns` matrix.
    pub fn rows(values: &'a [f32], rows: usize, columns: usize) -> Self {
        MatrixRef {
            values,
            rows,
            columns,
            row_stride: columns,
            column_stride: 1,
        }
    }

    /// The transpose of a row-major `rows x columns` matrix (so `columns x rows`).
    pub fn transposed(values: &'a [f32], rows: usize, columns: usize) -> Self {
        MatrixRef {
            values,
            rows: columns,
            columns: rows,
            row_stride: 1,
            column_stride: columns,
        }
    }

    /// The same values read as the transpose.
    pub fn transpose(self) -> Self {
        MatrixRef {
            rows: self.columns,
            columns: self.rows,
            row_stride: self.column_stride,
            column_stride: self.row_stride,
            ..self
        }
    }

    /// Whether every element lies inside `values`.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.columns == 0
            || (self.rows - 1) * self.row_stride + (self.columns - 1) * self.column_stride
                < self.values.len()
    }
}

/// `out = scale * lhs * rhs`, or `out += scale * lhs * rhs` when `accumulate`; `out` is
/// row-major `lhs.rows x rhs.columns`. Runs on the calling thread: callers split work
/// themselves, so that results do not depend on the number of threads.
///
/// Panics if the shapes disagree or a view reaches outside its slice (a bug, not input).
pub(crate) fn multiply(
    lhs: MatrixRef<'_>,
    rhs: MatrixRef<'_>,
    scale: f32,
    accumulate: bool,
    out: &mut [f32],
) {
    let (m, k, n) = (lhs.rows, lhs.columns, rhs.columns);
    assert!(
        rhs.rows == k,
        "inner dimensions differ: {k} and {}",
        rhs.rows
    );
    assert!(
        lhs.fits() && rhs.fits(),
        "a matrix view reaches outside its values"
    );
    assert!(
        out.len() == m * n,
        "the output holds {} values, not {m} x {n}",
        out.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return;
    }
    if m <= FEW_ROWS && few_rows(lhs, rhs, scale, accumulate, out) {
        return;
    }
    // SAFETY: the assertions above keep every element gemm reads (lhs and rhs, through
    // their strides) and writes (out, row-major m x n) inside the three slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.column_stride as isize,
            lhs.row_stride as isize,
            rhs.values.as_ptr(),
            rhs.column_stride as isize,
            rhs.row_stride as isize,
            1.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Up to this many rows, [`multiply`] uses plain loops that read `rhs` once: gemm packs
/// `rhs` on every call, which for a few rows costs more than the product (a 4x3 image's
/// Winograd bands have one block: each of their 36 products read a 512x512 kernel twice).
const FEW_ROWS: usize = 8;
/// Columns per block in [`few_rows`]: 8 rows of them fill 8 KiB.
const COLUMN_BLOCK: usize = 256;

/// [`multiply`] for a few rows, when `lhs` rows and `rhs` rows or columns are
/// contiguous; `false` (nothing written) otherwise.
fn few_rows(
    lhs: MatrixRef<'_>,
    rhs: MatrixRef<'_>,
    scale: f32,
    accumulate: bool,
    out: &mut [f32],
) -> bool {
    let (k, n) = (lhs.columns, rhs.columns);
    if lhs.column_stride != 1 {
        return false;
    }
    let lhs_row = |r: usize| &lhs.values[r * lhs.row_stride..][..k];
    if rhs.column_stride == 1 {
        // Each rhs row once, added into every output row; by blocks of columns, so that
        // the rows' block stays in cache however long the rows are.
        if !accumulate {
            out.fill(0.0);
        }
        for start in (0..n).step_by(COLUMN_BLOCK) {
            let columns = start..(start + COLUMN_BLOCK).min(n);
            for kk in 0..k {
                let rhs_row = &rhs.values[kk * rhs.row_stride..][columns.clone()];
                for (r, out_row) in out.chunks_exact_mut(n).enumerate() {
                    let a = scale * lhs_row(r)[kk];
                    out_row[columns.clone()]
                        .iter_mut()
                        .zip(rhs_row)
                        .for_each(|(o, b)| *o += a * b);
                }
            }
        }
        true
    } else if rhs.row_stride == 1 {
        // Each rhs column once, a dot product with every lhs row.
        for j in 0..n {
            let column = &rhs.values[j * rhs.column_stride..][..k];
            for (r, out_row) in out.chunks_exact_mut(n).enumerate() {
                let value = scale * dot(lhs_row(r), column);
                out_row[j] = if accumulate {
                    out_row[j] + value
                } else {
                    value
                };
            }
        }
        true
    } else {
        false
    }
}

/// A dot product in eight independent lanes, so that it runs on vector instructions.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut lanes = [0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let rest: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum::<f32>() + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplies_plain_and_transposed_views_and_accumulates() {
        // lhs 2x3, rhs 3x2.
        let lhs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let rhs = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut out = vec![0.0; 4];
        multiply(
            MatrixRef::rows(&lhs, 2, 3),
            MatrixRef::rows(&rhs, 3, 2),
            1.0,
            false,
            &mut out,
        );
        assert_eq!(out, vec![58.0, 64.0, 139.0, 154.0]);
        // rhs given as its transpose (2x3 row-major), scaled and added.
        let rhs_t = [7.0, 9.0, 11.0, 8.0, 10.0, 12.0];
        multiply(
            MatrixRef::rows(&lhs, 2, 3),
            MatrixRef::transposed(&rhs_t, 2, 3),
            0.5,
            true,
            &mut out,
        );
        assert_eq!(out, vec![87.0, 96.0, 208.5, 231.0]);
    }

    /// `lhs * rhs` written out, in f64.
    fn plain(lhs: MatrixRef<'_>, rhs: MatrixRef<'_>) -> Vec<f64> {
        let at = |m: &MatrixRef<'_>, r: usize, c: usize| {
            f64::from(m.values[r * m.row_stride + c * m.column_stride])
        };
        let mut out = Vec::new();
        for r in 0..lhs.rows {
            for c in 0..rhs.columns {
                out.push(
                    (0..lhs.columns)
                        .map(|k| at(&lhs, r, k) * at(&rhs, k, c))
                        .sum(),
                );
            }
        }
        out
    }

    #[test]
    fn few_and_many_rows_give_the_same_products_in_every_layout() {
        let values: Vec<f32> = (0..(COLUMN_BLOCK + 40) * 37)
            .map(|i| ((i * 7919) % 23) as f32 - 11.0)
            .collect();
        let (k, n) = (37, COLUMN_BLOCK + 19);
        for m in [1, 3, FEW_ROWS, FEW_ROWS + 1, 20] {
            let lhs = MatrixRef::rows(&values, m, k);
            for rhs in [
                MatrixRef::rows(&values, k, n),
                MatrixRef::transposed(&values, n, k),
            ] {
                let expected = plain(lhs, rhs);
                let mut out = vec![1.0; m * n];
                multiply(lhs, rhs, 0.5, true, &mut out);
                for (got, want) in out.iter().zip(&expected) {
                    assert_eq!(f64::from(*got), 1.0 + 0.5 * want, "{m} rows");
                }
                multiply(lhs, rhs, 2.0, false, &mut out);
                for (got, want) in out.iter().zip(&expected) {
                    assert_eq!(f64::from(*got), 2.0 * want, "{m} rows");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn refuses_views_outside_their_values() {
        let values = [1.0; 5];
        let mut out = vec![0.0; 4];
        multiply(
            MatrixRef::rows(&values, 2, 3),
            MatrixRef::rows(&values, 3, 2),
            1.0,
            false,
            &mut out,
        );
    }
}
