//! The terminal side of the library's [`Reporter`]/[`Observer`]: spinners and progress bars
//! (indicatif, on stderr), notes and results as lines, warnings on stderr.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use emojify_data::{Event, Observer};
use emojify_train::run::report::{Finished, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where notes go: training prints its story on stdout; commands whose stdout is their result
/// (`predict --json`) keep notes on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notes {
    Stdout,
    Stderr,
    /// Notes and results are not shown (`--quiet`); warnings still are.
    Hidden,
}

/// Shows a command's progress on the terminal.
pub struct Terminal {
    notes: Notes,
    bar: Mutex<Option<ProgressBar>>,
    /// Bars of tasks that began a nested one (cross-validation pretraining for a seed), hidden
    /// until it ends.
    outer: Mutex<Vec<(ProgressBar, bool)>>,
}

impl Terminal {
    pub fn new(notes: Notes) -> Self {
        Terminal {
            notes,
            bar: Mutex::new(None),
            outer: Mutex::new(Vec::new()),
        }
    }

    /// Notes on stderr: for commands whose stdout is their result.
    pub fn stderr() -> Self {
        Self::new(Notes::Stderr)
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The hidden outer bars, each with whether it was hidden before.
    fn outer(&self) -> std::sync::MutexGuard<'_, Vec<(ProgressBar, bool)>> {
        self.outer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Prints a line without tearing a bar that is on screen.
    fn line(&self, text: &str, stderr: bool) {
        match self.bar().as_ref() {
            // A hidden bar (no terminal) swallows println, so print directly then.
            Some(bar) if !bar.is_hidden() => bar.println(text),
            _ if stderr => eprintln!("{text}"),
            _ => println!("{text}"),
        }
    }

    fn note(&self, text: &str) {
        match self.notes {
            Notes::Stdout => self.line(text, false),
            Notes::Stderr => self.line(text, true),
            Notes::Hidden => {}
        }
    }

    fn replace_bar(&self, bar: Option<ProgressBar>) {
        if let Some(old) = std::mem::replace(&mut *self.bar(), bar) {
            old.finish_and_clear();
        }
    }
}

impl Observer for Terminal {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Begin(task) => {
                let pb = ProgressBar::new_spinner();
                pb.set_message(task.to_string());
                pb.enable_steady_tick(Duration::from_millis(120));
                if let Some(outer) = self.bar().replace(pb) {
                    let hidden = outer.is_hidden();
                    outer.set_draw_target(ProgressDrawTarget::hidden());
                    self.outer().push((outer, hidden));
                }
            }
            Event::Progress { done, total } => {
                if let Some(bar) = self.bar().as_ref() {
                    if bar.length() != Some(total) {
                        bar.set_length(total);
                        bar.set_style(style(
                            "{msg} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}]",
                        ));
                    }
                    bar.set_position(done);
                }
            }
            Event::End => {
                let outer = self.outer().pop().map(|(bar, hidden)| {
                    if !hidden {
                        bar.set_draw_target(ProgressDrawTarget::stderr());
                    }
                    bar
                });
                self.replace_bar(outer);
            }
            Event::Warning(text) => self.line(&format!("warning: {text}"), true),
            Event::Note(text) => self.note(&text),
        }
    }
}

impl Reporter for Terminal {
    fn epochs(&self, first: usize, last: usize) {
        let bar = if self.notes == Notes::Hidden {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(last as u64)
        };
        bar.set_style(style(
            "{bar:30} epoch {pos}/{len} {msg} [{elapsed_precise}<{eta_precise}]",
        ));
        bar.set_position(first.saturating_sub(1) as u64);
        self.replace_bar(Some(bar));
    }

    fn epoch(&self, m: &emojify_train::run::metrics::EpochMetrics, log: bool) {
        if let Some(bar) = self.bar().as_ref() {
            bar.set_message(format!(
                "loss {:.4} train {:.3} test {:.3}",
                m.loss, m.train_acc, m.test_acc
            ));
        }
        if log {
            self.note(&format!(
                "epoch {:>4}  loss {:.4}  train acc {:.3}  test acc {:.3}",
                m.epoch, m.loss, m.train_acc, m.test_acc
            ));
        }
        if let Some(bar) = self.bar().as_ref() {
            bar.inc(1);
        }
    }

    fn abandoned(&self) {
        if let Some(bar) = self.bar().take() {
            bar.abandon();
        }
    }

    fn finished(&self, run: &Finished<'_>) {
        self.replace_bar(None);
        if self.notes == Notes::Hidden {
            return;
        }
        let s = run.summary;
        self.note(&format!(
            "train accuracy {:.4}  test accuracy {:.4}  test macro-F1 {:.4}  ({:.1} s)",
            s.train_accuracy, s.test_accuracy, s.test_macro_f1, s.seconds
        ));
        self.note(&format!(
            "\ntest confusion matrix:\n{}",
            run.confusion.trim_end()
        ));
        self.note(run.mislabelled.trim_end());
        self.note(&format!("\nrun directory: {}", run.run_dir.display()));
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
