"""Every kind of image argument gives the same pixels; bad ones give clear errors."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from PIL import Image

import stylemark


def test_every_input_kind_gives_the_same_pixels(photo, tmp_path):
    png = stylemark.encode(photo)
    path = tmp_path / "photo.png"
    path.write_bytes(png)

    class ArrayInterface:
        """Something that is not numpy but exposes its pixels (like a PIL image)."""

        def __init__(self, array):
            self.__array_interface__ = array.__array_interface__
            self._keep = array

    kinds = {
        "ndarray": photo,
        "non-contiguous view": np.ascontiguousarray(photo[:, ::-1])[:, ::-1],
        "bytes": png,
        "bytearray": bytearray(png),
        "memoryview": memoryview(png),
        "str path": str(path),
        "pathlib path": pathlib.Path(path),
        "PIL image": Image.fromarray(photo),
        "__array_interface__": ArrayInterface(photo),
    }
    for name, image in kinds.items():
        loaded = stylemark.load(image)
        assert loaded.shape == photo.shape, name
        assert np.array_equal(loaded, photo), name


def test_grey_and_alpha_shapes_round_trip(photo):
    grey = photo[:, :, 1].copy()
    assert stylemark.load(grey).shape == grey.shape
    assert np.array_equal(stylemark.load(grey[:, :, None]), grey)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 200, np.uint8)])
    back = stylemark.load(stylemark.encode(rgba))
    assert back.shape == rgba.shape and np.array_equal(back, rgba)


def test_pil_modes_are_converted(photo):
    palette = Image.fromarray(photo).convert("P")
    loaded = stylemark.load(palette)
    assert loaded.shape == photo.shape
    assert np.array_equal(loaded, np.asarray(palette.convert("RGB")))
    grey_alpha = Image.fromarray(photo).convert("LA")
    assert stylemark.load(grey_alpha).shape == (*photo.shape[:2], 4)


def test_returned_arrays_are_writable_uint8(photo):
    out = stylemark.watermark_text(photo, "hi")
    assert out.dtype == np.uint8 and out.flags.writeable
    out[0, 0] = 0


def test_bad_arrays_and_types_are_refused_with_reasons(photo):
    with pytest.raises(stylemark.InvalidImageError, match="uint8"):
        stylemark.load(photo.astype(np.float32) / 255)
    with pytest.raises(stylemark.InvalidImageError, match=r"shape"):
        stylemark.load(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(stylemark.InvalidImageError, match="1 pixel|at least one pixel"):
        stylemark.load(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(TypeError, match="numpy uint8 array"):
        stylemark.load(42)


def test_encode_save_load_round_trip(photo, tmp_path):
    for fmt, lossless in (("png", True), ("webp", True), ("jpeg", False)):
        data = stylemark.encode(photo, fmt, quality=95 if fmt == "jpeg" else None)
        back = stylemark.load(data)
        if lossless:
            assert np.array_equal(back, photo), fmt
        else:
            assert np.abs(back.astype(int) - photo).mean() < 4, fmt
    target = tmp_path / "out.jpg"
    stylemark.save(photo, target, quality=90)
    assert target.read_bytes()[:3] == b"\xff\xd8\xff"
    stylemark.save(str(target), tmp_path / "copy.png")
    assert stylemark.load(tmp_path / "copy.png").shape == photo.shape
