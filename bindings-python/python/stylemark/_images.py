"""Turning the images callers have into what the extension takes, and pixels back into
numpy arrays. Nothing here decodes or computes: that happens in Rust, without the GIL."""

from __future__ import annotations

import os
from typing import Any, Tuple, Union

import numpy as np

from .errors import InvalidImageError, LimitExceededError

#: What the extension takes: encoded bytes, a path, or ``(pixels, width, height, channels)``.
NativeImage = Union[bytes, str, Tuple[bytes, int, int, int]]


def to_native(image: Any, name: str = "image", max_pixels: int | None = None) -> NativeImage:
    """``image`` as the extension takes it.

    Accepts a numpy ``uint8`` array of shape (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or
    (H, W, 4); the bytes of an encoded image (PNG, JPEG, WebP, ...); a path (``str`` or
    ``os.PathLike``); or anything numpy can view through ``__array_interface__`` or
    ``__array__``, such as a PIL image (modes other than L, LA, RGB and RGBA are converted
    first). An array over ``max_pixels`` is refused before its pixels are copied (a
    zero-stride view of 20000x20000 would otherwise become 1.2 GB of bytes first).
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, (str, os.PathLike)):
        return os.fsdecode(image)
    image = _pil_to_supported_mode(image)
    if isinstance(image, np.ndarray) or hasattr(image, "__array_interface__") or hasattr(image, "__array__"):
        return _array_to_native(np.asarray(image), name, max_pixels)
    raise TypeError(
        f"{name}: expected a numpy uint8 array, the bytes of an image file, a path or a PIL "
        f"image, got {type(image).__name__}"
    )


def optional_native(image: Any, name: str, max_pixels: int | None = None) -> NativeImage | None:
    """:func:`to_native`, passing ``None`` through."""
    return None if image is None else to_native(image, name, max_pixels)


def _pil_to_supported_mode(image: Any) -> Any:
    mode = getattr(image, "mode", None)
    if not isinstance(mode, str) or not hasattr(image, "convert"):
        return image
    if mode in ("L", "LA", "RGB", "RGBA"):
        return image
    has_alpha = "A" in mode or "transparency" in getattr(image, "info", {})
    return image.convert("RGBA" if has_alpha else "RGB")


def _array_to_native(array: np.ndarray, name: str, max_pixels: int | None) -> NativeImage:
    if array.dtype != np.uint8:
        raise InvalidImageError(
            f"{name}: pixels must be uint8 (0-255), got {array.dtype}; convert with "
            "np.clip(a * 255, 0, 255).astype(np.uint8) for floats in [0, 1]",
            "invalid_image",
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        channels = 1
    elif array.ndim == 3 and array.shape[2] in (2, 3, 4):
        channels = array.shape[2]
    else:
        raise InvalidImageError(
            f"{name}: expected an array of shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}",
            "invalid_image",
        )
    height, width = array.shape[:2]
    if max_pixels is not None and int(width) * int(height) > max_pixels:
        raise LimitExceededError(
            f"{name}: the array is {width}x{height} = {int(width) * int(height)} pixels, over "
            f"the limit of {max_pixels}; pass a smaller image or raise max_pixels",
            "limit_exceeded",
        )
    return (np.ascontiguousarray(array).tobytes(), int(width), int(height), int(channels))


def to_array(native: Tuple[bytearray, int, int, int]) -> np.ndarray:
    """The extension's pixels as a writable numpy array (no copy): (H, W) for grey,
    (H, W, 3) for RGB, (H, W, 4) for RGBA."""
    data, width, height, channels = native
    pixels = np.frombuffer(data, dtype=np.uint8)
    if channels == 1:
        return pixels.reshape(height, width)
    return pixels.reshape(height, width, channels)
