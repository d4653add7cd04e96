"""PyTorch reference for `emojify bench --compare-pytorch`: Emojifier-V2 or the CNN.

Same network (frozen embedding -> LSTM x layers, dropout after each -> linear; or pixels ->
(Conv2d + ReLU -> MaxPool2d) x layers -> flatten -> dropout -> linear), same optimizer (Adam with
the config's lr, betas and eps), same batch size, same data (the encoded splits and the embedding
matrix `emojify` wrote), on the CPU. Measures what `emojify bench` measures and prints one JSON
line in its row format.

Usage: pytorch_reference.py --input input.json [--threads T]
"""

import argparse
import json
import os
import resource
import statistics
import time

import numpy as np
import torch
from torch import nn


class EmojifierV2(nn.Module):
    def __init__(self, matrix, hidden, layers, dropout, classes):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(matrix, freeze=True)
        self.lstms = nn.ModuleList(
            nn.LSTM(matrix.shape[1] if i == 0 else hidden, hidden, batch_first=True) for i in range(layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, classes)

    def forward(self, ids):
        x = self.embedding(ids)
        for lstm in self.lstms:
            x, _ = lstm(x)
            x = self.dropout(x)
        return self.dense(x[:, -1])


class Cnn(nn.Module):
    def __init__(self, spec, classes):
        super().__init__()
        self.image = (spec["height"], spec["width"])
        self.pools = spec["pools"] or [1] * len(spec["channels"])
        layers, inputs, (h, w) = [], 1, self.image
        for c, k, p in zip(spec["channels"], spec["kernels"], self.pools):
            layers += [nn.Conv2d(inputs, c, k), nn.ReLU()]
            h, w = h - k + 1, w - k + 1
            if p > 1:
                layers.append(nn.MaxPool2d(p))
                h, w = h // p, w // p
            inputs = c
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(spec["dropout"])
        self.dense = nn.Linear(inputs * h * w, classes)

    def forward(self, pixels):
        x = self.features(pixels.reshape(-1, 1, *self.image))
        return self.dense(self.dropout(x.flatten(1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(args.threads)
    torch.manual_seed(1)

    with open(args.input, encoding="utf-8") as f:
        spec = json.load(f)
    m = spec["model"]
    if m["kind"] == "cnn":
        # Pixels as emojify scaled them, [rows, height*width] floats.
        train_x = torch.tensor(spec["train"]["values"], dtype=torch.float32)
        test_x = torch.tensor(spec["test"]["values"], dtype=torch.float32)
        model = Cnn(m, spec["classes"])
    else:
        matrix = np.fromfile(os.path.join(os.path.dirname(args.input), "embedding.f32"), dtype="<f4")
        matrix = torch.from_numpy(matrix.reshape(spec["rows"], spec["dim"]))
        train_x = torch.tensor(spec["train"]["ids"], dtype=torch.long)
        test_x = torch.tensor(spec["test"]["ids"], dtype=torch.long)
        model = EmojifierV2(matrix, m["hidden"], m["layers"], m["dropout"], spec["classes"])
    train_y = torch.tensor(spec["train"]["labels"], dtype=torch.long)
    test_y = torch.tensor(spec["test"]["labels"], dtype=torch.long)
    optim = torch.optim.Adam(
        (p for p in model.parameters() if p.requires_grad),
        lr=spec["lr"],
        betas=(spec["beta1"], spec["beta2"]),
        eps=spec["eps"],
    )
    loss_fn = nn.CrossEntropyLoss()
    batch = spec["batch"]
    n = len(train_x)
    epoch_s = []
    for _ in range(spec["epochs"]):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n)
        total = torch.zeros(())
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            optim.zero_grad(set_to_none=True)
            loss = loss_fn(model(train_x[idx]), train_y[idx])
            loss.backward()
            optim.step()
            total += loss.detach() * len(idx)
        float(total)  # read the loss once per epoch, as emojify does
        epoch_s.append(time.perf_counter() - started)

    model.eval()

    def probabilities(x):
        with torch.no_grad():
            return torch.cat([torch.softmax(model(c), 1) for c in x.split(512)]).numpy()

    accuracy = float((probabilities(test_x).argmax(1) == test_y.numpy()).mean())

    def timed(x):
        probabilities(x)
        times = []
        for _ in range(spec["reps"]):
            started = time.perf_counter()
            probabilities(x)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    big = test_x.repeat((1024 + len(test_x) - 1) // len(test_x), 1)[:1024]
    median_epoch = statistics.median(epoch_s[1:]) if len(epoch_s) > 1 else epoch_s[0]
    print(
        json.dumps(
            {
                "backend": "pytorch",
                "device": f"cpu (torch {torch.__version__})",
                "threads": torch.get_num_threads(),
                "train_sentences": n,
                "warmup_s": epoch_s[0],
                "median_epoch_s": median_epoch,
                "total_train_s": sum(epoch_s),
                "train_sentences_per_s": n / median_epoch,
                "infer_b1_ms": timed(test_x[:1]) * 1000,
                "infer_b1024_sentences_per_s": 1024 / timed(big),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "test_accuracy": None if spec["synthetic"] else accuracy,
            }
        )
    )


if __name__ == "__main__":
    main()
