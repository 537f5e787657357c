"""Painting: determinism, progress, cancellation, time budget, Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

import stylemark

from conftest import TINY_DOODLE


def doodle_args(scene):
    return dict(style=scene["style"], style_map=scene["style_map"], content_map=scene["doodle"])


def test_same_seed_same_pixels_other_seed_other_pixels(scene):
    first = stylemark.doodle(**doodle_args(scene), **TINY_DOODLE)
    second = stylemark.doodle(**doodle_args(scene), **TINY_DOODLE)
    other = stylemark.doodle(**doodle_args(scene), **dict(TINY_DOODLE, random_seed=8))
    assert first.shape == (40, 48, 3) and first.dtype == np.uint8
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


def test_every_mode(scene, photo):
    texture = stylemark.doodle(scene["style"], output_size=(36, 28), **TINY_DOODLE)
    assert texture.shape == (28, 36, 3)
    content = photo[:40, :48]
    transfer = stylemark.doodle_with_report(scene["style"], content, seed="content", **TINY_DOODLE)
    assert transfer.report["mode"] == "transfer" and transfer.image.shape == content.shape
    mapped = stylemark.doodle_with_report(
        scene["style"], content, style_map=scene["style_map"], content_map=scene["doodle"], **TINY_DOODLE
    )
    assert mapped.report["mode"] != transfer.report["mode"]
    seeded = stylemark.doodle(scene["style"], content, seed=content, **TINY_DOODLE)
    assert seeded.shape == content.shape
    with pytest.raises(stylemark.InvalidOptionsError, match="map"):
        stylemark.doodle(scene["style"], content, style_map=scene["style_map"], **TINY_DOODLE)


def test_progress_reports_every_evaluation(scene):
    events = []
    result = stylemark.doodle_with_report(**doodle_args(scene), method="optimize", phases=2, iterations=3, random_seed=1, progress=events.append)
    assert result.status == "completed" and not result.stopped_early
    assert [(e["phase"], e["evaluation"]) for e in events] == [(p, i) for p in (1, 2) for i in (1, 2, 3)]
    assert events[-1]["fraction"] == pytest.approx(1.0)
    assert set(events[0]["losses"]) == {"content", "style", "smoothness", "total"}
    assert all(b["elapsed"] >= a["elapsed"] for a, b in zip(events, events[1:]))
    assert len(result.report["phases"]) == 2 and result.report["random_seed"] == 1


def test_returning_false_cancels_with_the_best_image_so_far(scene):
    seen = []
    result = stylemark.doodle_with_report(
        **doodle_args(scene), method="optimize", phases=1, iterations=50, random_seed=1,
        progress=lambda e: seen.append(e) or e["evaluation"] < 3,
    )
    assert result.status == "cancelled" and result.stopped_early
    assert len(seen) == 3 and result.image.shape == (40, 48, 3)


def test_raising_in_progress_propagates(scene):
    class Stop(Exception):
        pass

    def progress(event):
        raise Stop("from the callback")

    with pytest.raises(Stop, match="from the callback"):
        stylemark.doodle(**doodle_args(scene), method="optimize", phases=1, iterations=50, progress=progress)


def test_time_budget_returns_an_image_not_an_error(scene):
    result = stylemark.doodle_with_report(**doodle_args(scene), method="optimize", phases=1, iterations=100_000, time_budget=0.5)
    assert result.status == "time_budget_exhausted"
    assert result.image.shape == (40, 48, 3)


def test_ctrl_c_interrupts_a_long_run(scene):
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            stylemark.doodle(**doodle_args(scene), method="optimize", phases=1, iterations=100_000)
    finally:
        timer.cancel()


def test_patch_method_paints_each_region_from_its_own_label(scene):
    result = stylemark.doodle_with_report(**doodle_args(scene), random_seed=2)
    assert result.status == "completed" and result.report["method"] == "patch", "the default"
    assert result.image.shape == (40, 48, 3)
    # The report lists the pyramid levels, the last at the output size; a level's
    # "evaluations" are its match-and-vote rounds.
    assert result.report["phases"][-1]["width"] == 48
    assert result.report["phases"][-1]["evaluations"] >= 1
    # Patch synthesis only blends the style's own pixels: the palette stays the style's.
    style_mean = scene["style"].reshape(-1, 3).mean(axis=0)
    assert np.abs(result.image.reshape(-1, 3).mean(axis=0) - style_mean).max() < 40
    with pytest.raises(stylemark.InvalidOptionsError, match="method"):
        stylemark.doodle(**doodle_args(scene), method="paint")
