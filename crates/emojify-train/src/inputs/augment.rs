//! Training-time augmentation of a batch's sentences: word dropout (words become padding),
//! neighbour swap (words become one of their nearest GloVe words) and negation ("not" put in,
//! the label changed), each seeded per batch; the epoch step applies them.

use std::collections::HashSet;

use emojify_data::{Embeddings, Encoded};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::config::RunConfig;

/// A token id's nearest words (ids), most similar first.
pub type Neighbours = std::collections::HashMap<u32, Vec<u32>>;

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
pub fn word_dropout(sentences: &[&Encoded], p: f64, seed: u64) -> Vec<Encoded> {
    replace_words(sentences, p, seed, |_, _| Some(0))
}

/// Neighbour swap: words become one of their nearest words, drawn uniformly.
pub fn neighbour_swap(
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

/// What `train.negate` needs, as token ids of the run's vocabulary: the words it inserts, where
/// it inserts them, and which label each label becomes.
#[derive(Debug, Clone)]
pub struct Negation {
    not: u32,
    auxiliary: u32,
    /// "not" goes after the first of these.
    copulas: HashSet<u32>,
    /// Else "do not" goes before the first of these.
    verbs: HashSet<u32>,
    /// The label each label becomes, where negating it means something.
    to: Vec<Option<usize>>,
}

const COPULAS: [&str; 8] = ["is", "am", "are", "was", "were", "be", "feel", "feeling"];
const VERBS: [&str; 4] = ["love", "like", "adore", "enjoy"];

impl Negation {
    /// From the config's `negation_labels` (checked against its labels) and the vocabulary.
    pub fn new(config: &RunConfig, embeddings: &Embeddings) -> anyhow::Result<Self> {
        let id = |w: &str| {
            embeddings
                .vocab
                .index(w)
                .ok_or_else(|| anyhow::anyhow!("train.negate: `{w}` is not in the embedding"))
        };
        let ids = |words: &[&str]| words.iter().map(|w| id(w)).collect::<anyhow::Result<_>>();
        let index = |label: &str| {
            config
                .data
                .labels
                .iter()
                .position(|l| l == label)
                .ok_or_else(|| anyhow::anyhow!("train.negation_labels: unknown label `{label}`"))
        };
        let mut to = vec![None; config.num_classes()];
        for [from, into] in &config.train.negation_labels {
            to[index(from)?] = Some(index(into)?);
        }
        Ok(Negation {
            not: id("not")?,
            auxiliary: id("do")?,
            copulas: ids(&COPULAS)?,
            verbs: ids(&VERBS)?,
            to,
        })
    }

    /// `e` negated, or `None` where it has nowhere to put "not" or already says "not".
    fn negated(&self, e: &Encoded) -> Option<Encoded> {
        let words = &e.ids[..e.length.min(e.ids.len())];
        if words.contains(&self.not) {
            return None;
        }
        let mut out: Vec<u32> = words.to_vec();
        if let Some(i) = words.iter().position(|w| self.copulas.contains(w)) {
            out.insert(i + 1, self.not);
        } else if let Some(i) = words.iter().position(|w| self.verbs.contains(w)) {
            out.splice(i..i, [self.auxiliary, self.not]);
        } else {
            return None;
        }
        // The padded width stays; words past it fall off the end.
        out.truncate(e.ids.len());
        let length = out.len();
        out.resize(e.ids.len(), 0);
        Some(Encoded {
            ids: out,
            length,
            ..e.clone()
        })
    }
}

/// Copies of `sentences` in which each sentence whose label negation maps is, with probability
/// `p`, negated; `labels` changes with them.
pub fn negate(
    sentences: &[&Encoded],
    labels: &mut [usize],
    negation: &Negation,
    p: f64,
    seed: u64,
) -> Vec<Encoded> {
    let mut rng = StdRng::seed_from_u64(seed);
    sentences
        .iter()
        .zip(labels.iter_mut())
        .map(|(e, label)| {
            let target = negation.to.get(*label).copied().flatten();
            match target {
                Some(to) if rng.random::<f64>() < p => match negation.negated(e) {
                    Some(negated) => {
                        *label = to;
                        negated
                    }
                    None => (*e).clone(),
                },
                _ => (*e).clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negation() -> Negation {
        // ids: 1 not, 2 do, 3 am, 4 love, 5 i, 6 happy, 7 you; labels 0 ❤️, 1 😊, 2 😞.
        Negation {
            not: 1,
            auxiliary: 2,
            copulas: [3].into(),
            verbs: [4].into(),
            to: vec![Some(2), Some(2), Some(1)],
        }
    }

    #[test]
    fn negation_puts_not_after_the_copula_or_do_not_before_the_verb_and_flips_the_label() {
        let neg = negation();
        let happy = sentence(&[5, 3, 6, 0]); // i am happy
        let love = sentence(&[5, 4, 7, 0]); // i love you
        let sad = sentence(&[5, 3, 1, 6]); // i am not happy: already negated
        let mut labels = [1, 0, 2];
        let out = negate(&[&happy, &love, &sad], &mut labels, &neg, 1.0 - 1e-12, 1);
        assert_eq!(out[0].ids, [5, 3, 1, 6], "i am not happy");
        assert_eq!(out[0].length, 4);
        assert_eq!(
            out[1].ids,
            [5, 2, 1, 4],
            "i do not love (you falls off the width)"
        );
        assert_eq!(out[1].length, 4);
        assert_eq!(out[2], sad, "a negated sentence is kept");
        assert_eq!(
            labels,
            [2, 2, 2],
            "😊 → 😞, ❤️ → 😞, the kept one unchanged"
        );
        let mut labels = [1, 0, 2];
        let kept = negate(&[&happy, &love, &sad], &mut labels, &neg, 0.0, 1);
        assert_eq!(
            (kept[0].clone(), labels),
            (happy.clone(), [1, 0, 2]),
            "p = 0: nothing"
        );
    }

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
