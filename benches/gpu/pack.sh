#!/usr/bin/env bash
# Packs, here, everything benches/gpu/run.sh needs on a GPU machine that can build nothing and
# reach no network: the stripped `emojify` binary, EMOJISET and the GloVe vectors of its words
# (not the 80 MB of all of them), a config pointing at those, and Debian's Vulkan loader. All of
# it goes to `.gpu/` in the repository root (ignored by git through .git/info/exclude), to be
# named in the device tool's `carry`. Run from the repository root; needs the README's
# prerequisites, network to Debian's mirror, and about a minute after a release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/emojify/target}"
PACK=.gpu
# The device tool carries 64 MiB in all: the repository's tracked files (~5 MiB) and this pack.
LIMIT_MIB=48

exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
rm -rf "$PACK" && mkdir -p "$PACK/data/emojiset" "$PACK/debs"

cargo build --release --workspace
# Stripped (~70 MB) and gzipped (~19 MB): run.sh unpacks it to /tmp there.
strip -o "$PACK/emojify" "$CARGO_TARGET_DIR/release/emojify"

# EMOJISET from where the program looks for data ($EMOJIFY_DATA, ./data, ../shared/data).
roots=(${EMOJIFY_DATA:+"$EMOJIFY_DATA"} ./data ../shared/data)
for f in train_emoji.csv tesss.csv; do
  found=""
  for r in "${roots[@]}"; do [[ -f "$r/emojiset/$f" ]] && { found="$r/emojiset/$f"; break; }; done
  [[ -n "$found" ]] || { echo "pack: emojiset/$f not found; looked in: ${roots[*]}" >&2; exit 1; }
  cp "$found" "$PACK/data/emojiset/$f"
done
"$PACK/emojify" data fetch >/dev/null
"$PACK/emojify" vectors subset --words-from "$PACK"/data/emojiset/*.csv \
  --out "$PACK/data/glove-emojiset.emjv"
# The shipped V2 config with those vectors: the same network, data and seeds.
sed 's|^source = .*|source = "glove-emojiset.emjv"|' configs/emojify_v2.toml > "$PACK/emojify_v2.toml"
grep -q '^source = "glove-emojiset.emjv"' "$PACK/emojify_v2.toml" || {
  echo "pack: configs/emojify_v2.toml has no [embedding] source line to point at the subset" >&2
  exit 1
}

# A font for the bench charts (the GPU machine may have none).
cp /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf "$PACK/" || {
  echo "pack: no DejaVuSans.ttf: install fonts-dejavu-core (the README's prerequisites)" >&2
  exit 1
}

# Debian's Vulkan loader (NVIDIA's driver brings the ICD, not the loader), amd64 whatever this is.
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64-lists)
mkdir -p /tmp/amd64-lists/partial
apt-get "${apt_opts[@]}" update -qq
(cd "$PACK/debs" && apt-get "${apt_opts[@]}" download -qq libvulkan1)

gzip -9 "$PACK/emojify" # last: the steps above run it
size=$(du -sm "$PACK" | cut -f1)
echo "packed $PACK: ${size} MiB"
du -sh "$PACK"/* | sed 's/^/  /'
if ((size > LIMIT_MIB)); then
  echo "pack: $PACK is ${size} MiB, over the ${LIMIT_MIB} MiB it may take of the device tool's 64" >&2
  exit 1
fi
