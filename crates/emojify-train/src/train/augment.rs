//! Training-time augmentation of a batch's sentences: word dropout (words become padding) and
//! neighbour swap (words become one of their nearest GloVe words), each seeded per batch.

use emojify_data::Encoded;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::splits::Neighbours;

/// Copies of `sentences` in which each word (not padding) is, with probability `p`, replaced by
/// what `replace` returns for it (kept when it returns `None`). Lengths stay as they were.
fn replace_words(
    sentences: &[&Encoded],
    p: f64,
    seed: u64,
    replace: impl Fn(u32, &mut StdRng) -> Option<u32>,
) -> Vec<Encoded> {
    let mut rng = StdRng::seed_from_u64(seed);
    sentences
        .iter()
        .map(|e| {
            let mut e = (*e).clone();
            for id in e.ids.iter_mut().filter(|id| **id != 0) {
                if rng.random::<f64>() < p
                    && let Some(new) = replace(*id, &mut rng)
                {
                    *id = new;
                }
            }
            e
        })
        .collect()
}

/// Word dropout: words become padding (0), which sits where the words were.
pub(super) fn word_dropout(sentences: &[&Encoded], p: f64, seed: u64) -> Vec<Encoded> {
    replace_words(sentences, p, seed, |_, _| Some(0))
}

/// Neighbour swap: words become one of their nearest words, drawn uniformly.
pub(super) fn neighbour_swap(
    sentences: &[&Encoded],
    near: &Neighbours,
    p: f64,
    seed: u64,
) -> Vec<Encoded> {
    replace_words(sentences, p, seed, |id, rng| {
        let options = near.get(&id).filter(|o| !o.is_empty())?;
        Some(options[rng.random_range(0..options.len())])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(ids: &[u32]) -> Encoded {
        Encoded {
            ids: ids.to_vec(),
            length: ids.iter().filter(|&&i| i != 0).count(),
            ..Encoded::default()
        }
    }

    #[test]
    fn neighbour_swap_replaces_words_by_their_neighbours_only_and_is_seeded() {
        let a = sentence(&[1, 2, 0, 0]);
        let refs = [&a];
        let near: Neighbours = [(1, vec![10, 11]), (2, vec![20])].into();
        let once = neighbour_swap(&refs, &near, 0.5, 7);
        assert_eq!(
            once,
            neighbour_swap(&refs, &near, 0.5, 7),
            "same seed, same swap"
        );
        let all = neighbour_swap(&refs, &near, 1.0 - 1e-12, 3);
        assert!([10, 11].contains(&all[0].ids[0]), "{:?}", all[0].ids);
        assert_eq!(&all[0].ids[1..], &[20, 0, 0], "padding stays");
        assert_eq!(neighbour_swap(&refs, &near, 0.0, 3), vec![a.clone()]);
        // A word without neighbours is kept.
        let lonely = sentence(&[5]);
        assert_eq!(
            neighbour_swap(&[&lonely], &near, 1.0 - 1e-12, 3),
            vec![lonely.clone()]
        );
    }

    #[test]
    fn word_dropout_pads_words_only_and_is_seeded() {
        let a = sentence(&[5, 9, 7, 3, 0, 0]);
        let b = sentence(&[2, 4, 0, 0, 0, 0]);
        let refs = [&a, &b];
        let once = word_dropout(&refs, 0.5, 7);
        assert_eq!(
            once,
            word_dropout(&refs, 0.5, 7),
            "same seed, same tokens dropped"
        );
        for (kept, orig) in once.iter().zip(refs) {
            assert_eq!(kept.length, orig.length, "lengths stay");
            for (k, o) in kept.ids.iter().zip(&orig.ids) {
                assert!(*k == *o || *k == 0, "a word is kept or becomes padding");
            }
        }
        assert_eq!(word_dropout(&refs, 0.0, 7), vec![a.clone(), b.clone()]);
        // Over many sentences about p of the words go.
        let many: Vec<Encoded> = (0..2_000).map(|_| sentence(&[1, 2, 3, 4, 5])).collect();
        let many_refs: Vec<&Encoded> = many.iter().collect();
        let dropped = word_dropout(&many_refs, 0.2, 3)
            .iter()
            .flat_map(|e| e.ids.iter())
            .filter(|&&i| i == 0)
            .count();
        let share = dropped as f64 / 10_000.0;
        assert!((0.18..0.22).contains(&share), "{share}");
    }
}
