"""The exceptions stylemark raises. All derive from :class:`StylemarkError`.

Each carries the core library's message, which says what went wrong and what to do, and
``kind``, a stable name for the category (``invalid_image``, ``limit_exceeded``, ...).
"""

from __future__ import annotations


class StylemarkError(Exception):
    """Base class of every stylemark error."""

    def __init__(self, message: str, kind: str = "internal") -> None:
        super().__init__(message)
        self.kind = kind


class InvalidImageError(StylemarkError, ValueError):
    """An image could not be read or used (not an image, corrupt, too small, wrong shape)."""


class LimitExceededError(StylemarkError, ValueError):
    """An image is over a limit (``max_pixels``, ``max_input_bytes``, decoder memory)."""


class InvalidOptionsError(StylemarkError, ValueError):
    """An option has a bad name or value; the message names it."""


class WeightsError(StylemarkError):
    """Encoder weights are missing or unreadable."""


class DeviceError(StylemarkError):
    """The compute device is not available or failed."""


class StylemarkIOError(StylemarkError, OSError):
    """A file could not be read or written."""


__all__ = [
    "StylemarkError",
    "InvalidImageError",
    "LimitExceededError",
    "InvalidOptionsError",
    "WeightsError",
    "DeviceError",
    "StylemarkIOError",
]
