//! The one call into the `gemm` crate's kernel (the one candle uses), shared by every fused
//! op that multiplies matrices on the CPU: operands are slices with row and column strides,
//! so transposes cost nothing, and the product can start from what the destination holds
//! (a broadcast bias, a gradient being accumulated).

/// A matrix read from a slice: element `(i, j)` is `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) row_stride: usize,
    pub(crate) col_stride: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix whose rows are `row_stride` apart.
    pub(crate) fn rows(data: &'a [f32], row_stride: usize) -> Self {
        Self {
            data,
            row_stride,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix with `stored_cols` columns.
    pub(crate) fn transposed(data: &'a [f32], stored_cols: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: stored_cols,
        }
    }

    /// Whether element `(rows − 1, cols − 1)` lies inside the slice.
    fn covers(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.data.len()
    }
}

/// The kernel's threading for a product of `macs` multiply-adds: below
/// [`super::PARALLEL_MACS`] it runs on the calling thread.
pub(crate) fn parallelism_for(macs: usize) -> gemm::Parallelism {
    let threads = candle_core::utils::get_num_threads();
    if threads > 1 && macs >= super::PARALLEL_MACS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// `dst [m, n] = (accumulate ? dst : 0) + lhs [m, k] · rhs [k, n]`, `dst` row-major with
/// rows `dst_row_stride` apart. Panics if an operand's slice is too short for its shape.
pub(crate) fn matmul_into(
    (m, n, k): (usize, usize, usize),
    (dst, dst_row_stride): (&mut [f32], usize),
    accumulate: bool,
    lhs: Strided<'_>,
    rhs: Strided<'_>,
    parallelism: gemm::Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * dst_row_stride + n - 1 < dst.len(),
        "matmul: destination too small"
    );
    assert!(lhs.covers(m, k), "matmul: lhs too small for [{m}, {k}]");
    assert!(rhs.covers(k, n), "matmul: rhs too small for [{k}, {n}]");
    // SAFETY: the asserts keep every element the strides address inside the three slices;
    // `dst` is borrowed mutably, so it aliases neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
