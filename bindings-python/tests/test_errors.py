"""Errors are StylemarkError subclasses with the core's message; never a panic."""

from __future__ import annotations

import numpy as np
import pytest

import stylemark
from stylemark import errors

from conftest import TINY_DOODLE


def test_the_hierarchy():
    for cls in (
        errors.InvalidImageError,
        errors.LimitExceededError,
        errors.InvalidOptionsError,
        errors.WeightsError,
        errors.DeviceError,
        errors.StylemarkIOError,
    ):
        assert issubclass(cls, stylemark.StylemarkError)
    assert issubclass(errors.InvalidOptionsError, ValueError)
    assert issubclass(errors.StylemarkIOError, OSError)


def test_bad_image_bytes():
    with pytest.raises(stylemark.InvalidImageError, match="not an image") as info:
        stylemark.load(b"this is not an image")
    assert info.value.kind == "invalid_image"
    truncated = stylemark.encode(stylemark.samples.photo(64, 64, 1))[:200]
    with pytest.raises(stylemark.InvalidImageError, match="truncated|could not be decoded"):
        stylemark.load(truncated)


def test_limits_exceeded(photo):
    small = stylemark.Engine(max_pixels=10_000)
    with pytest.raises(stylemark.LimitExceededError, match="max_pixels") as info:
        small.load(photo)
    assert info.value.kind == "limit_exceeded"
    tiny_bytes = stylemark.Engine(max_input_bytes=100)
    with pytest.raises(stylemark.LimitExceededError, match="max_input_bytes"):
        tiny_bytes.load(stylemark.encode(photo))


def test_every_limit_is_settable_by_name(photo):
    defaults = stylemark.Engine().limits
    assert defaults["max_stamp_pixels"] == 1 << 24 and defaults["max_job_steps"] == 16
    tight = stylemark.Engine(limits={"max_stamp_pixels": 1000, "max_tiled_marks": 3})
    assert tight.limits["max_stamp_pixels"] == 1000
    with pytest.raises(stylemark.LimitExceededError, match="max_stamp_pixels"):
        tight.watermark_text(photo, "© Ada")
    # The engine's limits reach a job's steps; the job cannot carry its own.
    job = {"input": "photo", "steps": [{"op": "watermark_text", "text": "© Ada"}]}
    with pytest.raises(stylemark.LimitExceededError, match="max_stamp_pixels"):
        tight.run(job, photo=photo)
    with pytest.raises(stylemark.InvalidOptionsError, match="max_stamp_pixels"):
        stylemark.Engine(limits={"max_stamp_pixel": 10})
    with pytest.raises(stylemark.InvalidOptionsError, match="at least 1"):
        stylemark.Engine(limits={"max_job_steps": 0})


def test_bad_options_name_the_field(photo):
    with pytest.raises(stylemark.InvalidOptionsError, match="opacty"):
        stylemark.watermark_text(photo, "x", opacty=0.5)
    with pytest.raises(stylemark.InvalidOptionsError, match="placement"):
        stylemark.watermark_text(photo, "x", placement={"position": "upside-down"})
    with pytest.raises(stylemark.InvalidOptionsError, match="iterations"):
        stylemark.doodle(photo, phases=1, iterations=0)
    with pytest.raises(stylemark.InvalidOptionsError, match="device"):
        stylemark.Engine(device="tpu")
    # Too large for a duration: an options error, not a PanicException.
    for budget in (1e20, 1e300, float("inf"), float("nan")):
        with pytest.raises(stylemark.InvalidOptionsError, match="time_budget"):
            stylemark.doodle(photo, phases=1, time_budget=budget)


def test_missing_and_broken_weights(scene):
    with pytest.raises(stylemark.WeightsError, match="no VGG19 weights") as info:
        stylemark.Engine(encoder="/nowhere/vgg19.safetensors")
    assert info.value.kind == "weights"
    broken = stylemark.Engine(encoder=b"not a weights file")
    with pytest.raises(stylemark.WeightsError):
        broken.doodle(scene["style"], output_size=(32, 32), **TINY_DOODLE)


def test_device_not_compiled(scene):
    # This build has no ndarray backend (it is opt-in), so opening it must say so.
    engine = stylemark.Engine(device="ndarray")
    with pytest.raises(stylemark.DeviceError, match="ndarray") as info:
        engine.doodle(scene["style"], output_size=(32, 32), **TINY_DOODLE)
    assert info.value.kind == "device"


def test_missing_file():
    with pytest.raises(stylemark.StylemarkIOError, match="no-such.png") as info:
        stylemark.load("/no/such/dir/no-such.png")
    assert isinstance(info.value, OSError)


def test_mark_refusals_are_clear(photo):
    with pytest.raises(stylemark.InvalidImageError, match="256"):
        stylemark.embed_mark(photo[:100, :100], b"\x01", "k")
    with pytest.raises(stylemark.InvalidOptionsError, match="payload|1 to 8"):
        stylemark.embed_mark(photo, b"123456789", "k")


def test_an_error_loses_nothing_else(photo):
    # After a failed call the engine keeps working.
    engine = stylemark.Engine()
    with pytest.raises(stylemark.StylemarkError):
        engine.load(b"junk")
    assert np.array_equal(engine.load(photo), photo)


def test_an_array_over_the_pixel_limit_is_refused_before_it_is_copied():
    # A zero-stride view: 20000x20000x3 pixels held in 3 bytes. Copied, it would be 1.2 GB.
    view = np.lib.stride_tricks.as_strided(np.zeros(3, np.uint8), (20_000, 20_000, 3), (0, 0, 1))
    engine = stylemark.Engine(max_pixels=1_000_000)
    for call in (
        lambda: engine.load(view),
        lambda: engine.watermark_text(view, "x"),
        lambda: engine.doodle(view, view),
        lambda: engine.detect_mark(view, "k"),
    ):
        with pytest.raises(stylemark.LimitExceededError, match="20000x20000") as info:
            call()
        assert info.value.kind == "limit_exceeded"


@pytest.mark.parametrize("size", [(-1, 5), (5, 0), (2**40, 5), (1.5, 2), (1, 2, 3), ("a", "b")])
def test_a_bad_output_size_is_an_option_error(scene, size):
    with pytest.raises(stylemark.InvalidOptionsError, match="output_size"):
        stylemark.Engine().doodle(scene["style"], output_size=size)


@pytest.mark.parametrize("limits", [{"max_pixels": 10**30}, {"max_pixels": -1}, {"max_stamp_pixels": 2.5}])
def test_an_out_of_range_limit_is_an_option_error_not_an_overflow(limits):
    with pytest.raises(stylemark.InvalidOptionsError):
        stylemark.Engine(limits=limits)
    with pytest.raises(stylemark.InvalidOptionsError, match="max_pixels"):
        stylemark.Engine(max_pixels=10**30)
