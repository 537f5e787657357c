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
