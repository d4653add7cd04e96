//! What `emojify bench-encoder` measures: the sentence encoder's inference on one backend —
//! loading it from the cache, then sentences per second at each batch size on real text
//! (EMOJISET's training sentences, our training messages) — and the table that compares backends
//! with `benches/encoder_reference.py` (`transformers` on the same files and threads).

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::backend::{BackendKind, WgpuChoice};
use crate::experiments::bench::{Cpu, median, peak_rss_mib};
use crate::inputs::encoder::{DEFAULT_MAX_TOKENS, load_minilm};

/// What one run measures; shared by the parent, its worker processes and the PyTorch script.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncoderBenchSpec {
    /// Named sets of sentences to encode.
    pub texts: Vec<(String, Vec<String>)>,
    pub batches: Vec<usize>,
    /// Sentences encoded per measurement (cycled from the set).
    pub sentences: usize,
    /// Repetitions of each measurement (the median is reported).
    pub reps: usize,
    pub threads: Option<usize>,
    pub wgpu_device: WgpuChoice,
}

/// One backend's figures on one text set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncoderRow {
    pub backend: String,
    pub device: String,
    pub threads: Option<usize>,
    pub text: String,
    /// Seconds to load the encoder and tokenizer from the cache onto the device.
    pub load_s: f64,
    /// `(batch, sentences per second)`, one per batch size.
    pub per_s: Vec<(usize, f64)>,
    pub peak_rss_mib: f64,
}

/// The default text sets: EMOJISET's training sentences and our training messages.
pub fn default_texts(data_dir: Option<&Path>) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let dir = emojify_data::DataDir::new(data_dir);
    let read = |p: &str| -> anyhow::Result<Vec<String>> {
        let path = dir.resolve(Path::new(p))?;
        Ok(
            emojify_data::read_labelled_csv(&path, 5, emojify_data::BadRowPolicy::Error)?
                .examples
                .into_iter()
                .map(|e| e.text)
                .collect(),
        )
    };
    Ok(vec![
        ("emojiset".into(), read("emojiset/train_emoji.csv")?),
        ("messages".into(), read("messages/train.csv")?),
    ])
}

/// Measures the encoder on `backend` in this process.
pub fn run_encoder_worker(
    spec: &EncoderBenchSpec,
    backend: BackendKind,
) -> anyhow::Result<Vec<EncoderRow>> {
    let device = backend.device(spec.wgpu_device)?;
    let started = Instant::now();
    let encoder = load_minilm(&device, DEFAULT_MAX_TOKENS, &emojify_data::Silent)?;
    let load_s = started.elapsed().as_secs_f64();
    let device_name = match backend {
        BackendKind::Wgpu => device
            .identity()
            .map_or_else(|| format!("wgpu {}", spec.wgpu_device), |id| id.name),
        _ => "cpu".into(),
    };
    let mut rows = Vec::new();
    for (name, texts) in &spec.texts {
        anyhow::ensure!(!texts.is_empty(), "no sentences in `{name}`");
        let work: Vec<String> = texts.iter().cycle().take(spec.sentences).cloned().collect();
        let mut per_s = Vec::new();
        for &batch in &spec.batches {
            // Batch 1 on a few sentences: each is its own forward pass.
            let n = if batch == 1 {
                work.len().min(32)
            } else {
                work.len()
            };
            encoder.embed(&work[..n.min(batch)], batch, &device)?; // warm-up
            let mut times = Vec::with_capacity(spec.reps);
            for _ in 0..spec.reps.max(1) {
                let t = Instant::now();
                encoder.embed(&work[..n], batch, &device)?;
                times.push(t.elapsed().as_secs_f64());
            }
            per_s.push((batch, n as f64 / median(&mut times)));
        }
        rows.push(EncoderRow {
            backend: backend.to_string(),
            device: device_name.clone(),
            threads: spec.threads,
            text: name.clone(),
            load_s,
            per_s,
            peak_rss_mib: peak_rss_mib(),
        });
    }
    Ok(rows)
}

/// The table, headed by the CPU; with a PyTorch row per text, each figure's ratio to it.
pub fn encoder_markdown(rows: &[EncoderRow], spec: &EncoderBenchSpec, cpu: &Cpu) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "all-MiniLM-L6-v2 inference, {} sentences per measurement, median of {} reps, threads {}\n\nCPU: {}\n\n",
        spec.sentences,
        spec.reps,
        spec.threads.map_or("default".into(), |t| t.to_string()),
        cpu.describe()
    );
    let _ = write!(s, "| backend | device | text | load s |");
    for b in &spec.batches {
        let _ = write!(s, " b={b} sent/s |");
    }
    let _ = writeln!(s, " peak RSS MiB |");
    let _ = writeln!(
        s,
        "|---|---|---|---:|{}---:|",
        "---:|".repeat(spec.batches.len())
    );
    for r in rows {
        let reference = rows
            .iter()
            .find(|p| p.backend == "pytorch" && p.text == r.text && r.backend != "pytorch");
        let _ = write!(
            s,
            "| {} | {} | {} | {:.2} |",
            r.backend, r.device, r.text, r.load_s
        );
        for (i, (_, v)) in r.per_s.iter().enumerate() {
            match reference.and_then(|p| p.per_s.get(i)) {
                Some((_, p)) => {
                    let _ = write!(s, " {v:.0} ({:.2}×) |", v / p);
                }
                None => {
                    let _ = write!(s, " {v:.0} |");
                }
            }
        }
        let _ = writeln!(s, " {:.0} |", r.peak_rss_mib);
    }
    if rows.iter().any(|r| r.backend == "pytorch") {
        s.push_str("\nRatios are to the PyTorch row of the same text: above 1 is faster.\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_ratios_to_pytorch_per_text() {
        let row = |backend: &str, text: &str, b1: f64, b64: f64| EncoderRow {
            backend: backend.into(),
            device: "cpu".into(),
            threads: Some(2),
            text: text.into(),
            load_s: 0.5,
            per_s: vec![(1, b1), (64, b64)],
            peak_rss_mib: 300.0,
        };
        let spec = EncoderBenchSpec {
            texts: Vec::new(),
            batches: vec![1, 64],
            sentences: 256,
            reps: 3,
            threads: Some(2),
            wgpu_device: WgpuChoice::Default,
        };
        let cpu = Cpu {
            model: "x".into(),
            family: None,
            model_number: None,
            vector: "AVX2".into(),
            cores: 2,
        };
        let md = encoder_markdown(
            &[
                row("flex", "emojiset", 50.0, 400.0),
                row("pytorch", "emojiset", 100.0, 200.0),
            ],
            &spec,
            &cpu,
        );
        assert!(
            md.contains("| flex | cpu | emojiset | 0.50 | 50 (0.50×) | 400 (2.00×) | 300 |"),
            "{md}"
        );
        assert!(
            md.contains("| pytorch | cpu | emojiset | 0.50 | 100 | 200 | 300 |"),
            "{md}"
        );
        assert!(md.contains("CPU: x, AVX2, 2 logical cores"), "{md}");
    }
}
