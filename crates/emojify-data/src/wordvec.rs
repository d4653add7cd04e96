//! What word vectors encode, and removing a bias direction from them: cosine similarity, nearest
//! words, analogies, and Bolukbasi et al.'s (2016) neutralize and equalize. (Past 500 lines only
//! with its unit tests.)
//!
//! Arithmetic is in f64 over the f32 matrix. Queries against the whole vocabulary are one pass
//! over the matrix computing every row's dot product with all query vectors at once (a
//! `rows × dim` by `dim × q` product), so a query costs one read of the 80 MB matrix.

use std::collections::HashSet;
use std::path::Path;

use crate::{DataError, Embeddings};

/// Word vectors with their squared norms, ready for vocabulary-wide queries.
pub struct WordVectors {
    emb: Embeddings,
    sq_norms: Vec<f64>,
}

/// A word and its score (a cosine similarity).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scored {
    pub word: String,
    pub score: f64,
}

/// A bias direction `e_a − e_b`, named `a-b` on the command line.
#[derive(Debug, Clone)]
pub struct Axis {
    pub positive: String,
    pub negative: String,
    pub g: Vec<f64>,
}

impl WordVectors {
    pub fn new(emb: Embeddings) -> Self {
        let sq_norms = emb
            .matrix()
            .chunks_exact(emb.dim)
            .map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum())
            .collect();
        WordVectors { emb, sq_norms }
    }

    pub fn embeddings(&self) -> &Embeddings {
        &self.emb
    }

    pub fn into_embeddings(self) -> Embeddings {
        self.emb
    }

    /// The 1-based index of `word`, or an error naming it and the closest spellings.
    pub fn index(&self, word: &str) -> Result<u32, DataError> {
        self.emb
            .vocab
            .index(word)
            .ok_or_else(|| DataError::UnknownWord {
                word: word.to_string(),
                suggestions: self.suggestions(word, 3),
            })
    }

    /// The vector of `word` in f64.
    pub fn vector(&self, word: &str) -> Result<Vec<f64>, DataError> {
        Ok(self.row(self.index(word)?))
    }

    fn row(&self, index: u32) -> Vec<f64> {
        let d = self.emb.dim;
        let i = index as usize;
        self.emb.matrix()[i * d..(i + 1) * d]
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    }

    /// Cosine similarity of two words.
    pub fn similarity(&self, a: &str, b: &str) -> Result<f64, DataError> {
        Ok(cosine(&self.vector(a)?, &self.vector(b)?))
    }

    /// The `k` words most similar to `word` (itself excluded).
    pub fn nearest(&self, word: &str, k: usize) -> Result<Vec<Scored>, DataError> {
        let i = self.index(word)?;
        let q = self.row(i);
        let q_norm = norm(&q);
        let scores = self.scan(&[&q], |row, dots| {
            cosine_from(dots[0], q_norm, self.sq_norms[row].sqrt())
        });
        Ok(self.top_k(scores, k, &[i]))
    }

    /// A is to B as C is to ?: the words `w` maximising cos(e_b − e_a, e_w − e_c), as the
    /// course's `complete_analogy`, the three inputs excluded.
    pub fn analogy(&self, a: &str, b: &str, c: &str, k: usize) -> Result<Vec<Scored>, DataError> {
        let (ia, ib, ic) = (self.index(a)?, self.index(b)?, self.index(c)?);
        let (ea, eb, ec) = (self.row(ia), self.row(ib), self.row(ic));
        let d: Vec<f64> = eb.iter().zip(&ea).map(|(b, a)| b - a).collect();
        let (d_norm, d_dot_c, c_sq) = (norm(&d), dot(&d, &ec), dot(&ec, &ec));
        let scores = self.scan(&[&d, &ec], |row, dots| {
            // ‖e_w − e_c‖² = ‖e_w‖² − 2 e_w·e_c + ‖e_c‖², so two dot products per row suffice.
            let diff_sq = (self.sq_norms[row] - 2.0 * dots[1] + c_sq).max(0.0);
            cosine_from(dots[0] - d_dot_c, d_norm, diff_sq.sqrt())
        });
        Ok(self.top_k(scores, k, &[ia, ib, ic]))
    }

    /// Parses `a-b` into the axis `e_a − e_b`, trying every `-` so hyphenated words work.
    pub fn axis(&self, spec: &str) -> Result<Axis, DataError> {
        for (at, _) in spec.match_indices('-') {
            let (a, b) = (&spec[..at], &spec[at + 1..]);
            if let (Some(ia), Some(ib)) = (self.emb.vocab.index(a), self.emb.vocab.index(b)) {
                let (ea, eb) = (self.row(ia), self.row(ib));
                return Ok(Axis {
                    positive: a.to_string(),
                    negative: b.to_string(),
                    g: ea.iter().zip(&eb).map(|(x, y)| x - y).collect(),
                });
            }
        }
        Err(DataError::BadAxis(spec.to_string()))
    }

    /// Calls `score(row, dots)` for every row but padding, where `dots[j]` is the row's dot
    /// product with `queries[j]`; rows scoring NaN (zero vectors) are left out.
    fn scan(&self, queries: &[&[f64]], score: impl Fn(usize, &[f64]) -> f64) -> Vec<(u32, f64)> {
        let d = self.emb.dim;
        let mut dots = vec![0.0; queries.len()];
        let mut out = Vec::with_capacity(self.emb.rows());
        for (row, r) in self.emb.matrix().chunks_exact(d).enumerate().skip(1) {
            for (acc, q) in dots.iter_mut().zip(queries) {
                *acc = r.iter().zip(q.iter()).map(|(&x, y)| f64::from(x) * y).sum();
            }
            let s = score(row, &dots);
            if !s.is_nan() {
                out.push((row as u32, s));
            }
        }
        out
    }

    fn top_k(&self, scores: Vec<(u32, f64)>, k: usize, exclude: &[u32]) -> Vec<Scored> {
        best_k(scores, k, exclude)
            .into_iter()
            .map(|(i, score)| Scored {
                word: self.emb.vocab.word(i).unwrap_or_default().to_string(),
                score,
            })
            .collect()
    }

    /// Up to `n` vocabulary words within edit distance 2 of `word`, closest first.
    fn suggestions(&self, word: &str, n: usize) -> Vec<String> {
        let len = word.chars().count();
        let mut close: Vec<(usize, &String)> = self
            .emb
            .vocab
            .words()
            .iter()
            .filter(|w| w.chars().count().abs_diff(len) <= 2)
            .filter_map(|w| {
                let d = edit_distance(word, w);
                (d <= 2).then_some((d, w))
            })
            .collect();
        close.sort();
        close.into_iter().take(n).map(|(_, w)| w.clone()).collect()
    }

    /// A debiased copy (nothing is written). Every word outside `definitional` and the
    /// `pairs` is neutralized; each pair is then equalized. The copy's identity (source and
    /// SHA-256) names the operation and hashes the new matrix, so runs trained on it are
    /// told apart from runs trained on the original.
    pub fn debias(
        &self,
        axis: &Axis,
        definitional: &HashSet<u32>,
        pairs: &[(u32, u32)],
    ) -> Embeddings {
        let d = self.emb.dim;
        let mut data = self.emb.matrix().to_vec();
        let keep: HashSet<u32> = definitional
            .iter()
            .copied()
            .chain(pairs.iter().flat_map(|&(a, b)| [a, b]))
            .collect();
        for (row, r) in data.chunks_exact_mut(d).enumerate().skip(1) {
            if keep.contains(&(row as u32)) {
                continue;
            }
            let e: Vec<f64> = r.iter().map(|&v| f64::from(v)).collect();
            for (dst, v) in r.iter_mut().zip(neutralize(&e, &axis.g)) {
                *dst = v as f32;
            }
        }
        for &(a, b) in pairs {
            let (ea, eb) = equalize(&self.row(a), &self.row(b), &axis.g);
            for (i, e) in [(a, ea), (b, eb)] {
                let i = i as usize;
                for (dst, v) in data[i * d..(i + 1) * d].iter_mut().zip(e) {
                    *dst = v as f32;
                }
            }
        }
        let sha256 = crate::hash::sha256_hex(bytemuck::cast_slice::<f32, u8>(&data));
        let source = format!(
            "{} debiased on {}-{} ({} definitional words kept, {} pairs equalized)",
            self.emb.source,
            axis.positive,
            axis.negative,
            definitional.len(),
            pairs.len()
        );
        self.emb.with_matrix(data, source, sha256)
    }

    /// Reads a word list (words separated by whitespace or `,`; `#` starts a comment).
    /// Unknown words are returned as `file:line: word` so the caller can report them.
    pub fn read_word_list(&self, path: &Path) -> Result<(HashSet<u32>, Vec<String>), DataError> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        Ok(self.parse_word_list(&text, &path.display().to_string()))
    }

    /// [`Self::read_word_list`] over text already in memory; `origin` names it in reports.
    pub fn parse_word_list(&self, text: &str, origin: &str) -> (HashSet<u32>, Vec<String>) {
        let mut known = HashSet::new();
        let mut unknown = Vec::new();
        for (n, line) in text.lines().enumerate() {
            for word in content(line).split(|c: char| c.is_whitespace() || c == ',') {
                if word.is_empty() {
                    continue;
                }
                match self.emb.vocab.index(&word.to_lowercase()) {
                    Some(i) => {
                        known.insert(i);
                    }
                    None => unknown.push(format!("{origin}:{}: {word}", n + 1)),
                }
            }
        }
        (known, unknown)
    }

    /// Reads equalize pairs, two words per line separated by whitespace, `,` or `:`; a line
    /// with another shape or an unknown word is an error naming the file and line.
    pub fn read_pairs(&self, path: &Path) -> Result<Vec<(u32, u32)>, DataError> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let mut pairs = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let bad = |reason: String| DataError::BadRow {
                file: path.to_path_buf(),
                line: n as u64 + 1,
                reason,
            };
            let words: Vec<String> = content(line)
                .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            match words.as_slice() {
                [] => {}
                [a, b] => {
                    let ia = self.index(a).map_err(|e| bad(e.to_string()))?;
                    let ib = self.index(b).map_err(|e| bad(e.to_string()))?;
                    if ia == ib {
                        return Err(bad(format!("`{a}` is paired with itself")));
                    }
                    pairs.push((ia, ib));
                }
                _ => {
                    return Err(bad(format!(
                        "expected two words (e.g. `actor actress`), found {}",
                        words.len()
                    )));
                }
            }
        }
        Ok(pairs)
    }

    /// Parses `a:b` (or `a,b`) into a pair of indices.
    pub fn pair(&self, spec: &str) -> Result<(u32, u32), DataError> {
        let parts: Vec<&str> = spec.split([':', ',']).collect();
        match parts.as_slice() {
            [a, b] if !a.is_empty() && !b.is_empty() => Ok((self.index(a)?, self.index(b)?)),
            _ => Err(DataError::BadPair(spec.to_string())),
        }
    }

    /// The word at a 1-based index.
    pub fn word(&self, index: u32) -> &str {
        self.emb.vocab.word(index).unwrap_or_default()
    }
}

