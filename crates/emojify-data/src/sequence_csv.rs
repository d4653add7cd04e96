//! Readers for `class,0,…,N` CSVs with a header, optionally gzip-compressed: a class name, then
//! one fixed-length sequence per row — numbers (the shapes task), pre-tokenised words padded
//! with `PAD` (SST-2), or an image's pixels in row-major order under `class,1x1,…,HxW` (MNIST).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::DataError;
use crate::dataset::{BadRowPolicy, RowError, parse_records};

/// What each step of a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// A finite number (one feature per step).
    Numbers,
    /// A token; `PAD` marks padding and is dropped.
    Tokens,
    /// One pixel of a `height × width` image, from 0 to `max`, scaled to [0, 1]. The header
    /// must name the pixels `1x1,1x2,…` (row x column, 1-based, row-major), so a file of another
    /// size or layout is refused before any row is read.
    Pixels {
        height: usize,
        width: usize,
        max: u16,
    },
}

/// The padding token of pre-tokenised files.
pub const PAD: &str = "PAD";

/// One row: its class index and its steps (`values` for numbers, `tokens` for words).
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceExample {
    pub label: usize,
    pub line: u64,
    pub values: Vec<f32>,
    pub tokens: Vec<String>,
}

/// The rows of one file, the number of steps its header declares, and the rows skipped.
#[derive(Debug, Clone)]
pub struct SequenceCsv {
    pub file: PathBuf,
    pub steps: usize,
    pub examples: Vec<SequenceExample>,
    pub skipped: Vec<RowError>,
}

/// Reads a `class,0,…,N` file (gzip when the name ends in `.gz`). Classes are matched against
/// `labels`, whose order defines the class indices, so the mapping is the config's, not the
/// file's order of appearance.
pub fn read_sequence_csv(
    path: &Path,
    kind: StepKind,
    labels: &[String],
    policy: BadRowPolicy,
) -> Result<SequenceCsv, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| DataError::bad_file(path, format!("not a valid gzip file: {e}")))?;
        out
    } else {
        raw
    };
    parse_sequence_csv(&bytes, path, kind, labels, policy)
}

/// [`read_sequence_csv`] on (decompressed) bytes in memory; `path` names them in errors.
pub fn parse_sequence_csv(
    bytes: &[u8],
    path: &Path,
    kind: StepKind,
    labels: &[String],
    policy: BadRowPolicy,
) -> Result<SequenceCsv, DataError> {
    let mut columns: Option<usize> = None;
    let mut header_error: Option<(u64, String)> = None;
    let parsed = parse_records(bytes, path, policy, |record, line| {
        let Some(columns) = columns else {
            if header_error.is_some() {
                return Ok(None); // the first line was the header, and it was refused
            }
            match check_header(record, kind) {
                Ok(n) => columns = Some(n),
                Err(reason) => header_error = Some((line, reason)),
            }
            return Ok(None);
        };
        parse_row(record, columns, kind, labels).map(|(label, values, tokens)| {
            Some(SequenceExample {
                label,
                line,
                values,
                tokens,
            })
        })
    });
    // A bad header is never skippable: without it no row can be checked.
    if let Some((line, reason)) = header_error {
        return Err(DataError::BadRow {
            file: path.to_path_buf(),
            line,
            reason,
        });
    }
    let (rows, skipped) = parsed?;
    let examples: Vec<SequenceExample> = rows.into_iter().flatten().collect();
    if examples.is_empty() {
        return Err(DataError::bad_file(
            path,
            "no examples: the data set has a header but no rows",
        ));
    }
    Ok(SequenceCsv {
        file: path.to_path_buf(),
        steps: columns.map_or(0, |c| c - 1),
        examples,
        skipped,
    })
}

