#!/usr/bin/env bash
# Makes (once) the Python environment the export test, the sentence-encoder parity test and the
# PyTorch benchmark reference use: a venv outside the clone with torch, onnxruntime, safetensors,
# numpy, transformers and scikit-learn. Re-running it is cheap:
# an environment that already imports them is kept. Prints the venv's python on the last line.
# The integration tests run it themselves (tests/common/mod.rs: `python()`), so `cargo test` on a
# fresh machine provisions what it needs; a lock keeps two test processes from building it at once.
#
# torch from PyPI brings its CUDA wheels (~5 GB); it runs on the CPU all the same.
set -euo pipefail
cache="${EMOJIFY_CACHE:-$HOME/.cache/emojify}"
venv="$cache/pyref"
py="$venv/bin/python"
pins=(torch==2.15.0 onnxruntime==1.32.0 safetensors==0.8.0 numpy==2.4.6 transformers==5.25.0 scikit-learn==1.9.1)
check='import torch, onnxruntime, safetensors, numpy, transformers, sklearn'
mkdir -p "$cache"
exec 9>"$cache/pyref.lock"
flock 9
# The freeze is read whole before grep looks at it: `pip freeze | grep -q` under pipefail fails
# whenever grep stops reading first (pip gets SIGPIPE), and the venv was rebuilt for nothing.
frozen="$([[ -x "$py" ]] && "$py" -m pip freeze 2>/dev/null || true)"
pinned=1
for pin in "${pins[@]}"; do
  grep -qx "$pin" <<<"$frozen" || pinned=0
done
if ((pinned)) && "$py" -c "$check" 2>/dev/null; then
  echo "$py"
  exit 0
fi
if [[ -n "$frozen" ]]; then
  # A working venv that lacks a pin (one added since it was made): add it, keep torch's 5 GB.
  echo "updating $venv to ${pins[*]}" >&2
else
  echo "creating $venv (${pins[*]})" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$py" -m pip install -q --upgrade pip >&2
fi
"$py" -m pip install -q "${pins[@]}" >&2
"$py" -c "$check"
echo "$py"
