#!/usr/bin/env bash
# Invisible marks side by side in one run: stylemark (`watermark-run`: embed, detect a
# marked photo, detect an unmarked one) and invisible-watermark 0.2.0's dwtDct (encode,
# decode) on the same generated photo, at each size. Medians of $RUNS runs, one thread
# of work each as the tools run it (stylemark's search uses the machine's cores).
#
#   cargo build --release -p stylemark-benches --bin watermark-run
#   benches/mark/compare.sh              # prints a Markdown table
#
# The peer is installed into a throwaway virtualenv under $OUT, never into the project,
# without its torch dependency (only its RivaGAN method needs it; dwtDct does not).
# Environment: BIN (default target/release), OUT (default /tmp/mark-compare), SIZES
# (default "1024 4096"), RUNS (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release}
OUT=${OUT:-/tmp/mark-compare}
SIZES=${SIZES:-1024 4096}
RUNS=${RUNS:-5}
mkdir -p "$OUT"

venv="$OUT/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps invisible-watermark==0.2.0
    "$venv/bin/pip" install --quiet --disable-pip-version-check opencv-python-headless PyWavelets numpy
fi

peer() { # photo.png runs -> {"encode": s, "decode": s, "read_back": bool}
    "$venv/bin/python" - "$1" "$2" <<'PY'
import json, statistics, sys, time, types
sys.modules.setdefault("torch", types.ModuleType("torch"))  # RivaGAN only; unused here
import cv2
from imwatermark import WatermarkDecoder, WatermarkEncoder

image, runs = cv2.imread(sys.argv[1]), int(sys.argv[2])
payload = bytes(range(1, 9))
encoder = WatermarkEncoder()
encoder.set_watermark("bytes", payload)
decoder = WatermarkDecoder("bytes", 64)

def median(work):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result

encode, marked = median(lambda: encoder.encode(image, "dwtDct"))
decode, read = median(lambda: decoder.decode(marked, "dwtDct"))
print(json.dumps({"encode": encode, "decode": decode, "read_back": read == payload}))
PY
}

ms() { python3 -c "import json,sys; print(f'{json.loads(sys.argv[1])[sys.argv[2]] * 1000:.0f}')" "$1" "$2"; }

echo "| size | stylemark embed | dwtDct encode | stylemark detect, marked | stylemark detect, unmarked | dwtDct decode |"
echo "|---|---|---|---|---|---|"
for size in $SIZES; do
    photo="$OUT/photo-$size.png"
    "$BIN/watermark-run" --size "$size" --write-photo "$photo"
    embed=$("$BIN/watermark-run" --op embed --size "$size" --repeat "$RUNS")
    detect=$("$BIN/watermark-run" --op detect --size "$size" --repeat "$RUNS")
    unmarked=$("$BIN/watermark-run" --op detect-unmarked --size "$size" --repeat "$RUNS")
    theirs=$(peer "$photo" "$RUNS")
    echo "| ${size}x${size} | $(ms "$embed" median_seconds) ms | $(ms "$theirs" encode) ms |" \
        "$(ms "$detect" median_seconds) ms | $(ms "$unmarked" median_seconds) ms |" \
        "$(ms "$theirs" decode) ms |"
done
