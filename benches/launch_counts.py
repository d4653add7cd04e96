#!/usr/bin/env python3
"""Kernel launches per V2 training step and per inference batch on a CubeCL backend (wgpu).

CubeCL's profiling logger, at level "minimal", writes one line per kernel it executes
("Executing <kernel>"). This runs `emojify bench-worker` three times per LSTM variant in a
directory whose cubecl.toml turns that logger on, and takes differences so that start-up,
data upload and the final accuracy pass cancel:

  per training step    = (launches of 2 epochs - launches of 1 epoch) / batches per epoch
  per inference batch  = (launches with 2 timing reps - with 1) / 3
                         (each extra rep is one batch-1 call and one 1024-sentence call,
                          which inference runs as two batches of 512)

Usage: python3 benches/launch_counts.py [--emojify PATH] [--config configs/emojify_v2.toml]
       [--variants one-op,composed]
Prints a Markdown table. Needs the data (EMOJIFY_DATA or ../shared/data) and a wgpu adapter.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path


def run(emojify, config, variant, epochs, reps, batch):
    spec = {
        "config": str(Path(config).resolve()),
        "epochs": epochs,
        "batch": batch,
        "synthetic": None,
        "random_embedding": False,
        "lstm": variant,
        "threads": 2,
        "reps": reps,
        "wgpu_device": "default",
    }
    with tempfile.TemporaryDirectory() as work:
        log = Path(work) / "kernels.log"
        (Path(work) / "cubecl.toml").write_text(
            f'[profiling.logger]\nlevel = "minimal"\nfile = "{log}"\n'
        )
        out = subprocess.run(
            [emojify, "bench-worker", "--backend", "wgpu", "--spec", json.dumps(spec)],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        lines = [l for l in log.read_text().splitlines() if l.startswith("Executing")]
    return row, lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emojify", default=os.environ.get("EMOJIFY_BIN", "emojify"))
    ap.add_argument("--config", default="configs/emojify_v2.toml")
    ap.add_argument("--variants", default="one-op,composed")
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    print("| LSTM | launches per training step | per inference batch | most launched in a training step |")
    print("|---|---:|---:|---|")
    for variant in args.variants.split(","):
        row, one = run(args.emojify, args.config, variant, 1, 1, args.batch)
        _, two_epochs = run(args.emojify, args.config, variant, 2, 1, args.batch)
        _, two_reps = run(args.emojify, args.config, variant, 1, 2, args.batch)
        batches = math.ceil(row["train_sentences"] / args.batch)
        per_step = (len(two_epochs) - len(one)) / batches
        per_inference = (len(two_reps) - len(one)) / 3
        extra = Counter(two_epochs)
        extra.subtract(Counter(one))
        kinds = ", ".join(
            f"{name.removeprefix('Executing ').split(' |')[0].split('_')[0]} {n / batches:.0f}"
            for name, n in extra.most_common(3)
        )
        print(f"| {variant} | {per_step:.0f} | {per_inference:.0f} | {kinds} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
