//! PNG plots: a run's loss and accuracy curves and test confusion matrix, benchmark bars,
//! cross-validation curves and reliability diagrams.
//!
//! Text is drawn with `ab_glyph` from a TrueType font found on the system (DejaVu Sans on
//! Debian; `$EMOJIFY_FONT` overrides), so no font library is needed at build time.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::fit::scores::CalibrationBin;
use crate::run::metrics::EpochMetrics;

const FONT_PATHS: [&str; 6] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers a system font once; the error says where it looked.
fn ensure_font() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let mut candidates: Vec<PathBuf> = Vec::new();
            if let Some(p) = std::env::var_os("EMOJIFY_FONT") {
                candidates.push(p.into());
            }
            candidates.extend(FONT_PATHS.iter().map(PathBuf::from));
            for path in &candidates {
                if let Ok(bytes) = std::fs::read(path) {
                    // plotters keeps fonts for the life of the process.
                    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                    if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                        return Ok(());
                    }
                }
            }
            Err(format!(
                "no TrueType font for plot labels (install fonts-dejavu-core or set EMOJIFY_FONT); looked in: {}",
                candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ))
        })
        .clone()
}

/// Renders into an RGB buffer and writes it as PNG atomically.
fn render_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> anyhow::Result<()> {
    ensure_font().map_err(anyhow::Error::msg)?;
    let mut buffer = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, size).into_drawing_area();
        draw(root).map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))?;
    }
    let mut png = Vec::new();
    use image::ImageEncoder as _;
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&buffer, size.0, size.1, image::ColorType::Rgb8)
        .map_err(|e| anyhow::anyhow!("encoding {}: {e}", path.display()))?;
    emojify_data::atomic::write_bytes_atomic(path, &png)?;
    Ok(())
}

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A named line over epochs: (name, colour, (epoch, value) points).
type Line = (String, RGBAColor, Vec<(usize, f64)>);

/// One chart of lines over epochs 1..=`epochs` in `area`; a legend when there is more than one.
fn epoch_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    epochs: usize,
    y: std::ops::Range<f64>,
    lines: &[Line],
) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1..epochs.max(2), y)
        .map_err(s)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .draw()
        .map_err(s)?;
    for (name, color, points) in lines {
        let color = *color;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(s)?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    if lines.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(s)?;
    }
    Ok(())
}

/// Loss (left) and train/test accuracy with test macro-F1 (right) per epoch.
pub fn curves_png(metrics: &[EpochMetrics], title: &str, path: &Path) -> anyhow::Result<()> {
    let max_loss = metrics.iter().map(|m| m.loss).fold(0.0, f64::max).max(1e-3) * 1.05;
    let series = |name: &str, color: RGBColor, pick: fn(&EpochMetrics) -> f64| -> Line {
        let points = metrics.iter().map(|m| (m.epoch, pick(m))).collect();
        (name.to_string(), color.to_rgba(), points)
    };
    render_png(path, (1100, 460), |root| {
        root.fill(&WHITE).map_err(s)?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(s)?;
        let (left, right) = root.split_horizontally(550);
        let loss = [series("loss", BLUE, |m| m.loss)];
        epoch_panel(
            &left,
            "training loss",
            "cross-entropy",
            metrics.len(),
            0.0..max_loss,
            &loss,
        )?;
        let acc = [
            series("train accuracy", BLUE, |m| m.train_acc),
            series("test accuracy", RED, |m| m.test_acc),
            series("test macro-F1", GREEN, |m| m.test_macro_f1),
        ];
        epoch_panel(
            &right,
            "accuracy and test macro-F1",
            "accuracy",
            metrics.len(),
            0.0..1.0,
            &acc,
        )?;
        root.present().map_err(s)
    })
}

/// A heat map of `matrix[expected][predicted]` with the count in each cell.
pub fn confusion_png(
    matrix: &[Vec<usize>],
    names: &[String],
    title: &str,
    path: &Path,
) -> anyhow::Result<()> {
    // Sized by the class count, so 20 classes stay as readable as 5: cells of at least 34 px,
    // counts in a font that fits them, and with many long names the columns numbered (the rows
    // carry number and name) instead of names written over each other.
    let count = names.len().max(1);
    let side = (count as u32 * 34).max(440);
    let cell = f64::from(side) / count as f64;
    let numbered = count > 6 && names.iter().any(|n| n.chars().count() > 4);
    let row_names: Vec<String> = if numbered {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n} {i}"))
            .collect()
    } else {
        names.to_vec()
    };
    let column_names: Vec<String> = if numbered {
        (0..count).map(|i| i.to_string()).collect()
    } else {
        names.to_vec()
    };
    let axis_font = if count > 10 { 13 } else { 15 };
    let longest = row_names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(1) as u32;
    let y_area = (longest * axis_font * 6 / 10 + 20).max(60);
    let count_font = (cell * 0.42).clamp(10.0, 22.0) as u32;
    render_png(path, (side + y_area + 60, side + 130), |root| {
        root.fill(&WHITE).map_err(s)?;
        let n = names.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(y_area)
            .build_cartesian_2d(-0.5..n - 0.5, -0.5..n - 0.5)
            .map_err(s)?;
        let label = |list: &[String], v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                list.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let column_label = |v: &f64| label(&column_names, v);
        // Rows top to bottom in class order: row r sits at y = n - 1 - r.
        let row_label = |v: &f64| label(&row_names, &(n - 1.0 - v));
        let predicted = if numbered {
            "predicted (class number)"
        } else {
            "predicted"
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(names.len())
            .y_labels(names.len())
            .x_label_formatter(&column_label)
            .y_label_formatter(&row_label)
            .label_style(("sans-serif", axis_font))
            .x_desc(predicted)
            .y_desc("expected")
            .draw()
            .map_err(s)?;
        let peak = matrix.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
        for (r, row) in matrix.iter().enumerate() {
            for (c, &count) in row.iter().enumerate() {
                let (x, y) = (c as f64, n - 1.0 - r as f64);
                let shade = count as f64 / peak;
                let color = if r == c {
                    RGBColor(30, 110, 200)
                } else {
                    RGBColor(210, 60, 50)
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                        color.mix(0.1 + 0.85 * shade).filled(),
                    )))
                    .map_err(s)?;
                let style = TextStyle::from(("sans-serif", count_font).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart
                    .draw_series(std::iter::once(Text::new(count.to_string(), (x, y), style)))
                    .map_err(s)?;
            }
        }
        root.present().map_err(s)
    })
}

