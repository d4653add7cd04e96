//! Repeats a training run over several seeds and summarises test accuracy, so results tables
//! come from one command anyone can rerun.

use std::fmt::Write as _;

use emojify_data::{Event, Observer, Silent};

use crate::config::RunConfig;
use crate::run::metrics::RunSummary;
use crate::run::plot;
use crate::run::train::train;

/// Per-seed summaries and their min/median/max test accuracy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sweep {
    pub runs: Vec<RunSummary>,
}

impl Sweep {
    /// Min, median (mean of the two middle values for an even count) and max of one figure over
    /// the seeds.
    fn spread(&self, pick: fn(&RunSummary) -> f64) -> (f64, f64, f64) {
        let mut v: Vec<f64> = self.runs.iter().map(pick).collect();
        v.sort_by(f64::total_cmp);
        let median = match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        let (first, last) = (v.first(), v.last());
        (
            first.copied().unwrap_or(f64::NAN),
            median,
            last.copied().unwrap_or(f64::NAN),
        )
    }

    pub fn min(&self) -> f64 {
        self.spread(|r| r.test_accuracy).0
    }

    pub fn max(&self) -> f64 {
        self.spread(|r| r.test_accuracy).2
    }

    /// The median test accuracy (mean of the two middle values for an even count).
    pub fn median(&self) -> f64 {
        self.spread(|r| r.test_accuracy).1
    }

    /// A Markdown table: one row per seed, then min / median / max.
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "| seed | train acc | test acc | test macro-F1 | seconds |\n|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.runs {
            let _ = writeln!(
                s,
                "| {} | {:.4} | {:.4} | {:.4} | {:.1} |",
                r.seed, r.train_accuracy, r.test_accuracy, r.test_macro_f1, r.seconds
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
        let (lo, mid, hi) = self.spread(|r| r.test_macro_f1);
        let _ = writeln!(
            s,
            "test macro-F1 over {} seeds: min {lo:.4} · median {mid:.4} · max {hi:.4}",
            self.runs.len()
        );
        s
    }

    /// Each seed's test and train accuracy as bars (PNG), min/median/max in the title.
    pub fn plot(&self, name: &str, path: &std::path::Path) -> anyhow::Result<()> {
        let names: Vec<String> = self.runs.iter().map(|r| r.seed.to_string()).collect();
        let pick = |f: fn(&RunSummary) -> f64| self.runs.iter().map(f).collect::<Vec<_>>();
        plot::bars_png(
            &format!(
                "{name}: test accuracy per seed, min {:.4} · median {:.4} · max {:.4}",
                self.min(),
                self.median(),
                self.max()
            ),
            &names,
            &[
                ("test accuracy", pick(|r| r.test_accuracy)),
                ("train accuracy", pick(|r| r.train_accuracy)),
            ],
            path,
        )
    }
}

/// Trains `config` once per seed in `seeds` (each run silently), with a note per finished seed.
pub fn sweep(config: &RunConfig, seeds: &[u64], obs: &dyn Observer) -> anyhow::Result<Sweep> {
    let mut runs = Vec::with_capacity(seeds.len());
    for (i, &seed) in seeds.iter().enumerate() {
        let mut c = config.clone();
        c.seed = seed;
        let outcome = train(&c, &Silent)?;
        obs.event(Event::Note(format!(
            "[{}/{}] seed {seed}: test accuracy {:.4} ({})",
            i + 1,
            seeds.len(),
            outcome.summary.test_accuracy,
            outcome.run_dir.path().display()
        )));
        runs.push(outcome.summary);
    }
    Ok(Sweep { runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(seed: u64, test_accuracy: f64) -> RunSummary {
        RunSummary {
            name: "t".into(),
            backend: "flex".into(),
            seed,
            epochs: 1,
            train_accuracy: 1.0,
            test_accuracy,
            test_macro_f1: test_accuracy,
            final_loss: 0.0,
            seconds: 0.0,
            trainable_params: 0,
            total_params: 0,
            embedding_source: String::new(),
            embedding_sha256: String::new(),
            train_oov_tokens: 0,
            test_oov_tokens: 0,
            train_truncated: 0,
            test_truncated: 0,
            weights_sha256: String::new(),
            temperature: None,
            pretrained: None,
            members: Vec::new(),
        }
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let sweep = Sweep {
            runs: [0.9, 0.5, 0.7, 0.8]
                .iter()
                .enumerate()
                .map(|(i, &a)| summary(i as u64 + 1, a))
                .collect(),
        };
        assert_eq!((sweep.min(), sweep.median(), sweep.max()), (0.5, 0.75, 0.9));
        let odd = Sweep {
            runs: vec![summary(1, 0.6), summary(2, 0.2), summary(3, 0.4)],
        };
        assert_eq!(odd.median(), 0.4);
    }
}
