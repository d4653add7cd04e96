//! Stratified k-fold splits of the training split: what cross-validation validates on and what
//! temperature scaling fits on. The test split is never among them.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::inputs::splits::Split;

/// Stratified folds: each class's examples, shuffled with `seed`, are dealt round-robin.
pub fn stratified_folds(labels: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    order.sort_by_key(|&i| labels[i]); // stable: shuffled within each class
    let mut folds = vec![Vec::new(); k.max(1)];
    for (n, i) in order.into_iter().enumerate() {
        folds[n % k.max(1)].push(i);
    }
    folds
}

/// Every index of `folds` but those of fold `f`: what a model validated on fold `f` trains on.
fn other_folds(folds: &[Vec<usize>], f: usize) -> Vec<usize> {
    folds
        .iter()
        .enumerate()
        .filter(|(g, _)| *g != f)
        .flat_map(|(_, v)| v.iter().copied())
        .collect()
}

/// The examples of `split` at `indices`, as a split named `name` (which file each came from
/// kept, sentences' text not).
pub fn subset(split: &Split, indices: &[usize], name: &'static str) -> Split {
    Split {
        name,
        examples: Vec::new(),
        encoded: indices.iter().map(|&i| split.encoded[i].clone()).collect(),
        labels: indices.iter().map(|&i| split.labels[i]).collect(),
        extra: indices.iter().map(|&i| split.extra[i]).collect(),
        skipped_rows: 0,
        neighbours: split.neighbours.clone(),
        negation: split.negation.clone(),
    }
}

/// Which training sentences the folds are drawn from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FoldsOver {
    /// Every training sentence, whichever file it came from.
    #[default]
    All,
    /// `data.train`'s sentences only; those of `data.extra_train` are in every fold's
    /// training: how well the added files carry over to the data set the config is named after.
    TrainFile,
}

impl std::str::FromStr for FoldsOver {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(FoldsOver::All),
            "train-file" => Ok(FoldsOver::TrainFile),
            other => Err(format!("`{other}`: expected all or train-file")),
        }
    }
}

/// Each fold's (training, validation) indices into `train`, the folds stratified and shuffled
/// with `seed`.
pub fn fold_indices(
    train: &Split,
    folds: usize,
    over: FoldsOver,
    seed: u64,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    let (pool, always): (Vec<usize>, Vec<usize>) = match over {
        FoldsOver::All => ((0..train.labels.len()).collect(), Vec::new()),
        FoldsOver::TrainFile => (0..train.labels.len()).partition(|&i| !train.extra[i]),
    };
    let labels: Vec<usize> = pool.iter().map(|&i| train.labels[i]).collect();
    let sets = stratified_folds(&labels, folds, seed);
    (0..sets.len())
        .map(|f| {
            let mut fit: Vec<usize> = other_folds(&sets, f).iter().map(|&i| pool[i]).collect();
            fit.extend(&always);
            (fit, sets[f].iter().map(|&i| pool[i]).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_a_stratified_partition() {
        let labels: Vec<usize> = (0..50).map(|i| i % 5).collect();
        let folds = stratified_folds(&labels, 5, 3);
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
        for fold in &folds {
            for class in 0..5 {
                assert_eq!(fold.iter().filter(|&&i| labels[i] == class).count(), 2);
            }
        }
    }

    /// 20 sentences from `data.train` (labels 0..5) followed by 10 from `extra_train`.
    fn two_files() -> Split {
        let mut split = Split::new("train", Vec::new(), vec![Default::default(); 30], 0);
        split.labels = (0..30).map(|i| i % 5).collect();
        split.extra = (0..30).map(|i| i >= 20).collect();
        split
    }

    #[test]
    fn train_file_folds_validate_on_it_alone_and_always_train_on_the_rest() {
        let split = two_files();
        let folds = fold_indices(&split, 4, FoldsOver::TrainFile, 0);
        assert_eq!(folds.len(), 4);
        let mut validated: Vec<usize> = folds.iter().flat_map(|(_, v)| v.clone()).collect();
        validated.sort_unstable();
        assert_eq!(
            validated,
            (0..20).collect::<Vec<_>>(),
            "each own sentence once"
        );
        for (fit, val) in &folds {
            assert_eq!(fit.len() + val.len(), 30);
            assert!(fit.iter().all(|i| !val.contains(i)));
            assert!(
                (20..30).all(|i| fit.contains(&i)),
                "extra files always train"
            );
            for class in 0..5 {
                assert_eq!(val.iter().filter(|&&i| split.labels[i] == class).count(), 1);
            }
        }
        // Over all sentences, the folds are the ones cv always drew.
        let all = fold_indices(&split, 4, FoldsOver::All, 0);
        let sets = stratified_folds(&split.labels, 4, 0);
        for (f, (fit, val)) in all.iter().enumerate() {
            assert_eq!(val, &sets[f]);
            assert_eq!(fit, &other_folds(&sets, f));
        }
        assert_eq!("train-file".parse(), Ok(FoldsOver::TrainFile));
        assert!("extra".parse::<FoldsOver>().is_err());
    }

    #[test]
    fn an_epoch_repeats_only_the_train_file_and_a_subset_keeps_which_is_which() {
        let split = two_files();
        assert_eq!(split.epoch_rows(1), (0..30).collect::<Vec<_>>());
        let rows = split.epoch_rows(3);
        assert_eq!(rows.len(), 30 + 2 * 20);
        for i in 0..30 {
            let seen = rows.iter().filter(|&&r| r == i).count();
            assert_eq!(seen, if i < 20 { 3 } else { 1 }, "row {i}");
        }
        let part = subset(&split, &[25, 3, 21], "part");
        assert_eq!(part.extra, [true, false, true]);
        assert_eq!(part.epoch_rows(2), [0, 1, 2, 1]);
    }
}