fn content(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

/// For each id in `ids`, the `k` rows of `emb` with the highest cosine similarity to it (itself
/// and the padding row excluded), most similar first. One pass over the matrix per query; for a
/// training vocabulary of a few hundred words that is a few seconds.
pub fn nearest_ids(emb: &Embeddings, ids: &[u32], k: usize) -> Vec<Vec<u32>> {
    let d = emb.dim;
    let norms: Vec<f32> = emb
        .matrix()
        .chunks_exact(d)
        .map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt())
        .collect();
    ids.iter()
        .map(|&q| {
            let Some(query) = emb.vector(q) else {
                return Vec::new();
            };
            let q_norm = norms[q as usize];
            if q_norm == 0.0 {
                return Vec::new(); // no direction, no neighbours
            }
            let scores = emb
                .matrix()
                .chunks_exact(d)
                .enumerate()
                .skip(1)
                .filter(|&(row, _)| norms[row] > 0.0)
                .map(|(row, r)| {
                    let dot: f32 = r.iter().zip(query).map(|(a, b)| a * b).sum();
                    (row as u32, f64::from(dot / (norms[row] * q_norm)))
                })
                .collect();
            best_k(scores, k, &[q])
                .into_iter()
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// The `k` highest-scoring `(row, score)` pairs, best first (the lower row on ties), the rows in
/// `exclude` left out.
fn best_k(mut scores: Vec<(u32, f64)>, k: usize, exclude: &[u32]) -> Vec<(u32, f64)> {
    scores.retain(|(i, _)| !exclude.contains(i));
    let by_score = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let k = k.min(scores.len());
    if k == 0 {
        return Vec::new();
    }
    scores.select_nth_unstable_by(k - 1, by_score);
    scores.truncate(k);
    scores.sort_unstable_by(by_score);
    scores
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Cosine similarity; NaN when either vector is zero.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    cosine_from(dot(a, b), norm(a), norm(b))
}

fn cosine_from(dot: f64, na: f64, nb: f64) -> f64 {
    if na == 0.0 || nb == 0.0 {
        f64::NAN
    } else {
        dot / (na * nb)
    }
}

/// The projection of `e` on `g`: (e·g / ‖g‖²) g.
pub fn project(e: &[f64], g: &[f64]) -> Vec<f64> {
    let s = dot(e, g) / dot(g, g);
    g.iter().map(|x| s * x).collect()
}

/// `e` with its component along `g` removed: e − (e·g/‖g‖²) g.
pub fn neutralize(e: &[f64], g: &[f64]) -> Vec<f64> {
    e.iter().zip(project(e, g)).map(|(x, p)| x - p).collect()
}

/// Bolukbasi's equalization of a pair along `g`: both words end up at the same distance from
/// μ⊥ (the pair's mean without its bias component), with opposite projections on `g`.
pub fn equalize(e1: &[f64], e2: &[f64], g: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mu: Vec<f64> = e1.iter().zip(e2).map(|(a, b)| (a + b) / 2.0).collect();
    let mu_b = project(&mu, g);
    let mu_orth: Vec<f64> = mu.iter().zip(&mu_b).map(|(m, b)| m - b).collect();
    let scale = (1.0 - dot(&mu_orth, &mu_orth)).abs().sqrt();
    let corrected = |e: &[f64]| -> Vec<f64> {
        let e_b = project(e, g);
        let denom: f64 = e
            .iter()
            .zip(&mu_orth)
            .zip(&mu_b)
            .map(|((x, o), b)| (x - o - b).powi(2))
            .sum::<f64>()
            .sqrt();
        e_b.iter()
            .zip(&mu_b)
            .zip(&mu_orth)
            .map(|((eb, mb), o)| o + scale * (eb - mb) / denom)
            .collect()
    };
    (corrected(e1), corrected(e2))
}

/// Edit distance counting an adjacent transposition as one edit (optimal string alignment),
/// so `womna` is one edit from `woman`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let sub = d[(i - 1) * w + j - 1] + usize::from(a[i - 1] != b[j - 1]);
                let mut best = sub.min(d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * w + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_ids_rank_by_cosine_and_skip_the_word_and_padding() {
        // After the padding row: the x axis, nearly x, the y axis, −x, a zero vector.
        let words = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let rows = [1.0, 0.0, 2.0, 0.1, 0.0, 1.0, -1.0, 0.0, 0.0, 0.0];
        let emb = Embeddings::from_rows(words, &rows, 2, "test".into(), String::new());
        let a = emb.vocab.index("a").expect("a");
        let (b, c, d) = (
            emb.vocab.index("b").expect("b"),
            emb.vocab.index("c").expect("c"),
            emb.vocab.index("d").expect("d"),
        );
        assert_eq!(nearest_ids(&emb, &[a], 3), vec![vec![b, c, d]]);
        assert_eq!(nearest_ids(&emb, &[a], 1), vec![vec![b]]);
        let e = emb.vocab.index("e").expect("e");
        assert_eq!(
            nearest_ids(&emb, &[e], 2),
            vec![Vec::<u32>::new()],
            "no direction"
        );
    }

    fn tiny() -> WordVectors {
        let words = ["man", "woman", "king", "queen", "doctor", "boy", "girl"];
        let rows = [
            [1.0, 0.0, 0.2],
            [-1.0, 0.0, 0.2],
            [1.0, 1.0, 0.0],
            [-1.0, 1.0, 0.0],
            [0.3, 0.2, 1.0],
            [0.9, 0.1, 0.5],
            [-0.9, 0.1, 0.5],
        ];
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        WordVectors::new(Embeddings::from_rows(
            words.iter().map(|w| w.to_string()).collect(),
            &flat,
            3,
            "tiny".into(),
            "0".into(),
        ))
    }

    #[test]
    fn nearest_and_analogy_exclude_their_inputs() {
        let v = tiny();
        let near = v.nearest("boy", 2).expect("known");
        assert_eq!(near[0].word, "man");
        assert!(near.iter().all(|s| s.word != "boy"));
        let a = v.analogy("man", "woman", "king", 1).expect("known");
        assert_eq!(a[0].word, "queen");
    }

    #[test]
    fn neutralized_vectors_are_orthogonal_to_the_axis() {
        let v = tiny();
        let g = v.axis("woman-man").expect("axis").g;
        let e = neutralize(&v.vector("doctor").expect("known"), &g);
        assert!(dot(&e, &g).abs() < 1e-12);
    }

    #[test]
    fn equalized_pairs_are_symmetric() {
        let g = [0.3, -0.8, 0.5, 0.1];
        let (e1, e2) = equalize(&[0.5, 0.2, -0.1, 0.7], &[-0.2, 0.9, 0.4, 0.1], &g);
        let mu: Vec<f64> = e1.iter().zip(&e2).map(|(a, b)| (a + b) / 2.0).collect();
        let d1: Vec<f64> = e1.iter().zip(&mu).map(|(a, m)| a - m).collect();
        let d2: Vec<f64> = e2.iter().zip(&mu).map(|(a, m)| a - m).collect();
        assert!((norm(&d1) - norm(&d2)).abs() < 1e-12);
        assert!((dot(&e1, &g) + dot(&e2, &g)).abs() < 1e-12);
    }

    #[test]
    fn unknown_words_name_close_spellings() {
        let err = tiny().similarity("womn", "man").expect_err("unknown");
        let msg = err.to_string();
        assert!(msg.contains("`womn`") && msg.contains("woman"), "{msg}");
    }

    #[test]
    fn axes_and_pairs_parse() {
        let v = tiny();
        assert_eq!(v.axis("woman-man").expect("axis").positive, "woman");
        assert!(v.axis("woman").is_err());
        assert!(v.pair("boy:girl").is_ok());
        assert!(v.pair("boy").is_err());
    }
}
