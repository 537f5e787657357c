"""stylemark: paint photos and doodles like a painting, and watermark images visibly and
invisibly. No torch, no CUDA, no download.

Every function takes images as numpy uint8 arrays ((H, W), (H, W, 3) or (H, W, 4)),
encoded bytes, paths or PIL images, and returns numpy arrays. The work runs in Rust with
the GIL released, so threads run in parallel. Errors are :class:`StylemarkError`
subclasses whose message says what to fix.

>>> import stylemark
>>> photo = stylemark.load("photo.jpg")                                # doctest: +SKIP
>>> marked = stylemark.watermark_text(photo, "(c) Ada", opacity=0.5)   # doctest: +SKIP
>>> stylemark.save(marked, "marked.jpg")                               # doctest: +SKIP

The module-level functions use a default :class:`Engine` on the CPU with the built-in
encoder; create your own ``Engine(device="wgpu", encoder="vgg19.safetensors")`` for
others.
"""

# Helpers are imported under private names so that `import stylemark` shows only the API
# (`__all__`); no `from __future__ import annotations`, which would add `annotations`.
import os as _os
from typing import Any as _Any
from typing import Optional as _Optional
from typing import Union as _Union

from . import _native
from ._engine import (
    Detection,
    DoodleResult,
    Engine,
    Image,
    JobResult,
    WatermarkResult,
)
from ._images import to_native as _to_native
from . import errors, samples
from .errors import (
    DeviceError,
    InvalidImageError,
    InvalidOptionsError,
    LimitExceededError,
    StylemarkError,
    StylemarkIOError,
    WeightsError,
)

__version__: str = _native.__version__

# Creating an engine is cheap: the device and encoder open on the first doodle.
_default_engine = Engine()


def default_engine() -> Engine:
    """The engine behind the module-level functions (CPU, built-in encoder)."""
    return _default_engine


doodle = _default_engine.doodle
watermark_text = _default_engine.watermark_text
watermark_logo = _default_engine.watermark_logo
embed_mark = _default_engine.embed_mark
detect_mark = _default_engine.detect_mark
detect_marks = _default_engine.detect_marks
run = _default_engine.run
load = _default_engine.load


def encode(image: Image, format: str = "png", quality: _Optional[int] = None) -> bytes:
    """Encodes an image as ``png``, ``jpeg`` (``quality`` 1-100, default 90) or ``webp``
    (lossless) and returns the file's bytes."""
    return _native.encode(_pixels(image), format, quality)


def save(image: Image, path: _Union[str, "_os.PathLike[str]"], quality: _Optional[int] = None) -> None:
    """Writes an image to ``path`` in the format its extension names (.png, .jpg, .webp)."""
    _native.save(_pixels(image), _os.fsdecode(path), quality)


def _pixels(image: _Any) -> _Any:
    native = _to_native(image)
    if isinstance(native, tuple):
        return native
    # Encoded bytes or a path: decode first (under the default limits).
    return _default_engine._native.load(native)


__all__ = [
    "Engine",
    "Image",
    "errors",
    "DoodleResult",
    "WatermarkResult",
    "Detection",
    "JobResult",
    "default_engine",
    "samples",
    "doodle",
    "watermark_text",
    "watermark_logo",
    "embed_mark",
    "detect_mark",
    "detect_marks",
    "run",
    "load",
    "encode",
    "save",
    *errors.__all__,
]
