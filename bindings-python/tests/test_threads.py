"""The GIL is released while Rust works, and one engine serves many threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import stylemark


def test_four_threads_at_once_give_the_sequential_results(photo):
    engine = stylemark.Engine()
    texts = [f"thread {i}" for i in range(8)]
    sequential = [engine.watermark_text(photo, t, placement={"position": "center"}) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda t: engine.watermark_text(photo, t, placement={"position": "center"}), texts))
    for a, b in zip(sequential, parallel):
        assert np.array_equal(a, b)
    marks = list(ThreadPoolExecutor(4).map(lambda i: engine.detect_mark(photo, f"key {i}"), range(4)))
    assert not any(m.found for m in marks)


def test_doodles_from_four_threads_share_one_engine(scene):
    engine = stylemark.Engine()
    args = dict(style=scene["style"], style_map=scene["style_map"], content_map=scene["doodle"], method="optimize", phases=1, iterations=3)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda seed: engine.doodle(**args, random_seed=seed), [1, 2, 1, 2]))
    assert np.array_equal(results[0], results[2]) and np.array_equal(results[1], results[3])
    assert engine.is_open


def test_python_threads_run_while_rust_works(photo):
    """A pure-Python thread keeps counting during a long call: the GIL is not held."""
    big = np.tile(photo, (8, 8, 1))  # 2560x2048
    stop = threading.Event()
    ticks = []

    def count():
        while not stop.is_set():
            ticks.append(1)

    counter = threading.Thread(target=count)
    counter.start()
    before = len(ticks)
    stylemark.detect_mark(big, "k")
    during = len(ticks) - before
    stop.set()
    counter.join()
    assert during > 1000, f"the counting thread advanced only {during} times"
