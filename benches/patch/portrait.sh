#!/usr/bin/env bash
# A photo painted from a painting by patch synthesis: time, peak memory, the region scores
# of score-doodle (measured with the maps even when the run does not get them) and how
# much of the photo's structure is kept (correlation of blurred luminance).
#
#   cargo build --release -p stylemark-cli -p stylemark-benches
#   benches/patch/portrait.sh DIR NAME maps|nomaps [stylemark doodle flags...]
#
# DIR holds style.jpg, style_sem.png, content.jpg and content_sem.png (for example the
# reference's Gogh/Seth "Portraits" pair, not part of this repository). Needs python3 with
# Pillow and numpy. Environment: BIN (default target/release), OUT (default /tmp/portrait).
set -euo pipefail
BIN=${BIN:-target/release}
OUT=${OUT:-/tmp/portrait}
dir=$1 name=$2 maps=$3
shift 3
mkdir -p "$OUT"
map_flags=(--semantic-ext _none.png)
if [ "$maps" = maps ]; then
    map_flags=(--style-map "$dir/style_sem.png" --content-map "$dir/content_sem.png")
fi
/usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$BIN/stylemark" doodle --style "$dir/style.jpg" \
    --content "$dir/content.jpg" "${map_flags[@]}" --output "$OUT/$name.png" --random-seed 1 --quiet "$@"
read -r seconds kib < "$OUT/$name.time"
scores=$("$BIN/score-doodle" "$dir/style.jpg" "$dir/style_sem.png" "$OUT/$name.png" "$dir/content_sem.png" |
    python3 -c 'import json,sys; s=json.load(sys.stdin); print("%.3f | %.2f | %.2f-%.2f" % (s["label_accuracy"], s["colour_distance"], s["detail_ratio_min"], s["detail_ratio_max"]))')
structure=$(python3 - "$OUT/$name.png" "$dir/content.jpg" <<'PY'
import sys
import numpy as np
from PIL import Image, ImageFilter
out = Image.open(sys.argv[1]).convert("L")
content = Image.open(sys.argv[2]).convert("L").resize(out.size)
blurred = lambda im: np.asarray(im.filter(ImageFilter.GaussianBlur(4)), dtype=float).ravel()
print("%.3f" % np.corrcoef(blurred(out), blurred(content))[0, 1])
PY
)
echo "| $name | $maps $* | $seconds | $((kib / 1024)) | $scores | $structure |"