fn check_header(record: &csv::ByteRecord, kind: StepKind) -> Result<usize, String> {
    let first = record.get(0).and_then(|f| std::str::from_utf8(f).ok());
    if first.map(str::trim) != Some("class") || record.len() < 2 {
        return Err("expected a header `class,0,1,…` naming the class column and the steps".into());
    }
    if let StepKind::Pixels { height, width, .. } = kind {
        let pixels = record.len() - 1;
        if pixels != height * width {
            return Err(format!(
                "the header names {pixels} pixels; the config's {height}×{width} image has {}",
                height * width
            ));
        }
        for (i, field) in record.iter().skip(1).enumerate() {
            let expected = pixel_name(i, width);
            if field.trim_ascii() != expected.as_bytes() {
                return Err(format!(
                    "header column {} is `{}`, expected `{expected}` (pixels named row x \
                     column, row-major)",
                    i + 1,
                    String::from_utf8_lossy(field)
                ));
            }
        }
    }
    Ok(record.len())
}

/// Pixel `index` (0-based, row-major) of a `width`-wide image as headers and errors name it:
/// `row x column`, 1-based.
pub fn pixel_name(index: usize, width: usize) -> String {
    format!("{}x{}", index / width + 1, index % width + 1)
}

/// A pixel value scaled to [0, 1], or `None` when it is outside `0..=max`: the one rule for the
/// data files and for pixels typed at prediction time.
pub fn scale_pixel(value: f32, max: u16) -> Option<f32> {
    (0.0..=f32::from(max))
        .contains(&value)
        .then(|| value / f32::from(max))
}

type Row = (usize, Vec<f32>, Vec<String>);

