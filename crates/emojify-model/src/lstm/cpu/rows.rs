//! Row groups: the batch split into one contiguous group of rows per thread, and the
//! time-major buffers those threads write together, each only its own rows.

use std::ops::Range;

use super::Dims;

/// Contiguous groups of batch rows, one per thread, at least 8 rows each.
pub(super) fn row_groups(batch: usize) -> Vec<Range<usize>> {
    let n = rayon::current_num_threads().min(batch / 8).max(1);
    (0..n).map(|k| k * batch / n..(k + 1) * batch / n).collect()
}

/// A time-major `[T, B, width]` buffer that the row groups' threads write together, each only
/// its own rows of each step.
pub(super) struct Shared {
    ptr: *mut f32,
    len: usize,
    batch: usize,
    width: usize,
}

// SAFETY: `Shared` hands out only the slices `rows` asks for; callers keep them disjoint.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    pub(super) fn new(buf: &mut [f32], batch: usize, width: usize) -> Self {
        Shared {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            batch,
            width,
        }
    }

    /// Rows `rows` of step `t`.
    ///
    /// # Safety
    /// No two slices alive at once may overlap (distinct steps or disjoint rows), and the buffer
    /// `new` was given must outlive them.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn rows(&self, t: usize, rows: &Range<usize>) -> &mut [f32] {
        let start = (t * self.batch + rows.start) * self.width;
        let len = rows.len() * self.width;
        assert!(
            start + len <= self.len,
            "rows {rows:?} of step {t} out of bounds"
        );
        // SAFETY: in bounds (checked above); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

/// Rows `rows` of step `t` of a read-only time-major `[T, B, width]` array.
pub(super) fn rows_of<'a>(
    all: &'a [f32],
    d: Dims,
    width: usize,
    t: usize,
    rows: &Range<usize>,
) -> &'a [f32] {
    let base = t * d.batch * width;
    &all[base + rows.start * width..base + rows.end * width]
}
