//! The one GEMM the kernels call: `gemm`'s kernel with row-major or transposed operands read
//! through strides (no transposed copies).

/// A GEMM operand: a row-major array read as it is, or transposed through strides.
#[derive(Clone, Copy)]
pub(super) enum Mat<'a> {
    AsIs(&'a [f32]),
    Transposed(&'a [f32]),
}

impl<'a> Mat<'a> {
    /// The values, and the (column, row) strides that read them as a `[rows, cols]` matrix.
    fn strided(self, rows: usize, cols: usize) -> (&'a [f32], isize, isize) {
        match self {
            Mat::AsIs(v) => (v, 1, cols as isize),
            Mat::Transposed(v) => (v, rows as isize, 1),
        }
    }
}

/// `dst [m, n] = lhs [m, k] · rhs [k, n]`, `dst` row-major (overwritten, never read).
pub(super) fn matmul(
    dst: &mut [f32],
    (m, k, n): (usize, usize, usize),
    lhs: Mat<'_>,
    rhs: Mat<'_>,
    threads: bool,
) {
    let (lhs, lhs_cs, lhs_rs) = lhs.strided(m, k);
    let (rhs, rhs_cs, rhs_rs) = rhs.strided(k, n);
    assert_eq!(dst.len(), m * n, "dst is [m, n]");
    assert_eq!(lhs.len(), m * k, "lhs holds m · k values");
    assert_eq!(rhs.len(), k * n, "rhs holds k · n values");
    // SAFETY: each operand holds exactly rows · cols values and its strides are those of a
    // dense row-major array or of its transpose, so every index they reach is in bounds.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism(m, n, k, threads),
        );
    }
}

/// Threads only pay off for large products (flex uses the same bound).
fn parallelism(m: usize, n: usize, k: usize, threads: bool) -> gemm::Parallelism {
    if threads && m.saturating_mul(n).saturating_mul(k) >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}
