//! Padded id batches and the epoch's example order.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// One example as the model sees it: vocabulary indices padded with 0 to `max_len` (token
/// input), or `max_len` numbers (numeric-sequence input, `ids` empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    /// One number per step, for numeric sequences; empty for token input.
    pub values: Vec<f32>,
    /// Tokens kept (non-padding positions).
    pub length: usize,
    /// Tokens the vocabulary did not know.
    pub oov: usize,
    /// Tokens dropped because the sentence exceeded `max_len`.
    pub truncated: usize,
}

/// A mini-batch in row-major `[batch, max_len]` layout, ready to become tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub ids: Vec<i64>,
    pub lengths: Vec<usize>,
    pub labels: Vec<i64>,
    pub batch_size: usize,
    pub max_len: usize,
}

impl Batch {
    /// Gathers the examples at `indices` (all encoded with the same `max_len`).
    pub fn gather(encoded: &[Encoded], labels: &[usize], indices: &[usize]) -> Batch {
        let max_len = indices.first().map_or(0, |&i| encoded[i].ids.len());
        let mut ids = Vec::with_capacity(indices.len() * max_len);
        for &i in indices {
            ids.extend(encoded[i].ids.iter().map(|&id| id as i64));
        }
        Batch {
            ids,
            lengths: indices.iter().map(|&i| encoded[i].length).collect(),
            labels: indices.iter().map(|&i| labels[i] as i64).collect(),
            batch_size: indices.len(),
            max_len,
        }
    }
}

/// Splits `0..n` into batches of at most `batch_size`, shuffled by `seed` when given. The same
/// seed always gives the same order.
pub fn batch_order(n: usize, batch_size: usize, seed: Option<u64>) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    if let Some(seed) = seed {
        order.shuffle(&mut StdRng::seed_from_u64(seed));
    }
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_example_once_and_are_seeded() {
        let a = batch_order(10, 3, Some(7));
        let b = batch_order(10, 3, Some(7));
        assert_eq!(a, b);
        assert_eq!(a.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);
        let mut all: Vec<usize> = a.concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_ne!(batch_order(10, 10, Some(7)), batch_order(10, 10, Some(8)));
        assert_eq!(batch_order(4, 2, None), vec![vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn gather_lays_out_row_major() {
        let enc = vec![
            Encoded {
                ids: vec![1, 2, 0],
                length: 2,
                oov: 0,
                truncated: 0,
                ..Encoded::default()
            },
            Encoded {
                ids: vec![3, 0, 0],
                length: 1,
                oov: 0,
                truncated: 0,
                ..Encoded::default()
            },
        ];
        let b = Batch::gather(&enc, &[4, 1], &[1, 0]);
        assert_eq!(b.ids, [3, 0, 0, 1, 2, 0]);
        assert_eq!(b.lengths, [1, 2]);
        assert_eq!(b.labels, [1, 4]);
        assert_eq!((b.batch_size, b.max_len), (2, 3));
    }
}