/// A reliability diagram: each confidence bin's accuracy as a bar beside the diagonal a
/// calibrated model would follow, with the bin's example count written on it.
pub fn reliability_png(bins: &[CalibrationBin], title: &str, path: &Path) -> anyhow::Result<()> {
    render_png(path, (640, 600), |root| {
        root.fill(&WHITE).map_err(s)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(s)?;
        chart
            .configure_mesh()
            .x_desc("confidence (top probability)")
            .y_desc("accuracy")
            .draw()
            .map_err(s)?;
        chart
            .draw_series(bins.iter().filter(|b| b.count > 0).map(|b| {
                Rectangle::new(
                    [(b.lower + 0.005, 0.0), (b.upper - 0.005, b.accuracy)],
                    RGBColor(30, 110, 200).mix(0.75).filled(),
                )
            }))
            .map_err(s)?
            .label("accuracy per bin")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 12, y + 5)],
                    RGBColor(30, 110, 200).filled(),
                )
            });
        for b in bins.iter().filter(|b| b.count > 0) {
            let style = TextStyle::from(("sans-serif", 14).into_font())
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            chart
                .draw_series(std::iter::once(Text::new(
                    b.count.to_string(),
                    ((b.lower + b.upper) / 2.0, (b.accuracy + 0.01).min(0.97)),
                    style,
                )))
                .map_err(s)?;
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                RED.stroke_width(2),
            ))
            .map_err(s)?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], RED.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(s)?;
        root.present().map_err(s)
    })
}

/// Side-by-side bars of named values (e.g. sentences/s per backend), one panel per metric.
pub fn bars_png(
    title: &str,
    names: &[String],
    panels: &[(&str, Vec<f64>)],
    path: &Path,
) -> anyhow::Result<()> {
    let width = 480 * panels.len().max(1) as u32;
    render_png(path, (width, 440), |root| {
        root.fill(&WHITE).map_err(s)?;
        let root = root.titled(title, ("sans-serif", 20)).map_err(s)?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for ((caption, values), area) in panels.iter().zip(&areas) {
            let top = values
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max)
                * 1.15;
            let mut chart = ChartBuilder::on(area)
                .caption(*caption, ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(
                    (0..names.len().max(2) - 1).into_segmented(),
                    0.0..top.max(1e-9),
                )
                .map_err(s)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_label_formatter(&|x| match x {
                    SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                    _ => String::new(),
                })
                .draw()
                .map_err(s)?;
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(i), 0.0),
                            (SegmentValue::Exact(i + 1), v),
                        ],
                        Palette99::pick(i).filled(),
                    );
                    bar.set_margin(0, 0, 12, 12);
                    bar
                }))
                .map_err(s)?;
        }
        root.present().map_err(s)
    })
}

/// A named curve over epochs 1, 2, ….
pub type EpochLine<'a> = (String, &'a [f64]);

/// One line per named curve, one panel per group of curves (e.g. single models and ensembles);
/// the y axis spans the values shown.
pub fn epoch_lines_png(
    title: &str,
    y_desc: &str,
    panels: &[(&str, Vec<EpochLine<'_>>)],
    path: &Path,
) -> anyhow::Result<()> {
    let values = || {
        panels
            .iter()
            .flat_map(|(_, lines)| lines.iter())
            .flat_map(|(_, v)| v.iter())
    };
    let (lo, hi) = values()
        .copied()
        .filter(|v| v.is_finite())
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let epochs = panels
        .iter()
        .flat_map(|(_, lines)| lines.iter().map(|(_, v)| v.len()))
        .max()
        .unwrap_or(0);
    let width = 620 * panels.len().max(1) as u32;
    render_png(path, (width, 480), |root| {
        root.fill(&WHITE).map_err(s)?;
        let root = root.titled(title, ("sans-serif", 20)).map_err(s)?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for ((caption, curves), area) in panels.iter().zip(&areas) {
            let lines: Vec<Line> = curves
                .iter()
                .enumerate()
                .map(|(i, (name, curve))| {
                    let points = curve.iter().enumerate().map(|(e, &v)| (e + 1, v)).collect();
                    (name.clone(), Palette99::pick(i).to_rgba(), points)
                })
                .collect();
            epoch_panel(
                area,
                caption,
                y_desc,
                epochs,
                (lo - pad)..(hi + pad),
                &lines,
            )?;
        }
        root.present().map_err(s)
    })
}
