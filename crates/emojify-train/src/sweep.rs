//! Repeats a training run over several seeds and summarises test accuracy, so results tables
//! come from one command anyone can rerun.

use std::fmt::Write as _;

use crate::config::RunConfig;
use crate::train::{Summary, train};

/// Per-seed summaries and their min/median/max test accuracy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sweep {
    pub runs: Vec<Summary>,
}

impl Sweep {
    fn sorted_test(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.runs.iter().map(|s| s.test_accuracy).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    pub fn min(&self) -> f64 {
        self.sorted_test().first().copied().unwrap_or(f64::NAN)
    }

    pub fn max(&self) -> f64 {
        self.sorted_test().last().copied().unwrap_or(f64::NAN)
    }

    /// The median (mean of the two middle values for an even count).
    pub fn median(&self) -> f64 {
        let v = self.sorted_test();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    /// A Markdown table: one row per seed, then min / median / max.
    pub fn markdown(&self) -> String {
        let mut s =
            String::from("| seed | train acc | test acc | seconds |\n|---:|---:|---:|---:|\n");
        for r in &self.runs {
            let _ = writeln!(
                s,
                "| {} | {:.4} | {:.4} | {:.1} |",
                r.seed, r.train_accuracy, r.test_accuracy, r.seconds
            );
        }
        let _ = writeln!(
            s,
            "\ntest accuracy over {} seeds: min {:.4} · median {:.4} · max {:.4}",
            self.runs.len(),
            self.min(),
            self.median(),
            self.max()
        );
        s
    }
}

/// Trains `config` once per seed in `seeds` (quietly), reporting progress on stderr.
pub fn sweep(config: &RunConfig, seeds: &[u64]) -> anyhow::Result<Sweep> {
    let mut runs = Vec::with_capacity(seeds.len());
    for (i, &seed) in seeds.iter().enumerate() {
        let mut c = config.clone();
        c.seed = seed;
        let outcome = train(&c, true)?;
        eprintln!(
            "[{}/{}] seed {seed}: test accuracy {:.4} ({})",
            i + 1,
            seeds.len(),
            outcome.summary.test_accuracy,
            outcome.run_dir.path().display()
        );
        runs.push(outcome.summary);
    }
    Ok(Sweep { runs })
}
