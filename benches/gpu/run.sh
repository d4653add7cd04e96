#!/usr/bin/env bash
# The one-shot GPU benchmark. On a machine lent through the device tool, from the repository
# root, with `.gpu/` (made here by benches/gpu/pack.sh) carried:
#   run(command="bash benches/gpu/run.sh", carry=[".gpu"], timeout_s=600)
# It builds nothing and reaches no network. It installs the packed Vulkan loader if the machine
# has none, prints the GPU and driver, runs `emojify bench` on wgpu (the default adapter: the GPU
# where its ICD is the only one) and on flex with all the machine's cores, and writes every
# table to $OUT/gpu-bench.md, every bench.json to $OUT/gpu-bench.json and its own output to
# $OUT/gpu-run.log — three files, within the tool's limits — in 6 minutes at most (each step
# has its time limit), which leaves a rerun inside a session's 15 minutes of device time.
#
# EMOJIFY_GPU_SIZE=ci runs every step at a small size (tests/gpu_script.rs, on lavapipe in CI,
# so the script cannot rot); EMOJIFY_GPU_PACK points at another pack than .gpu.
# Not yet: SPIR-V against WGSL (burn's `vulkan` feature is not built, #34) and the V3 encoder.
set -uo pipefail # no -e: a step that fails or times out must not cost the others' figures
cd "$(dirname "$0")/../.."
PACK=${EMOJIFY_GPU_PACK:-.gpu}
SIZE=${EMOJIFY_GPU_SIZE:-full}
: "${OUT:?OUT must name the folder for the results}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-run.log") 2>&1
[[ (-x $PACK/emojify || -f $PACK/emojify.gz) && -f $PACK/emojify_v2.toml ]] || {
  echo "run.sh: no pack at $PACK (run benches/gpu/pack.sh where the repository builds first)"
  exit 2
}
PACK=$(cd "$PACK" && pwd)
BIN=$PACK/emojify
if [[ ! -x $BIN ]]; then # pack.sh gzips the binary to fit the device tool's 64 MiB
  BIN=/tmp/emojify-gpu/emojify
  mkdir -p "$(dirname "$BIN")" && gunzip -c "$PACK/emojify.gz" > "$BIN" && chmod +x "$BIN"
fi
CONFIG=$PACK/emojify_v2.toml

# The Vulkan loader: NVIDIA's image has the driver's ICD but maybe no loader.
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for deb in "$PACK"/debs/*.deb; do [[ -f $deb ]] && dpkg -x "$deb" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[[ -f $icd ]] && export VK_DRIVER_FILES=$icd
export EMOJIFY_DATA=$PACK/data EMOJIFY_CACHE=${EMOJIFY_CACHE:-/tmp/emojify-cache}
export EMOJIFY_FONT=${EMOJIFY_FONT:-$PACK/DejaVuSans.ttf}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

echo "== machine ($(date -u +%FT%TZ), size $SIZE)"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
else
  echo "no nvidia-smi: no NVIDIA GPU here; a wgpu row on llvmpipe (lavapipe) is a CPU's figure"
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores"
"$BIN" --version

# name | time limit (s) | bench arguments, full size | the same at CI size
steps=(
  "v2-emojiset-b32|75|--backends wgpu,flex --epochs 30 --reps 20|--backends wgpu,flex --epochs 1 --reps 1"
  "synthetic-b1024|100|--backends wgpu,flex --synthetic 102400 --batch 1024 --epochs 3 --reps 10|--backends wgpu,flex --synthetic 64 --batch 64 --epochs 1 --reps 1"
  "synthetic-b4096|100|--backends wgpu,flex --synthetic 204800 --batch 4096 --epochs 3 --reps 10|--backends wgpu,flex --synthetic 128 --batch 128 --epochs 1 --reps 1"
  "lstm-designs-b1024|75|--backends wgpu --lstm one-op,persistent,per-step,composed --synthetic 20480 --batch 1024 --epochs 2 --reps 5|--backends wgpu --lstm one-op,persistent,per-step,composed --synthetic 64 --batch 64 --epochs 1 --reps 1"
)
work=$(mktemp -d)
: > "$OUT/gpu-bench.md"
echo "{" > "$OUT/gpu-bench.json"
sep=""
failed=0
for step in "${steps[@]}"; do
  IFS='|' read -r name limit full ci <<< "$step"
  [[ $SIZE == ci ]] && args=$ci || args=$full
  echo "== $name: emojify bench --config $CONFIG $args"
  started=$SECONDS
  # shellcheck disable=SC2086 # the arguments are words
  timeout "$limit" "$BIN" bench --config "$CONFIG" $args --out "$work/$name"
  rc=$?
  echo "== $name: exit $rc after $((SECONDS - started)) s"
  if [[ -f $work/$name/bench.json ]]; then
    { echo "## $name"; echo; echo "\`emojify bench --config $CONFIG $args\`"; echo; cat "$work/$name/bench.md"; echo; } >> "$OUT/gpu-bench.md"
    { printf '%s"%s": ' "$sep" "$name"; cat "$work/$name/bench.json"; } >> "$OUT/gpu-bench.json"
    sep=","
  fi
  ((rc == 0)) || failed=$((failed + 1))
done
echo "}" >> "$OUT/gpu-bench.json"
rm -rf "$work"
echo "== done: ${#steps[@]} steps, $failed failed; tables in $OUT/gpu-bench.md"
exit $((failed > 0))
