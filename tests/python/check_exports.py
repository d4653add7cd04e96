"""Loads emojify's exports in the tools they are for and checks they answer as the Rust model did.

- safetensors: rebuilt as a plain PyTorch module (nn.Embedding, nn.LSTM, nn.Conv2d, nn.Linear)
  from the config in the file's own metadata, loaded with load_state_dict(strict=True).
- ONNX: run by onnxruntime, input int64 token ids (or float values for numeric sequences),
  output probabilities.
- vocab.txt: each case's tokens map to the ids the Rust side used.

Usage: check_exports.py --safetensors F --onnx F [--vocab F] --cases cases.json [--tolerance 1e-4]
cases.json: [{"text", "tokens", "ids", "probabilities"}] written by tests/export.rs, with
"values" instead of "tokens"/"ids" for numeric sequences.
Exits non-zero with a message on the first disagreement.
"""

import argparse
import json
import sys
import tomllib

import numpy as np
import onnxruntime as ort
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn


def masked_mean(embedded, ids):
    """Mean of the non-padding (id != 0) rows of embedded [batch, steps, dim]."""
    mask = (ids != 0).float().unsqueeze(2)
    return (embedded * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class EmojifierV1(nn.Module):
    """Mean of the non-padding word vectors -> linear."""

    def __init__(self, rows, dim, classes):
        super().__init__()
        self.embedding = nn.Embedding(rows, dim)
        self.linear = nn.Linear(dim, classes)

    def forward(self, ids):
        return self.linear(masked_mean(self.embedding(ids), ids))


def embed(module, x):
    """Token ids through the embedding; numeric input ([batch, steps, 1] floats) as it is."""
    return module.embedding(x) if module.embedding is not None else x


class EmojifierV2(nn.Module):
    """(Embedding) -> LSTM x layers (dropout is inactive at inference) -> dense."""

    def __init__(self, rows, dim, hidden, layers, classes, last_token, word_mean):
        super().__init__()
        self.embedding = nn.Embedding(rows, dim) if rows else None
        self.layers = layers
        for i in range(layers):
            setattr(self, f"lstm{i + 1}", nn.LSTM(dim if i == 0 else hidden, hidden, batch_first=True))
        # word_mean: the dense layer reads the state, then the mean input vector.
        self.dense = nn.Linear(hidden + (dim if word_mean else 0), classes)
        self.last_token = last_token
        self.word_mean = word_mean

    def forward(self, ids):
        embedded = x = embed(self, ids)
        for i in range(self.layers):
            x, _ = getattr(self, f"lstm{i + 1}")(x)
        if self.last_token and self.embedding is not None:
            last = (ids != 0).sum(1).clamp(min=1) - 1
            x = x[torch.arange(x.shape[0]), last]
        else:
            x = x[:, -1]
        if self.word_mean:
            # Numeric rows have no padding: their mean is over every step.
            mean = masked_mean(embedded, ids) if self.embedding is not None else embedded.mean(1)
            x = torch.cat([x, mean], 1)
        return self.dense(x)


class Mlp(nn.Module):
    """(Embedding) -> flatten -> linear + ReLU -> linear."""

    def __init__(self, rows, dim, steps, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(rows, dim) if rows else None
        self.hidden = nn.Linear(steps * dim, hidden)
        self.output = nn.Linear(hidden, classes)

    def forward(self, x):
        x = embed(self, x).flatten(1)
        return self.output(torch.relu(self.hidden(x)))


class Cnn(nn.Module):
    """Pixels (row-major, [batch, height*width, 1]) as a one-channel image -> (Conv2d + ReLU ->
    MaxPool2d) per layer -> flatten -> linear."""

    def __init__(self, height, width, channels, kernels, pools, features, classes):
        super().__init__()
        self.image = (height, width)
        self.pools = pools or [1] * len(channels)
        inputs = 1
        for i, (c, k) in enumerate(zip(channels, kernels)):
            setattr(self, f"conv{i + 1}", nn.Conv2d(inputs, c, k))
            inputs = c
        self.dense = nn.Linear(features, classes)

    def forward(self, x):
        x = x.reshape(-1, 1, *self.image)
        for i, p in enumerate(self.pools):
            x = torch.relu(getattr(self, f"conv{i + 1}")(x))
            if p > 1:
                x = nn.functional.max_pool2d(x, p)
        return self.dense(x.flatten(1))


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def torch_model(path):
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
    config = tomllib.loads(meta["emojify.config"])
    state = load_file(path)
    # Numeric-sequence models have no embedding: one feature per step.
    rows, dim = state["embedding.weight"].shape if "embedding.weight" in state else (0, 1)
    classes = len(json.loads(meta["emojify.labels"]))
    model_cfg = config["model"]
    if model_cfg["kind"] == "mean-embedding":
        model = EmojifierV1(rows, dim, classes)
    elif model_cfg["kind"] == "cnn":
        data = config["data"]
        model = Cnn(
            data["height"],
            data["width"],
            model_cfg["channels"],
            model_cfg["kernels"],
            model_cfg.get("pools", []),
            state["dense.weight"].shape[1],
            classes,
        )
    elif model_cfg["kind"] == "mlp":
        steps = int(meta["emojify.max_len"])
        model = Mlp(rows, dim, steps, model_cfg.get("hidden", 64), classes)
    else:
        model = EmojifierV2(
            rows,
            dim,
            model_cfg.get("hidden", 128),
            model_cfg.get("layers", 2),
            classes,
            model_cfg.get("state", "last-step") == "last-token",
            model_cfg.get("word_mean", False),
        )
    model.load_state_dict(state, strict=True)
    return model.eval(), meta


def compare(name, got, want, tolerance):
    diff = float(np.max(np.abs(got - want)))
    if diff > tolerance:
        worst = int(np.argmax(np.max(np.abs(got - want), axis=1)))
        fail(f"{name}: probabilities differ by {diff:.2e} > {tolerance:g} (row {worst}: {got[worst]} vs {want[worst]})")
    labels_got, labels_want = got.argmax(1), want.argmax(1)
    if not np.array_equal(labels_got, labels_want):
        fail(f"{name}: predicted labels differ at rows {np.nonzero(labels_got != labels_want)[0].tolist()}")
    return diff


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--safetensors", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--vocab")
    ap.add_argument("--cases", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()

    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f)
    numeric = "values" in cases[0]
    if numeric:
        ids = np.array([c["values"] for c in cases], dtype=np.float32)[:, :, None]
    else:
        ids = np.array([c["ids"] for c in cases], dtype=np.int64)
    want = np.array([c["probabilities"] for c in cases], dtype=np.float32)

    if args.vocab:
        with open(args.vocab, encoding="utf-8") as f:
            vocab = {w: i for i, w in enumerate(f.read().split("\n")[:-1])}
        # Unknown words: the last line with oov = "unk", the vocabulary's own OOV word with
        # oov = "oov-token", else dropped.
        unk = vocab.get("<unk>", vocab.get("OOV"))
        for c in cases:
            mapped = [vocab.get(t, unk) for t in c["tokens"]]
            mapped = [i for i in mapped if i is not None][: ids.shape[1]]
            if mapped != [i for i in c["ids"] if i != 0]:
                fail(f"vocab.txt maps {c['tokens']} to {mapped}, Rust used {c['ids']}")

    model, meta = torch_model(args.safetensors)
    if int(meta["emojify.max_len"]) != ids.shape[1]:
        fail(f"metadata max_len {meta['emojify.max_len']} but cases have {ids.shape[1]} ids")
    with torch.no_grad():
        got_torch = torch.softmax(model(torch.from_numpy(ids)), dim=1).numpy()
    d_torch = compare("PyTorch (safetensors)", got_torch, want, args.tolerance)

    session = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    (got_onnx,) = session.run(["probabilities"], {"values" if numeric else "token_ids": ids})
    d_onnx = compare("onnxruntime (ONNX)", got_onnx, want, args.tolerance)

    print(
        f"ok: {len(cases)} sentences, torch {torch.__version__} max |diff| {d_torch:.2e}, "
        f"onnxruntime {ort.__version__} max |diff| {d_onnx:.2e}, labels identical"
    )


if __name__ == "__main__":
    main()
