"""Generated sample images, so examples and tests need no files. The same seed gives the
same pixels on every machine.

>>> from stylemark import samples
>>> photo = samples.photo(640, 480, seed=1)
>>> photo.shape
(480, 640, 3)
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from . import _native
from ._images import to_array


def photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A photo-like image (sky, hills, textured ground, objects): (height, width, 3) uint8."""
    return to_array(_native.sample("photo", width, height, seed))


def demo_scene(width: int, height: int, seed: int = 0) -> Dict[str, np.ndarray]:
    """The demo's inputs: ``style`` (a painting of brush strokes), its ``style_map``, and
    a ``doodle`` (a map with the same regions in another layout), each (height, width, 3).

    >>> scene = demo_scene(128, 96)
    >>> painting = stylemark.doodle(scene["style"], style_map=scene["style_map"],
    ...                             content_map=scene["doodle"])  # doctest: +SKIP
    """
    return {kind: to_array(_native.sample(kind, width, height, seed)) for kind in ("style", "style_map", "doodle")}
