"""PyTorch reference for `emojify bench-encoder`: all-MiniLM-L6-v2 through `transformers`
(AutoTokenizer + AutoModel, mean pooling, L2 normalisation) on the files emojify reads, the same
sentences, batch sizes and repetitions, on the CPU. Prints one JSON line: a list of rows in
emojify's format.

Usage: encoder_reference.py --model DIR --spec JSON
"""

import argparse
import itertools
import json
import os
import resource
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--spec", required=True)
    args = ap.parse_args()
    spec = json.loads(args.spec)
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
        torch.set_num_interop_threads(spec["threads"])
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model).eval()
    load_s = time.perf_counter() - started

    def embed(sentences, batch):
        with torch.no_grad():
            for start in range(0, len(sentences), batch):
                enc = tokenizer(
                    sentences[start : start + batch], truncation=True, max_length=256, padding=True, return_tensors="pt"
                )
                states = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                torch.nn.functional.normalize(mean, p=2, dim=1).numpy()

    rows = []
    for name, texts in spec["texts"]:
        work = list(itertools.islice(itertools.cycle(texts), spec["sentences"]))
        per_s = []
        for batch in spec["batches"]:
            n = min(len(work), 32) if batch == 1 else len(work)
            embed(work[: min(n, batch)], batch)
            times = []
            for _ in range(max(spec["reps"], 1)):
                t = time.perf_counter()
                embed(work[:n], batch)
                times.append(time.perf_counter() - t)
            per_s.append([batch, n / statistics.median_low(times)])
        rows.append(
            {
                "backend": "pytorch",
                "device": f"cpu (torch {torch.__version__})",
                "threads": torch.get_num_threads(),
                "text": name,
                "load_s": load_s,
                "per_s": per_s,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
