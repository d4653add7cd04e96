//! Word ↔ index mapping: words sorted, indices 1-based, 0 reserved for padding (as the course).

use serde::{Deserialize, Serialize};

use crate::batch::Encoded;

/// What happens to a token the vocabulary does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OovPolicy {
    /// Drop it (counted).
    #[default]
    Skip,
    /// Map it to the "unknown" index `len() + 1`, whose vector is all zeros.
    Unk,
    /// Map it to the vocabulary's own `OOV` word (pre-tokenised data that marks rare words so).
    OovToken,
}

/// The word pre-tokenised data sets use for rare words.
pub const OOV_TOKEN: &str = "OOV";

/// A sorted vocabulary with 1-based indices. Lookups are binary searches over the sorted words:
/// no hash map to build, which keeps loading 400k words from the cache fast.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    words: Vec<String>,
}

impl Vocabulary {
    /// Builds from words in any order; they are sorted by code point (Python's `sorted`).
    /// Returns the words' original positions in sorted order, so callers can permute data rows.
    pub fn from_unsorted(words: Vec<String>) -> (Self, Vec<usize>) {
        let mut order: Vec<usize> = (0..words.len()).collect();
        order.sort_by(|&a, &b| words[a].cmp(&words[b]));
        let mut slots: Vec<Option<String>> = words.into_iter().map(Some).collect();
        let sorted: Vec<String> = order
            .iter()
            .map(|&i| slots[i].take().unwrap_or_default())
            .collect();
        (Self::from_sorted(sorted), order)
    }

    /// Builds from words already sorted (as the binary cache stores them); sorts them if not.
    pub fn from_sorted(mut words: Vec<String>) -> Self {
        if !words.is_sorted() {
            words.sort();
        }
        Vocabulary { words }
    }

    /// Number of words (the padding index is not a word).
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The index reserved for unknown words under [`OovPolicy::Unk`].
    pub fn unk_index(&self) -> u32 {
        self.words.len() as u32 + 1
    }

    /// 1-based index of `word`, if known.
    pub fn index(&self, word: &str) -> Option<u32> {
        self.words
            .binary_search_by(|w| w.as_str().cmp(word))
            .ok()
            .map(|i| i as u32 + 1)
    }

    /// The word at 1-based `index`.
    pub fn word(&self, index: u32) -> Option<&str> {
        let i = (index as usize).checked_sub(1)?;
        self.words.get(i).map(String::as_str)
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Maps tokens to indices, applies the OOV policy, truncates to `max_len` and pads with 0.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S], max_len: usize, oov: OovPolicy) -> Encoded {
        let mut ids = Vec::with_capacity(max_len);
        let mut oov_count = 0;
        let mut truncated = 0;
        for token in tokens {
            let id = match (self.index(token.as_ref()), oov) {
                (Some(id), _) => id,
                (None, OovPolicy::Skip) => {
                    oov_count += 1;
                    continue;
                }
                (None, OovPolicy::Unk) => {
                    oov_count += 1;
                    self.unk_index()
                }
                (None, OovPolicy::OovToken) => {
                    oov_count += 1;
                    // Vocabularies built for this policy always hold the token; without it the
                    // word is dropped (counted) rather than pointed past the matrix.
                    match self.index(OOV_TOKEN) {
                        Some(id) => id,
                        None => continue,
                    }
                }
            };
            if ids.len() < max_len {
                ids.push(id);
            } else {
                truncated += 1;
            }
        }
        let length = ids.len();
        ids.resize(max_len, 0);
        Encoded {
            ids,
            length,
            oov: oov_count,
            truncated,
            values: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        let words = ["zebra", "apple", "!", "mango"].map(String::from).to_vec();
        Vocabulary::from_unsorted(words).0
    }

    #[test]
    fn sorted_one_based_indices() {
        let v = vocab();
        assert_eq!(v.index("!"), Some(1));
        assert_eq!(v.index("apple"), Some(2));
        assert_eq!(v.word(4), Some("zebra"));
        assert_eq!(v.word(0), None);
        assert_eq!(v.word(5), None);
    }

    #[test]
    fn encode_pads_truncates_and_counts_oov() {
        let v = vocab();
        let e = v.encode(&["apple", "kiwi", "mango"], 4, OovPolicy::Skip);
        assert_eq!(
            (e.ids.as_slice(), e.length, e.oov, e.truncated),
            (&[2, 3, 0, 0][..], 2, 1, 0)
        );
        let e = v.encode(&["apple", "kiwi", "mango"], 2, OovPolicy::Unk);
        assert_eq!(
            (e.ids.as_slice(), e.length, e.oov, e.truncated),
            (&[2, 5][..], 2, 1, 1)
        );
        let e = v.encode::<&str>(&[], 3, OovPolicy::Skip);
        assert_eq!((e.ids.as_slice(), e.length), (&[0, 0, 0][..], 0));
    }
}
