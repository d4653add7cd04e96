//! Scores of predictions against labels: accuracy, confusion matrices and their display,
//! per-class precision / recall / F1, and calibration (expected calibration error and the bins
//! of a reliability diagram).

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

/// `(precision, recall, F1, support)` of each class from `matrix[expected][predicted]`; a
/// score with an empty denominator is 0.
pub fn per_class(matrix: &[Vec<usize>]) -> Vec<(f64, f64, f64, usize)> {
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (0..matrix.len())
        .map(|c| {
            let tp = matrix[c][c];
            let support: usize = matrix[c].iter().sum();
            let predicted: usize = matrix.iter().map(|row| row[c]).sum();
            let (p, r) = (ratio(tp, predicted), ratio(tp, support));
            let f1 = if p + r == 0.0 {
                0.0
            } else {
                2.0 * p * r / (p + r)
            };
            (p, r, f1, support)
        })
        .collect()
}

/// Macro-averaged F1 as scikit-learn's `classification_report` computes it (TweetEval's official
/// metric): the mean of the per-class F1 over the classes that occur among the expected or the
/// predicted labels (a class in neither is left out; one never predicted scores 0).
pub fn macro_f1(labels: &[usize], predicted: &[usize], classes: usize) -> f64 {
    let matrix = confusion(labels, predicted, classes);
    let seen: Vec<f64> = per_class(&matrix)
        .into_iter()
        .enumerate()
        .filter(|&(c, (_, _, _, support))| support > 0 || matrix.iter().any(|row| row[c] > 0))
        .map(|(_, (_, _, f1, _))| f1)
        .collect();
    if seen.is_empty() {
        0.0
    } else {
        seen.iter().sum::<f64>() / seen.len() as f64
    }
}

/// Expected calibration error and the `bins` equal-width bins of the top probability.
pub fn calibration(
    probs: &[Vec<f32>],
    labels: &[usize],
    bins: usize,
) -> (f64, Vec<CalibrationBin>) {
    let bins = bins.max(1);
    let mut sums = vec![(0usize, 0f64, 0usize); bins];
    for (p, &label) in probs.iter().zip(labels) {
        let guess = argmax(p);
        let conf = f64::from(p[guess]);
        let b = ((conf * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += conf;
        sums[b].2 += usize::from(guess == label);
    }
    let n = probs.len().max(1) as f64;
    let mut ece = 0.0;
    let out = sums
        .into_iter()
        .enumerate()
        .map(|(b, (count, conf, right))| {
            let (confidence, accuracy) = if count == 0 {
                (0.0, 0.0)
            } else {
                (conf / count as f64, right as f64 / count as f64)
            };
            ece += count as f64 / n * (accuracy - confidence).abs();
            CalibrationBin {
                lower: b as f64 / bins as f64,
                upper: (b + 1) as f64 / bins as f64,
                count,
                confidence,
                accuracy,
            }
        })
        .collect();
    (ece, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_f1_averages_the_classes_seen_as_scikit_learn_does() {
        // Class 0: P 2/3, R 1 → 0.8; class 1: predicted once, never right → 0; class 2 in
        // neither list: left out, so the mean is over two classes, not three.
        let f1 = macro_f1(&[0, 0, 1], &[0, 0, 0], 3);
        assert!((f1 - 0.4).abs() < 1e-12, "{f1}");
        let f1 = macro_f1(&[0, 1], &[1, 1], 3);
        assert!((f1 - (0.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12, "{f1}");
        assert_eq!(macro_f1(&[], &[], 3), 0.0);
    }

    #[test]
    fn confusion_and_accuracy() {
        let m = confusion(&[0, 1, 1, 2], &[0, 1, 2, 2], 3);
        assert_eq!(m, vec![vec![1, 0, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!((accuracy(&[0, 1, 1, 2], &[0, 1, 2, 2]) - 0.75).abs() < 1e-12);
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), 1);
        let text = format_confusion(&m, &["a".into(), "b".into(), "c".into()]);
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn per_class_scores_follow_the_confusion_matrix() {
        // Class 0: 2 of 3 right, and one of class 1 taken for 0.
        let m = vec![vec![2, 1], vec![1, 4]];
        let s = per_class(&m);
        assert_eq!(s[0].3, 3);
        assert!((s[0].0 - 2.0 / 3.0).abs() < 1e-12 && (s[0].1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((s[1].0 - 0.8).abs() < 1e-12 && (s[1].1 - 0.8).abs() < 1e-12);
        assert_eq!(per_class(&[vec![0, 0], vec![0, 1]])[0], (0.0, 0.0, 0.0, 0));
    }

    #[test]
    fn calibration_error_is_the_weighted_gap_between_confidence_and_accuracy() {
        // Two examples at 0.95 (one right), two at 0.55 (both right).
        let probs = vec![
            vec![0.95, 0.05],
            vec![0.95, 0.05],
            vec![0.55, 0.45],
            vec![0.45, 0.55],
        ];
        let (ece, bins) = calibration(&probs, &[0, 1, 0, 1], 10);
        assert_eq!(bins.len(), 10);
        assert_eq!((bins[9].count, bins[5].count), (2, 2));
        assert!((bins[9].accuracy - 0.5).abs() < 1e-12);
        let want = 0.5 * (0.95f32 as f64 - 0.5).abs() + 0.5 * (1.0 - 0.55f32 as f64).abs();
        assert!((ece - want).abs() < 1e-9, "{ece} vs {want}");
        // A perfectly confident, always right model is calibrated.
        let (ece, _) = calibration(&[vec![1.0, 0.0]], &[0], 10);
        assert_eq!(ece, 0.0);
    }
}
