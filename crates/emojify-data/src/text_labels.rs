//! The TweetEval benchmark's format: a text file of one tweet per line, a labels file of one
//! class index per line beside it (`train_text.txt` ↔ `train_labels.txt`), and `mapping.txt`
//! (`index<TAB>emoji<TAB>name`) naming the classes. Line *n* of one file goes with line *n* of
//! the other, so the two must have the same number of lines; every problem is named by file and
//! line.

use std::path::{Path, PathBuf};

use crate::DataError;
use crate::dataset::{BadRowPolicy, Example, LabelledCsv, RowError};

/// The labels file that goes with a `*_text.txt` file: `*_labels.txt` beside it.
pub fn labels_path(text: &Path) -> Option<PathBuf> {
    let name = text.file_name()?.to_str()?;
    let stem = name.strip_suffix("_text.txt")?;
    Some(text.with_file_name(format!("{stem}_labels.txt")))
}

/// Reads a text file and its labels file (found by [`labels_path`]) as labelled examples; each
/// example's line is its line in the text file.
pub fn read_text_labels(
    text: &Path,
    num_classes: usize,
    policy: BadRowPolicy,
) -> Result<LabelledCsv, DataError> {
    let labels = labels_path(text).ok_or_else(|| {
        DataError::bad_file(
            text,
            "a text-labels file is named `<split>_text.txt`, with `<split>_labels.txt` beside it",
        )
    })?;
    let read = |p: &Path| -> Result<String, DataError> {
        let bytes = std::fs::read(p).map_err(|e| DataError::io(p, e))?;
        String::from_utf8(bytes).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            DataError::BadRow {
                file: p.to_path_buf(),
                line,
                reason: "not valid UTF-8".into(),
            }
        })
    };
    parse_text_labels(
        &read(text)?,
        text,
        &read(&labels)?,
        &labels,
        num_classes,
        policy,
    )
}

/// [`read_text_labels`] on the two files' contents; the paths name them in errors.
pub fn parse_text_labels(
    text: &str,
    text_path: &Path,
    labels: &str,
    labels_path: &Path,
    num_classes: usize,
    policy: BadRowPolicy,
) -> Result<LabelledCsv, DataError> {
    let tweets: Vec<&str> = text.lines().collect();
    let classes: Vec<&str> = labels.lines().collect();
    if tweets.len() != classes.len() {
        let (longer, line) = if tweets.len() > classes.len() {
            (text_path, classes.len() + 1)
        } else {
            (labels_path, tweets.len() + 1)
        };
        return Err(DataError::BadRow {
            file: longer.to_path_buf(),
            line: line as u64,
            reason: format!(
                "{} has {} lines but {} has {}: line {line} has no partner",
                text_path.display(),
                tweets.len(),
                labels_path.display(),
                classes.len()
            ),
        });
    }
    let mut examples = Vec::with_capacity(tweets.len());
    let mut skipped = Vec::new();
    for (i, (tweet, class)) in tweets.iter().zip(&classes).enumerate() {
        let line = i as u64 + 1;
        let problem = if tweet.trim().is_empty() {
            Some((text_path, "empty text".to_string()))
        } else {
            match class.trim().parse::<usize>() {
                Ok(c) if c < num_classes => {
                    examples.push(Example {
                        text: tweet.trim().to_string(),
                        label: c,
                        line,
                    });
                    None
                }
                Ok(c) => Some((
                    labels_path,
                    format!("label {c} is out of range 0..{num_classes}"),
                )),
                Err(_) => Some((
                    labels_path,
                    format!("`{}` is not a class index", class.trim()),
                )),
            }
        };
        if let Some((file, reason)) = problem {
            match policy {
                BadRowPolicy::Error => {
                    return Err(DataError::BadRow {
                        file: file.to_path_buf(),
                        line,
                        reason,
                    });
                }
                BadRowPolicy::Skip => skipped.push(RowError {
                    line,
                    reason: format!("{}: {reason}", file.display()),
                }),
            }
        }
    }
    if examples.is_empty() {
        return Err(DataError::bad_file(text_path, "no examples"));
    }
    Ok(LabelledCsv {
        file: text_path.to_path_buf(),
        examples,
        skipped,
    })
}

