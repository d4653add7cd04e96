//! The EMOJISET reader: `sentence,label` rows with no header and a ragged tail of extra columns.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DataError;

/// One labelled sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    pub label: usize,
    /// 1-based line of the source file, so later stages can point back at it.
    pub line: u64,
}

/// What to do with a row that cannot be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadRowPolicy {
    /// Stop at the first bad row with an error naming file:line (the default: no silent loss).
    #[default]
    Error,
    /// Skip bad rows, keeping each one's reason so the caller can report them.
    Skip,
}

/// A row that was skipped under [`BadRowPolicy::Skip`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// The examples of one file, plus the rows skipped on the way.
#[derive(Debug, Clone)]
pub struct LabelledCsv {
    pub file: PathBuf,
    pub examples: Vec<Example>,
    pub skipped: Vec<RowError>,
}

/// Reads a headerless `sentence,label[,junk…]` CSV. Sentences are trimmed (the test file ends
/// them in a tab); columns after the label are ignored, as the course's reader ignores them.
pub fn read_labelled_csv(
    path: &Path,
    num_classes: usize,
    policy: BadRowPolicy,
) -> Result<LabelledCsv, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_labelled_csv(&bytes, path, num_classes, policy)
}

/// [`read_labelled_csv`] on bytes already in memory; `path` names them in errors.
pub fn parse_labelled_csv(
    bytes: &[u8],
    path: &Path,
    num_classes: usize,
    policy: BadRowPolicy,
) -> Result<LabelledCsv, DataError> {
    let (examples, skipped) = parse_records(bytes, path, policy, |record, line| {
        let (text, label) = parse_row(record, num_classes)?;
        Ok(Example { text, label, line })
    })?;
    Ok(LabelledCsv {
        file: path.to_path_buf(),
        examples,
        skipped,
    })
}

/// Runs `row` over every non-blank CSV record with its 1-based line, applying `policy` to the
/// rows it refuses. An empty result is an error: no data set may silently be empty.
pub(crate) fn parse_records<T>(
    bytes: &[u8],
    path: &Path,
    policy: BadRowPolicy,
    mut row: impl FnMut(&csv::ByteRecord, u64) -> Result<T, String>,
) -> Result<(Vec<T>, Vec<RowError>), DataError> {
    // csv's own line counter skips blank lines; count line breaks before each record's byte
    // offset. A break is `\n`, `\r\n` or a lone `\r`, as the csv parser itself ends records.
    let newlines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| {
            let lone_cr = b == b'\r' && bytes.get(i + 1) != Some(&b'\n');
            (b == b'\n' || lone_cr).then_some(i)
        })
        .collect();
    let line_at = |pos: Option<&csv::Position>, fallback: u64| {
        pos.map_or(fallback, |p| {
            // A record's position may point at blank lines before it: step over them.
            let mut at = p.byte() as usize;
            while bytes.get(at).is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                at += 1;
            }
            newlines.partition_point(|&nl| nl < at) as u64 + 1
        })
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        let result = match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = line_at(record.position(), line);
                if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                    continue; // blank line
                }
                row(&record, line).map_err(|reason| (line, reason))
            }
            Err(e) => Err((
                line_at(e.position(), line),
                format!("unreadable CSV row: {e}"),
            )),
        };
        match (result, policy) {
            (Ok(item), _) => out.push(item),
            (Err((line, reason)), BadRowPolicy::Error) => {
                return Err(DataError::BadRow {
                    file: path.to_path_buf(),
                    line,
                    reason,
                });
            }
            (Err((line, reason)), BadRowPolicy::Skip) => skipped.push(RowError { line, reason }),
        }
    }
    if out.is_empty() {
        return Err(DataError::bad_file(
            path,
            "no examples: the data set is empty",
        ));
    }
    Ok((out, skipped))
}

fn parse_row(record: &csv::ByteRecord, num_classes: usize) -> Result<(String, usize), String> {
    let text = record.get(0).unwrap_or_default();
    let text = std::str::from_utf8(text)
        .map_err(|e| format!("sentence is not valid UTF-8 ({e})"))?
        .trim();
    if text.is_empty() {
        return Err("empty sentence".into());
    }
    let raw = record
        .get(1)
        .ok_or_else(|| "missing label (expected `sentence,label`)".to_string())?;
    let raw = std::str::from_utf8(raw)
        .map_err(|_| "label is not valid UTF-8".to_string())?
        .trim();
    if raw.is_empty() {
        return Err("missing label (expected `sentence,label`)".into());
    }
    let label: usize = raw
        .parse()
        .map_err(|_| format!("label `{raw}` is not a non-negative integer"))?;
    if label >= num_classes {
        return Err(format!(
            "label {label} is out of range 0..{}",
            num_classes - 1
        ));
    }
    Ok((text.to_string(), label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(content: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(content).expect("write");
        f
    }

    #[test]
    fn reads_ragged_rows_and_trims_sentences() {
        let f = write(
            b"Miss you so much,0,, [0]\nI love dogs,0,,v2\nI want to eat\t,4\n\nfood is life,4,,\n",
        );
        let d = read_labelled_csv(f.path(), 5, BadRowPolicy::Error).expect("valid file");
        let got: Vec<_> = d
            .examples
            .iter()
            .map(|e| (e.text.as_str(), e.label, e.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Miss you so much", 0, 1),
                ("I love dogs", 0, 2),
                ("I want to eat", 4, 3),
                ("food is life", 4, 5)
            ]
        );
    }

    #[test]
    fn bad_rows_name_file_line_and_reason() {
        let cases: [(&[u8], &str); 5] = [
            (b"ok,1\nno label here\n", "missing label"),
            (b"ok,1\nbad,7\n", "out of range"),
            (b"ok,1\nbad,x\n", "not a non-negative integer"),
            (b"ok,1\n  ,2\n", "empty sentence"),
            (b"ok,1\nbad \xff\xfe,2\n", "not valid UTF-8"),
        ];
        for (content, reason) in cases {
            let f = write(content);
            let err = read_labelled_csv(f.path(), 5, BadRowPolicy::Error).expect_err("bad row");
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("{}:2: ", f.path().display())),
                "{msg}"
            );
            assert!(msg.contains(reason), "{msg}");
        }
    }

    #[test]
    fn lone_carriage_returns_end_lines_too() {
        let f = write(b"ok,1\rbad,9\r\nfine,2\n");
        let err = read_labelled_csv(f.path(), 5, BadRowPolicy::Error).expect_err("bad row");
        assert!(err.to_string().contains(":2: label 9"), "{err}");
        let d = read_labelled_csv(f.path(), 5, BadRowPolicy::Skip).expect("skips");
        assert_eq!(
            d.examples.iter().map(|e| e.line).collect::<Vec<_>>(),
            [1, 3]
        );
    }

    #[test]
    fn skip_policy_counts_bad_rows() {
        let f = write(b"ok,1\nbad,9\nfine,2\n");
        let d = read_labelled_csv(f.path(), 5, BadRowPolicy::Skip).expect("skips");
        assert_eq!(d.examples.len(), 2);
        assert_eq!(d.skipped.len(), 1);
        assert_eq!(d.skipped[0].line, 2);
    }

    #[test]
    fn empty_file_is_an_error() {
        let f = write(b"");
        let err = read_labelled_csv(f.path(), 5, BadRowPolicy::Error).expect_err("empty");
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