fn parse_row(
    record: &csv::ByteRecord,
    columns: usize,
    kind: StepKind,
    labels: &[String],
) -> Result<Row, String> {
    if record.len() != columns {
        return Err(format!(
            "expected {columns} columns (class + {} steps, as the header says), found {}",
            columns - 1,
            record.len()
        ));
    }
    let field = |i: usize| -> Result<&str, String> {
        std::str::from_utf8(record.get(i).unwrap_or_default())
            .map_err(|e| format!("column {i} is not valid UTF-8 ({e})"))
    };
    let class = field(0)?.trim();
    let label = labels.iter().position(|l| l == class).ok_or_else(|| {
        format!(
            "class `{class}` is not one of the configured labels [{}]",
            labels.join(", ")
        )
    })?;
    let mut values = Vec::new();
    let mut tokens = Vec::new();
    for i in 1..columns {
        let text = field(i)?;
        match kind {
            StepKind::Numbers => {
                let v: f32 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("step {}: `{text}` is not a number", i - 1))?;
                if !v.is_finite() {
                    return Err(format!("step {}: `{text}` is not finite", i - 1));
                }
                values.push(v);
            }
            StepKind::Tokens => {
                if text != PAD && !text.is_empty() {
                    tokens.push(text.to_string());
                }
            }
            StepKind::Pixels { width, max, .. } => {
                let at = || format!("pixel {}", pixel_name(i - 1, width));
                let v: f32 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("{}: `{text}` is not a number", at()))?;
                let scaled = scale_pixel(v, max)
                    .ok_or_else(|| format!("{}: `{text}` is outside 0–{max}", at()))?;
                values.push(scaled);
            }
        }
    }
    Ok((label, values, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["square", "triangle"].map(String::from).to_vec()
    }

    fn parse(text: impl AsRef<[u8]>, kind: StepKind) -> Result<SequenceCsv, DataError> {
        parse_sequence_csv(
            text.as_ref(),
            Path::new("x.csv"),
            kind,
            &labels(),
            BadRowPolicy::Error,
        )
    }

    #[test]
    fn numbers_and_tokens_rows_are_read_with_their_lines() {
        let d = parse(
            "class,0,1,2\nsquare,0,1.5,0\n\ntriangle,1,0,-2\n",
            StepKind::Numbers,
        )
        .expect("valid");
        assert_eq!(d.steps, 3);
        let got: Vec<_> = d
            .examples
            .iter()
            .map(|e| (e.label, e.line, e.values.clone()))
            .collect();
        assert_eq!(
            got,
            vec![(0, 2, vec![0.0, 1.5, 0.0]), (1, 4, vec![1.0, 0.0, -2.0])]
        );
        let d = parse(
            "class,0,1,2,3\ntriangle,a,\",\",OOV,PAD\n",
            StepKind::Tokens,
        )
        .expect("valid");
        assert_eq!(d.examples[0].tokens, ["a", ",", "OOV"]);
    }

    #[test]
    fn bad_rows_name_line_and_reason() {
        let cases: [(&[u8], StepKind, &str); 6] = [
            (
                b"class,0,1\nsquare,1\n",
                StepKind::Numbers,
                "expected 3 columns",
            ),
            (
                b"class,0,1\ncircle,1,2\n",
                StepKind::Numbers,
                "class `circle` is not one of",
            ),
            (
                b"class,0,1\nsquare,1,x\n",
                StepKind::Numbers,
                "step 1: `x` is not a number",
            ),
            (
                b"class,0,1\nsquare,1,NaN\n",
                StepKind::Numbers,
                "not finite",
            ),
            (
                b"class,0,1\nsquare,a,\xff\n",
                StepKind::Tokens,
                "not valid UTF-8",
            ),
            (
                b"0,1,2\nsquare,1,2\n",
                StepKind::Numbers,
                "expected a header",
            ),
        ];
        for (text, kind, reason) in cases {
            let err = parse(text, kind).expect_err(reason).to_string();
            assert!(err.contains(reason), "{err}");
            assert!(err.starts_with("x.csv:"), "{err}");
        }
        let err = parse("class,0,1\n", StepKind::Numbers).expect_err("no rows");
        assert!(err.to_string().contains("no rows"), "{err}");
    }

    fn pixels(height: usize, width: usize) -> StepKind {
        StepKind::Pixels {
            height,
            width,
            max: 255,
        }
    }

    #[test]
    fn pixels_are_scaled_and_their_header_and_range_checked() {
        let d = parse("class,1x1,1x2,2x1,2x2\nsquare,0,255,51,102\n", pixels(2, 2)).expect("valid");
        assert_eq!(d.steps, 4);
        assert_eq!(d.examples[0].values, [0.0, 1.0, 0.2, 0.4]);
        let cases: [(&str, StepKind, &str); 4] = [
            (
                "class,1x1,1x2\nsquare,0,0\n",
                pixels(2, 2),
                "x.csv:1: the header names 2 pixels; the config's 2×2 image has 4",
            ),
            (
                "class,1x1,2x1,1x2,2x2\nsquare,0,0,0,0\n",
                pixels(2, 2),
                "x.csv:1: header column 2 is `2x1`, expected `1x2`",
            ),
            (
                "class,1x1,1x2,2x1,2x2\nsquare,0,0,256,0\n",
                pixels(2, 2),
                "x.csv:2: pixel 2x1: `256` is outside 0–255",
            ),
            (
                "class,1x1,1x2,2x1,2x2\nsquare,0,0,0,-1\n",
                pixels(2, 2),
                "x.csv:2: pixel 2x2: `-1` is outside 0–255",
            ),
        ];
        for (text, kind, reason) in cases {
            let err = parse(text, kind).expect_err(reason).to_string();
            assert!(err.starts_with(reason), "{err}");
        }
        // A row with a bad pixel is skipped under `bad_rows = "skip"`, named with its line.
        let d = parse_sequence_csv(
            b"class,1x1\nsquare,300\ntriangle,3\n",
            Path::new("x.csv"),
            pixels(1, 1),
            &labels(),
            BadRowPolicy::Skip,
        )
        .expect("one good row");
        assert_eq!(
            (d.examples.len(), d.skipped.len(), d.skipped[0].line),
            (1, 1, 2)
        );
    }

    #[test]
    fn gzip_is_read_directly_and_bad_gzip_is_named() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"class,0\nsquare,3\n").expect("gzip");
        std::fs::write(&path, gz.finish().expect("gzip")).expect("write");
        let d = read_sequence_csv(&path, StepKind::Numbers, &labels(), BadRowPolicy::Error)
            .expect("gzip read");
        assert_eq!(d.examples[0].values, [3.0]);
        std::fs::write(&path, b"not gzip").expect("write");
        let err = read_sequence_csv(&path, StepKind::Numbers, &labels(), BadRowPolicy::Error)
            .expect_err("bad gzip");
        assert!(err.to_string().contains("not a valid gzip file"), "{err}");
    }
}
