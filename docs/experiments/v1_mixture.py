#!/usr/bin/env python3
"""Emojifier-V1 as an extra ensemble member of the messages model, measured without code changes
(docs/results.md, fourteenth session): the messages model's and a V1's class probabilities mixed
as (1 - w) * messages + w * V1, scored on the messages dev half and on five stratified folds of
EMOJISET's 132 training sentences (our messages training in every fold).

    python3 docs/experiments/v1_mixture.py OUT [MESSAGES_CONFIG]   # from the repository root; ~20 min

MESSAGES_CONFIG defaults to configs/emojify_messages.toml; the table in docs/results.md was taken
with the thirteenth session's (`git show 6f28f94:configs/emojify_messages.toml`).

Needs the release binary (CARGO_TARGET_DIR, else ~/.cache/emojify/target) and EMOJISET under
EMOJIFY_DATA (else ../shared/data). Runs already under OUT are reused.
"""
import csv, glob, json, os, random, re, statistics as st, subprocess, sys

ROOT = os.getcwd()
EXE = os.path.join(os.environ.get('CARGO_TARGET_DIR', os.path.expanduser('~/.cache/emojify/target')), 'release', 'emojify')
SHARED = os.environ.get('EMOJIFY_DATA', os.path.join(ROOT, '..', 'shared', 'data'))
OUT = os.path.abspath(sys.argv[1])
DATA = os.path.join(OUT, 'data')
ENV = dict(os.environ, EMOJIFY_DATA=DATA)
WEIGHTS = [0.0, 0.1, 0.2, 0.25, 0.33, 0.5, 1.0]


def emojify(*args, stdin=None):
    return subprocess.run([EXE, *args], cwd=ROOT, env=ENV, stdin=stdin, check=True,
                          capture_output=True).stdout


def make_folds():
    """Five folds of EMOJISET's training file, stratified by label, drawn with Random(7)."""
    os.makedirs(os.path.join(DATA, 'emojiset'), exist_ok=True)
    for name in ('messages', 'sst2'):
        link = os.path.join(DATA, name)
        if not os.path.exists(link):
            os.symlink(os.path.join(ROOT, 'data', name) if name == 'messages' else os.path.join(SHARED, name), link)
    lines = [l for l in open(os.path.join(SHARED, 'emojiset', 'train_emoji.csv'), newline='').read().splitlines(True) if l.strip()]
    rows = [next(csv.reader([l])) for l in lines]
    rng, fold, k = random.Random(7), {}, 0
    for lab in sorted({r[1].strip() for r in rows}):
        idx = [i for i, r in enumerate(rows) if r[1].strip() == lab]
        rng.shuffle(idx)
        for i in idx:
            fold[i], k = k % 5, k + 1
    for f in range(5):
        with open(os.path.join(DATA, 'emojiset', f'tr{f}.csv'), 'w', newline='') as o:
            o.writelines(l for i, l in enumerate(lines) if fold[i] != f)
        with open(os.path.join(DATA, 'emojiset', f'va{f}.csv'), 'w', newline='') as o:
            o.writelines(l for i, l in enumerate(lines) if fold[i] == f)


def configs():
    """The shipped messages config, and V1's model and training on the same data section (60
    epochs: about V1's 400 × 132 steps over 832 sentences)."""
    msg = open(sys.argv[2] if len(sys.argv) > 2 else 'configs/emojify_messages.toml').read()
    v1 = open('configs/emojify_v1.toml').read()
    v1 = v1[:v1.index('[data]')] + msg[msg.index('[data]'):msg.index('[embedding]')] + v1[v1.index('[embedding]'):]
    v1 = v1.replace('epochs = 400', 'epochs = 60')
    return {'msg': msg, 'v1m': v1}


def write(name, text, fold=None):
    if fold is not None:
        text = text.replace('"emojiset/train_emoji.csv"', f'"emojiset/tr{fold}.csv"').replace('"emojiset/tesss.csv"', f'"emojiset/va{fold}.csv"')
    path = os.path.join(OUT, f'{name}.toml')
    open(path, 'w').write(text)
    return path


def run(config, seed, out):
    if not glob.glob(os.path.join(out, '*', 'summary.json')):
        emojify('train', '--config', config, '--seed', str(seed), '--out', out, '--quiet')
    return glob.glob(os.path.join(out, '*', ''))[0]


def probs(run_dir, rows):
    text = ''.join(r[0] + '\n' for r in rows).encode()
    p = subprocess.run([EXE, 'predict', '--run', run_dir, '--json'], cwd=ROOT, env=ENV, input=text,
                       check=True, capture_output=True).stdout
    return [r['probabilities'] for r in json.loads(p)]


def accuracy(p, y):
    return sum(max(range(len(r)), key=r.__getitem__) == t for r, t in zip(p, y)) / len(y)


def ece(p, y, bins=10):
    """Expected calibration error as `emojify eval` reports it (10 equal-width bins; checked equal)."""
    n, conf, hit = [0] * bins, [0.0] * bins, [0] * bins
    for r, t in zip(p, y):
        c = max(r)
        b = min(int(c * bins), bins - 1)
        n[b] += 1; conf[b] += c; hit[b] += max(range(len(r)), key=r.__getitem__) == t
    return sum(abs(hit[b] - conf[b]) for b in range(bins)) / len(y)


def mix(a, b, w):
    return [[(1 - w) * x + w * z for x, z in zip(r, s)] for r, s in zip(a, b)]


def main():
    make_folds()
    cfg = configs()
    dev = [r for r in csv.reader(open('data/messages/dev.csv', newline='')) if r]
    dev_y = [int(r[1]) for r in dev]
    full = {}
    for m, c in cfg.items():
        path = write(f'full-{m}', c)
        full[m] = [probs(run(path, s, os.path.join(OUT, f'full-{m}-s{s}')), dev) for s in range(1, 11)]
    folds = []
    for f in range(5):
        val = [r for r in csv.reader(open(os.path.join(DATA, 'emojiset', f'va{f}.csv'), newline='')) if r]
        y = [int(r[1]) for r in val]
        paths = {m: write(f'{m}-f{f}', c, f) for m, c in cfg.items()}
        for s in (1, 2, 3):
            p = {m: probs(run(path, s, os.path.join(OUT, f'fold-{m}-f{f}-s{s}')), val) for m, path in paths.items()}
            folds.append((p, y))
    print('| w (V1 share) | messages dev, median (min–max) | ECE, dev, median | EMOJISET folds, mean |')
    print('|---:|---:|---:|---:|')
    for w in WEIGHTS:
        acc = [accuracy(mix(a, b, w), dev_y) for a, b in zip(full['msg'], full['v1m'])]
        cal = [ece(mix(a, b, w), dev_y) for a, b in zip(full['msg'], full['v1m'])]
        cv = st.mean(accuracy(mix(p['msg'], p['v1m'], w), y) for p, y in folds)
        print(f'| {w:.2f} | {st.median(acc):.4f} ({min(acc):.4f}–{max(acc):.4f}) | {st.median(cal):.3f} | {cv:.4f} |')


if __name__ == '__main__':
    main()