/// `mapping.txt`: per line `index<TAB>emoji<TAB>name`, indices 0, 1, … in order. Returns the
/// emoji and the names (the surrounding underscores of names like `_red_heart_` dropped).
pub fn read_mapping(path: &Path) -> Result<(Vec<String>, Vec<String>), DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let mut emoji = Vec::new();
    let mut names = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |reason: String| DataError::BadRow {
            file: path.to_path_buf(),
            line: i as u64 + 1,
            reason,
        };
        let mut fields = line.split('\t');
        let (index, symbol, name) = (fields.next(), fields.next(), fields.next());
        let (Some(index), Some(symbol), Some(name)) = (index, symbol, name) else {
            return Err(bad("expected `index<TAB>emoji<TAB>name`".into()));
        };
        if index.trim().parse::<usize>().ok() != Some(emoji.len()) {
            return Err(bad(format!(
                "expected index {}, found `{index}`",
                emoji.len()
            )));
        }
        emoji.push(symbol.trim().to_string());
        names.push(name.trim().trim_matches('_').to_string());
    }
    if emoji.len() < 2 {
        return Err(DataError::bad_file(path, "fewer than two classes"));
    }
    Ok((emoji, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, labels: &str, policy: BadRowPolicy) -> Result<LabelledCsv, DataError> {
        parse_text_labels(
            text,
            Path::new("t_text.txt"),
            labels,
            Path::new("t_labels.txt"),
            3,
            policy,
        )
    }

    #[test]
    fn lines_pair_up_and_problems_name_file_and_line() {
        let d = parse("hello @user\nsooo good :)\n", "2\n0\n", BadRowPolicy::Error).expect("ok");
        let got: Vec<_> = d
            .examples
            .iter()
            .map(|e| (e.text.as_str(), e.label, e.line))
            .collect();
        assert_eq!(got, [("hello @user", 2, 1), ("sooo good :)", 0, 2)]);
        for (text, labels, message) in [
            (
                "a\nb\nc\n",
                "0\n1\n",
                "t_text.txt:3: t_text.txt has 3 lines but t_labels.txt has 2",
            ),
            (
                "a\n",
                "0\n1\n",
                "t_labels.txt:2: t_text.txt has 1 lines but t_labels.txt has 2",
            ),
            (
                "a\nb\n",
                "0\n3\n",
                "t_labels.txt:2: label 3 is out of range 0..3",
            ),
            (
                "a\nb\n",
                "x\n1\n",
                "t_labels.txt:1: `x` is not a class index",
            ),
            ("a\n \n", "0\n1\n", "t_text.txt:2: empty text"),
        ] {
            let err = parse(text, labels, BadRowPolicy::Error)
                .expect_err(message)
                .to_string();
            assert!(err.starts_with(message), "{err}");
        }
        let d = parse("a\n\nc\n", "0\n1\n9\n", BadRowPolicy::Skip).expect("skips");
        assert_eq!(d.examples.len(), 1);
        assert_eq!(d.skipped.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
        assert!(
            d.skipped[1].reason.starts_with("t_labels.txt: label 9"),
            "{:?}",
            d.skipped
        );
        assert_eq!(
            labels_path(Path::new("d/val_text.txt")),
            Some(PathBuf::from("d/val_labels.txt"))
        );
        assert_eq!(labels_path(Path::new("d/val.csv")), None);
    }

    #[test]
    fn the_mapping_names_the_classes_in_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("mapping.txt");
        std::fs::write(&path, "0\t❤\t_red_heart_\t\n1\t🔥\t_fire_\t\n").expect("write");
        let (emoji, names) = read_mapping(&path).expect("mapping");
        assert_eq!(
            (emoji, names),
            (
                vec!["❤".to_string(), "🔥".into()],
                vec!["red_heart".to_string(), "fire".into()]
            )
        );
        std::fs::write(&path, "0\t❤\t_red_heart_\n2\t🔥\t_fire_\n").expect("write");
        let err = read_mapping(&path).expect_err("gap").to_string();
        assert!(err.contains("mapping.txt:2: expected index 1"), "{err}");
    }
}
