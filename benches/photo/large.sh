#!/usr/bin/env bash
# Photos at their own size, 512 px to 40 MP: Seth's portrait from ../shared/samples,
# enlarged (Lanczos) to each size, painted from Van Gogh's self-portrait by the defaults.
# For each size it records the painting's seconds (stylemark's report), the whole
# command's seconds and peak memory, the working size, the growth of the time against
# the pixel count from 512 px, and the photo scores (../shared/tools/photo_score.py,
# which scores at 256 px). The last row paints the 12 MP photo with a 2 s time budget.
#
#   cargo build --release -p stylemark-cli
#   benches/photo/large.sh            # prints a Markdown table; images in $OUT
#
# Pillow, numpy and scipy (for the enlargement and the score) go into a throwaway
# virtualenv under $OUT. Environment: BIN (default target/release), OUT (default
# /tmp/photo-large), SHARED (default ../shared), SIZES (default "512x384 1024x768
# 2048x1536 4032x3024 7296x5472").
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release}
OUT=${OUT:-/tmp/photo-large}
SHARED=${SHARED:-../shared}
SIZES=${SIZES:-512x384 1024x768 2048x1536 4032x3024 7296x5472}
mkdir -p "$OUT"
venv="$OUT/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check numpy scipy pillow
fi
py="$venv/bin/python"
style="$SHARED/samples/Gogh.jpg"

echo "| size | megapixels | working size | painting s | command s | peak MiB | s per MP | shapes | contours | shape contrast | palette | detail |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
paint() { # size, extra flags...
    local size=$1; shift
    local photo="$OUT/seth-$size.png" result="$OUT/painted-$size.png"
    [ -f "$photo" ] || "$py" -c "
import sys; from PIL import Image
w, h = map(int, sys.argv[2].split('x'))
Image.open(sys.argv[1]).convert('RGB').resize((w, h), Image.LANCZOS).save(sys.argv[3])
" "$SHARED/samples/Seth.jpg" "$size" "$photo"
    local started ended
    started=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$OUT/rss" "$BIN/stylemark" doodle --style "$style" \
        --content "$photo" --semantic-ext _none.png --output "$result" \
        --report "$OUT/report.json" --random-seed 1 --quiet "$@"
    ended=$(date +%s.%N)
    "$py" - "$style" "$photo" "$result" "$OUT/report.json" "$OUT/rss" "$size" \
        "$started" "$ended" "$SHARED/tools/photo_score.py" <<'PY'
import json, subprocess, sys
style, photo, result, report, rss, size, started, ended, tool = sys.argv[1:]
r = json.load(open(report))
w, h = map(int, size.split("x"))
mp = w * h / 1e6
work = r["phases"][-1]
s = json.loads(subprocess.check_output([sys.executable, tool, style, photo, result]))
label = size if r["status"] == "completed" else f"{size}, {r['status']}"
print(f"| {label} | {mp:.1f} | {work['width']}x{work['height']} | {r['seconds']:.2f} | "
      f"{float(ended) - float(started):.2f} | {int(open(rss).read().split()[-1]) // 1024} | "
      f"{r['seconds'] / mp:.3f} | {s['shapes']:.3f} | {s['contours']:.3f} | "
      f"{s['shape_contrast']:.2f} | {s['palette']:.2f} | {s['detail']:.2f} |")
PY
}
for size in $SIZES; do paint "$size"; done
paint 4032x3024 --time-budget 2
