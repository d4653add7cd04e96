//! A held-out test split carved from one labelled file, for data sets that ship a single file
//! (the public MNIST digits): stratified, so every class keeps its share on both sides, and
//! seeded, so the same seed always holds out the same rows.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Row indices of the two sides of a split, each in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdout {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Splits rows with class `labels[i]` so that each class puts `round(train_fraction · n)` of
/// its `n` rows (at least one, and at least one held out when it has two or more) on the
/// training side; which rows is drawn by `seed`, class by class, so adding a class does not
/// move another's rows.
pub fn stratified_split(labels: &[usize], train_fraction: f64, seed: u64) -> Holdout {
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for class in 0..classes {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        if rows.is_empty() {
            continue;
        }
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(class as u64));
        rows.shuffle(&mut rng);
        let n = rows.len();
        let keep =
            ((train_fraction * n as f64).round() as usize).clamp(1, n.saturating_sub(1).max(1));
        train.extend_from_slice(&rows[..keep]);
        test.extend_from_slice(&rows[keep..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Holdout { train, test }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_lands_once_each_class_keeps_its_share_and_the_seed_decides() {
        let labels: Vec<usize> = (0..1000).map(|i| if i % 10 == 0 { 1 } else { 0 }).collect();
        let a = stratified_split(&labels, 0.8, 7);
        let mut all = [a.train.clone(), a.test.clone()].concat();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        let count = |rows: &[usize], c: usize| rows.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!((count(&a.train, 0), count(&a.test, 0)), (720, 180));
        assert_eq!((count(&a.train, 1), count(&a.test, 1)), (80, 20));
        assert!(a.train.windows(2).all(|w| w[0] < w[1]), "file order");
        assert_eq!(a, stratified_split(&labels, 0.8, 7));
        assert_ne!(a, stratified_split(&labels, 0.8, 8));
        // A class of two keeps one row on each side; a class of one trains.
        let small = stratified_split(&[0, 0, 1], 0.9, 1);
        assert_eq!((small.train.len(), small.test.len()), (2, 1));
        assert!(small.train.contains(&2));
    }
}
