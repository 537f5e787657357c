"""What the Python layer costs on top of the Rust core, and how calls scale over threads.

    python benches/python/overhead.py [--size 1024] [--repeat 5]

Times the same operations as `watermark-run` (tiled rotated text, embed, detect on a marked
and on an unmarked photo) through the Python API, median of `--repeat` runs, including the
conversion of the numpy array in and out; then runs 8 detections on 1, 2 and 4 threads to
show that the GIL is released (the wall time falls with threads up to the core count).
Run it with a release build of the package (`pip install ./bindings-python`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import stylemark
from stylemark import samples


def median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    photo = samples.photo(args.size, args.size, 1)
    marked = stylemark.embed_mark(photo, b"\x01\x02\x03\x04", "bench")
    png = stylemark.encode(photo)
    operations = {
        "text watermark, tiled, rotated": lambda: stylemark.watermark_text(
            photo, "© stylemark 2026", placement={"position": "tile", "rotation": -30}),
        "invisible mark: embed": lambda: stylemark.embed_mark(photo, b"\x01\x02\x03\x04", "bench"),
        "invisible mark: detect, marked": lambda: stylemark.detect_mark(marked, "bench"),
        "invisible mark: detect, unmarked": lambda: stylemark.detect_mark(photo, "bench"),
        "array -> PNG bytes (encode)": lambda: stylemark.encode(photo),
        "PNG bytes -> array (load)": lambda: stylemark.load(png),
    }
    print(f"{args.size}x{args.size}, median of {args.repeat}, {os.cpu_count()} cores")
    for name, call in operations.items():
        print(f"  {name:36s} {median_ms(call, args.repeat):8.1f} ms")

    jobs = 8
    for threads in (1, 2, 4):
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _: stylemark.detect_mark(photo, "bench"), range(jobs)))
        print(f"  {jobs} unmarked detections on {threads} thread(s): {time.perf_counter() - start:6.2f} s")


if __name__ == "__main__":
    main()
