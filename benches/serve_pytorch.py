"""The PyTorch baseline for `emojify bench-serve`: Emojifier-V2 exported by `emojify export`,
rebuilt in PyTorch (tests/python/check_exports.py's `torch_model`), behind a minimal HTTP server
from the standard library (ThreadingHTTPServer), answering POST /v1/predict
{"texts": [...]} with each text's label and probabilities — one forward pass per request,
no batching across requests.

Tokenisation is a simplified copy of emojify's (lower-case, punctuation split off, unknown
words dropped): enough for a speed baseline, not for accuracy comparisons.

Usage: serve_pytorch.py --weights model.safetensors --vocab vocab.txt [--port 0] [--threads T]
Prints "listening on http://127.0.0.1:PORT" once ready; binds 127.0.0.1 only.
"""

import argparse
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
from check_exports import torch_model  # noqa: E402

TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", required=True)
    p.add_argument("--vocab", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, meta = torch_model(args.weights)
    max_len = int(meta["emojify.max_len"])
    with open(args.vocab, encoding="utf-8") as f:
        ids = {w.rstrip("\n"): i for i, w in enumerate(f)}

    def encode(text):
        toks = [ids[t] for t in TOKEN.findall(text.lower()) if t in ids and ids[t] != 0]
        toks = toks[:max_len]
        return toks + [0] * (max_len - len(toks))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as separate writes; with Nagle's algorithm on, each answer on
        # a kept-alive connection waits ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            if self.path != "/v1/predict":
                return self.reply(404, {"error": "no route"})
            try:
                length = int(self.headers.get("content-length", "0"))
                texts = json.loads(self.rfile.read(length))["texts"]
                batch = torch.tensor([encode(t) for t in texts], dtype=torch.long)
            except (ValueError, KeyError, TypeError) as e:
                return self.reply(400, {"error": str(e)})
            with torch.no_grad():
                probs = torch.softmax(model(batch), dim=1)
            out = [
                {"text": t, "label": int(pr.argmax()), "probabilities": pr.tolist()}
                for t, pr in zip(texts, probs)
            ]
            self.reply(200, {"predictions": out})

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
