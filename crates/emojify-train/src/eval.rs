//! Accuracy, confusion matrices and their display, and the calibration bins of a reliability
//! diagram.

/// `matrix[expected][predicted]` counts.
pub fn confusion(labels: &[usize], predicted: &[usize], classes: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; classes]; classes];
    for (&y, &p) in labels.iter().zip(predicted) {
        if y < classes && p < classes {
            m[y][p] += 1;
        }
    }
    m
}

/// Fraction of `predicted` equal to `labels` (0 for empty input).
pub fn accuracy(labels: &[usize], predicted: &[usize]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let right = labels.iter().zip(predicted).filter(|(a, b)| a == b).count();
    right as f64 / labels.len() as f64
}

/// Index of the largest value (first on ties).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// The matrix as text: rows are the expected class, columns the predicted one.
pub fn format_confusion(matrix: &[Vec<usize>], labels: &[String]) -> String {
    let width = 6;
    let mut out = format!("{:<10}", "expected↓");
    for l in labels {
        out.push_str(&pad(l, width));
    }
    out.push_str("  ← predicted\n");
    for (row, l) in matrix.iter().zip(labels) {
        out.push_str(&format!("{:<10}", pad(l, 4)));
        for n in row {
            out.push_str(&format!("{n:>width$}"));
        }
        out.push('\n');
    }
    out
}

/// Right-aligns `s` in `width` terminal columns, counting an emoji (with its variation
/// selector) as two columns.
fn pad(s: &str, width: usize) -> String {
    let cols: usize = s
        .chars()
        .map(|c| match c as u32 {
            0xFE0F | 0x200D => 0,
            0x2600..=0x27BF | 0x1F000..=0x1FAFF => 2,
            _ => 1,
        })
        .sum();
    format!("{}{s}", " ".repeat(width.saturating_sub(cols)))
}

/// The examples whose top probability fell in `[lower, upper)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// Mean top probability (0 when empty).
    pub confidence: f64,
    /// Share of them predicted right (0 when empty).
    pub accuracy: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_accuracy() {
        let m = confusion(&[0, 1, 1, 2], &[0, 1, 2, 2], 3);
        assert_eq!(m, vec![vec![1, 0, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!((accuracy(&[0, 1, 1, 2], &[0, 1, 2, 2]) - 0.75).abs() < 1e-12);
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), 1);
        let text = format_confusion(&m, &["a".into(), "b".into(), "c".into()]);
        assert_eq!(text.lines().count(), 4);
    }
}
