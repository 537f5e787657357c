"""The :class:`Engine` and the results it returns."""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _native
from ._images import NativeImage, optional_native, to_array, to_native
from .errors import InvalidOptionsError, StylemarkError

Image = Any
"""An image argument: a numpy uint8 array (H, W), (H, W, 3) or (H, W, 4); the bytes of an
encoded image; a path (``str`` or ``os.PathLike``); or a PIL image (anything with
``__array_interface__``)."""

ProgressCallback = Callable[[Dict[str, Any]], Optional[bool]]
FontSource = Union[bytes, str, "os.PathLike[str]"]


@dataclass(frozen=True)
class DoodleResult:
    """A painting and how the run went.

    ``status`` is ``completed``, ``time_budget_exhausted`` or ``cancelled`` (the image is
    then the best one found so far). ``report`` has the per-phase figures (resolution,
    evaluations, seconds, losses), the device, the encoder and the random seed used.
    """

    image: np.ndarray
    status: str
    report: Dict[str, Any]

    @property
    def stopped_early(self) -> bool:
        """Whether the run stopped before doing all its work."""
        return self.status != "completed"


@dataclass(frozen=True)
class WatermarkResult:
    """A watermarked image, and ``report``: for text and logos ``status`` (``applied``, or
    ``skipped`` with a ``reason``), ``marks`` and ``note``; for invisible marks
    ``psnr_db`` and ``verified_score``."""

    image: np.ndarray
    report: Dict[str, Any]

    @property
    def status(self) -> str:
        """``applied``, or ``skipped`` (a logo on an image below its minimum size: the
        image is returned unchanged, and :attr:`reason` says why)."""
        status = self.report.get("status")
        return status["status"] if isinstance(status, dict) else "applied"

    @property
    def reason(self) -> Optional[str]:
        """Why the mark was skipped, else None."""
        status = self.report.get("status")
        return status.get("reason") if isinstance(status, dict) else None


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_mark` found. Not finding a mark is not an error."""

    #: Whether a mark made with the key was found.
    found: bool
    #: The hidden payload when found, else None.
    payload: Optional[bytes]
    #: How clearly the decoded bits agree, 0 (chance) to 1.
    confidence: float
    #: How far the synchronisation peak stands out, in standard deviations.
    sync_score: float
    #: The scale the mark was found at, relative to how it was embedded (1.0 when the
    #: image was only resized, above 1 after a crop).
    scale: float


@dataclass(frozen=True)
class JobResult:
    """What a job produced: the final image (None if no step made one), the same image
    encoded in the job's ``output`` format (ready to send or write), and one report per
    step (``op``, ``seconds``, ``details``)."""

    image: Optional[np.ndarray]
    data: Optional[bytes]
    steps: List[Dict[str, Any]] = field(default_factory=list)


def _detection(found: Dict[str, Any]) -> Detection:
    """A :class:`Detection` from the core's JSON."""
    payload = found.get("payload")
    return Detection(
        found=bool(found["found"]),
        payload=bytes.fromhex(payload) if payload is not None else None,
        confidence=float(found["confidence"]),
        sync_score=float(found["sync_score"]),
        scale=float(found["scale"]),
    )


def _watermarked(pixels: Any, raw: str, report: bool) -> Any:
    result = WatermarkResult(to_array(pixels), json.loads(raw))
    return result if report else result.image


def _options(options: Mapping[str, Any]) -> str:
    return json.dumps({key: value for key, value in options.items() if value is not None})


def _progress_adapter(progress: Optional[ProgressCallback]) -> Optional[Callable[[str], bool]]:
    if progress is None:
        return None

    def adapter(event: str) -> bool:
        return progress(json.loads(event)) is not False

    return adapter


class Engine:
    """A compute device and an encoder, built once and shared by every call and thread.

    ``device`` is ``cpu`` (default), ``wgpu`` (GPU) or ``ndarray``. ``encoder`` is
    ``builtin`` (no file needed), the path of an ONNX model (``.onnx``), the path of
    VGG19 weights (``.safetensors`` or ``.pth``), or the bytes of such a file.
    ``weights_format`` is how the network takes its input: ``caffe``, ``torchvision``,
    ``unit`` (RGB 0..1), ``symmetric`` (-1..1), ``bytes`` (0..255) or
    ``"mean=R,G,B std=R,G,B"`` in 0-1 units (add ``bgr`` for BGR networks); default: what
    the file records or declares, else caffe for VGG19 and unit for ONNX. ``max_pixels`` and
    ``max_input_bytes`` bound every image decoded (defaults: 40 megapixels, 64 MiB);
    ``limits`` changes any resource limit by name, for example
    ``{"max_stamp_pixels": 4_000_000}`` (``Engine().limits`` lists them all; a call over
    one raises ``LimitExceededError`` naming it).

    The device and encoder are opened on the first doodle, not here: watermarking never
    loads a network. A missing weights file or an unknown device is reported here.

    >>> engine = Engine()                       # doctest: +SKIP
    >>> painting = engine.doodle("monet.jpg", content_map="sketch.png", iterations=40)  # doctest: +SKIP
    """

    def __init__(
        self,
        device: str = "cpu",
        encoder: Union[str, "os.PathLike[str]", bytes] = "builtin",
        weights_format: Optional[str] = None,
        *,
        max_pixels: Optional[int] = None,
        max_input_bytes: Optional[int] = None,
        limits: Optional[Dict[str, int]] = None,
    ) -> None:
        weights = bytes(encoder) if isinstance(encoder, (bytes, bytearray, memoryview)) else None
        name = "vgg19" if weights is not None else os.fsdecode(encoder)
        _check_limit("max_pixels", max_pixels)
        _check_limit("max_input_bytes", max_input_bytes)
        for limit_name, value in (limits or {}).items():
            _check_limit(limit_name, value)
        self._native = _native.Engine(
            device, name, weights_format, weights, max_pixels, max_input_bytes, limits
        )
        self._max_pixels: int = self._native.limits["max_pixels"]

    def _image(self, image: Image, name: str = "image") -> NativeImage:
        """``image`` as the extension takes it, an array refused over ``max_pixels`` before
        it is copied."""
        return to_native(image, name, self._max_pixels)

    def __repr__(self) -> str:
        return repr(self._native)

    @property
    def limits(self) -> Dict[str, int]:
        """Every resource limit by name, as this engine holds them."""
        return dict(self._native.limits)

    @property
    def device(self) -> str:
        """The device name: ``cpu``, ``wgpu`` or ``ndarray``."""
        return self._native.device

    @property
    def is_open(self) -> bool:
        """Whether the device and encoder have been opened (by a first doodle)."""
        return self._native.is_open

    def load(self, image: Image) -> np.ndarray:
        """Decodes an image (path, bytes, array or PIL image) under this engine's limits;
        returns (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA uint8 pixels."""
        return to_array(self._native.load(self._image(image)))

    def doodle(
        self,
        style: Image,
        content: Optional[Image] = None,
        *,
        style_map: Optional[Image] = None,
        content_map: Optional[Image] = None,
        output_size: Optional[Tuple[int, int]] = None,
        progress: Optional[ProgressCallback] = None,
        report: bool = False,
        **options: Any,
    ) -> Any:
        """Paints ``content`` (a photo), or the ``content_map`` doodle, or a texture of
        ``output_size``, in the style of ``style``. Returns (H, W, 3) uint8 pixels, or with
        ``report=True`` a :class:`DoodleResult` (image, status, per-phase figures).

        The modes, as in neural-doodle: ``style`` + ``style_map`` + ``content`` +
        ``content_map`` (style transfer with maps); ``style`` + ``style_map`` +
        ``content_map`` (a doodle becomes a painting); ``style`` + ``content`` (plain
        style transfer); ``style`` + ``output_size=(w, h)`` (texture). Maps are flat-colour
        images the size of their image (RGB, RGBA or grey; black regions are fine).

        ``seed`` may also be an image to start from. ``progress`` is called after every
        evaluation with a dict (``phase``, ``phases``, ``evaluation``, ``evaluations``,
        ``fraction``, ``losses``, ``elapsed``, ``width``, ``height``), and about once a second
        while one evaluation takes longer (the last of these again, with ``heartbeat``
        True and the time so far); returning False stops
        the run early (the best image so far is returned, status ``cancelled``), raising
        stops it and propagates the exception. Ctrl-C interrupts a run with
        KeyboardInterrupt. The GIL is released meanwhile.

        The options below are the core's (their names, defaults and ranges come from its
        one declaration of them; docs/DOODLE.md has the details):
        """
        seed_image = None
        seed = options.get("seed")
        if seed is not None and (not isinstance(seed, str) or seed not in ("noise", "content", "image")):
            # An image to start from: pixels, bytes, a PIL image or a path.
            seed_image, options["seed"] = self._image(seed, "seed"), "image"
        pixels, raw = self._native.doodle(
            self._image(style, "style"),
            optional_native(content, "content", self._max_pixels),
            optional_native(style_map, "style_map", self._max_pixels),
            optional_native(content_map, "content_map", self._max_pixels),
            seed_image,
            _size(output_size),
            _options(options),
            _progress_adapter(progress),
        )
        outcome = json.loads(raw)
        result = DoodleResult(to_array(pixels), outcome["status"], outcome["report"])
        return result if report else result.image

    def watermark_text(
        self,
        image: Image,
        text: str,
        *,
        fonts: Iterable[FontSource] = (),
        report: bool = False,
        **options: Any,
    ) -> Any:
        """Draws ``text`` on ``image``; returns the pixels (alpha kept when the image has
        it), or with ``report=True`` a :class:`WatermarkResult`.

        Options (the core's ``TextOptions``): ``size`` (pixels, or ``"5%"`` of the width),
        ``color`` (``"#RRGGBB"`` or ``"#RRGGBBAA"``), ``opacity`` (0-1), ``outline``
        (``{"width": 2, "color": "#000000"}``), ``shadow``, ``placement``
        (``{"position": "south-east", "margin": "3%", "rotation": 0, ...}``; ``"tile"``
        repeats it). ``fonts`` are font files (bytes or paths) tried before the built-in
        DejaVu Sans; a character no font has is an error naming it.
        """
        font_list = [bytes(f) if isinstance(f, (bytes, bytearray)) else os.fsdecode(f) for f in fonts]
        pixels, raw = self._native.watermark_text(self._image(image), text, _options(options), font_list)
        return _watermarked(pixels, raw, report)

    def watermark_logo(self, image: Image, logo: Image, *, report: bool = False, **options: Any) -> Any:
        """Draws ``logo`` (an image, its alpha respected) on ``image``; returns the pixels,
        or with ``report=True`` a :class:`WatermarkResult`.

        Options (the core's ``LogoOptions``): ``size`` (width, pixels or ``"15%"``),
        ``opacity``, ``upscale`` (False: never enlarge the logo), ``min_width`` /
        ``min_height`` (below them the image is returned unchanged, status ``skipped`` in
        the report), ``placement`` as for text.
        """
        pixels, raw = self._native.watermark_logo(self._image(image), self._image(logo, "logo"), _options(options))
        return _watermarked(pixels, raw, report)

    def embed_mark(
        self, image: Image, payload: bytes, key: str, *, report: bool = False, **options: Any
    ) -> Any:
        """Hides ``payload`` (1 to 8 bytes) in ``image`` under ``key``, invisibly (PSNR at
        least 40 dB); returns the pixels, or with ``report=True`` a
        :class:`WatermarkResult` (``psnr_db``, ``verified_score``). It survives JPEG,
        resizing, cropping, small rotations and colour changes; keep the output lossless
        or high quality all the same.

        Options (the core's ``MarkOptions``): ``strength`` (1.0 default), ``verify``
        (True: refuse, with an error, an image the mark would not survive JPEG q50 on).
        The image needs at least 256 pixels on its shorter side.
        """
        pixels, raw = self._native.embed_mark(self._image(image), bytes(payload), key, _options(options))
        return _watermarked(pixels, raw, report)

    def detect_mark(self, image: Image, key: str) -> Detection:
        """Looks for a mark made with ``key``; see :class:`Detection`."""
        return _detection(json.loads(self._native.detect_mark(self._image(image), key)))

    def detect_marks(
        self, images: Iterable[Image], key: str, *, return_exceptions: bool = False
    ) -> List[Union[Detection, StylemarkError]]:
        """Looks for marks made with ``key`` in many images at once, in parallel over the
        machine's cores (the GIL is released), and returns one :class:`Detection` per
        image, in order. Paths are read by the worker threads, one image per core at a time.

        An image that cannot be read does not stop the others: with ``return_exceptions``
        its place holds its :class:`StylemarkError`; without, the first such error is
        raised once all are done. A bad key raises at once.

        >>> found = [d.found for d in detect_marks(["a.png", "b.jpg"], "key")]  # doctest: +SKIP
        """
        natives = [self._image(image, f"images[{i}]") for i, image in enumerate(images)]
        outcomes: List[Union[Detection, StylemarkError]] = [
            outcome if isinstance(outcome, BaseException) else _detection(json.loads(outcome))
            for outcome in self._native.detect_marks(natives, key)
        ]
        if not return_exceptions:
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        return outcomes

    def run(
        self,
        job: Union[str, Mapping[str, Any]],
        *,
        fonts: Optional[Mapping[str, FontSource]] = None,
        **images: Image,
    ) -> JobResult:
        """Runs a pipeline job: the JSON format of ``stylemark run`` (docs/JOBS.md), as a
        dict or a JSON string, on the images named by keyword (and ``fonts`` by name).

        >>> result = stylemark.run({"input": "photo", "steps": [
        ...     {"op": "watermark_text", "text": "(c) me"}]}, photo="photo.jpg")  # doctest: +SKIP
        """
        text = job if isinstance(job, str) else json.dumps(job)
        named = {name: self._image(image, name) for name, image in images.items()}
        font_files = {
            name: bytes(f) if isinstance(f, (bytes, bytearray)) else os.fsdecode(f)
            for name, f in (fonts or {}).items()
        }
        pixels, data, steps = self._native.run(text, named, font_files)
        return JobResult(to_array(pixels) if pixels is not None else None, data, json.loads(steps))


def _declare_doodle_options() -> None:
    """Gives :meth:`Engine.doodle` a keyword and a doc line per core option, from the core's
    one declaration of them, so ``help()``, IDEs and ``inspect.signature`` show them."""
    specs = json.loads(_native.doodle_option_specs())
    function = Engine.doodle
    signature = inspect.signature(function)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    keywords = [
        inspect.Parameter(spec["name"], inspect.Parameter.KEYWORD_ONLY, default=spec["default"])
        for spec in specs
    ]
    function.__signature__ = signature.replace(parameters=fixed + keywords)  # type: ignore[attr-defined]
    lines = []
    for spec in specs:
        methods = "" if len(spec["methods"]) == 3 else f" ({', '.join(spec['methods'])} only)"
        lines.append(f"        ``{spec['name']}`` = ``{spec['default']!r}``{methods}: {spec['summary']}")
    function.__doc__ = (function.__doc__ or "").rstrip() + "\n\n" + "\n".join(lines) + "\n"


_declare_doodle_options()


#: The largest value a limit takes (the core holds them as unsigned 64-bit integers).
_MAX_LIMIT = 2**64 - 1


def _check_limit(name: str, value: Any) -> None:
    """A limit is an integer from 0 to 2**64 - 1; anything else is an option error here,
    not an ``OverflowError`` from the extension."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_LIMIT:
        raise InvalidOptionsError(
            f"invalid option `{name}`: a limit is an integer from 0 to {_MAX_LIMIT}, got {value!r}",
            "invalid_options",
        )


def _size(output_size: Optional[Tuple[int, int]]) -> Optional[Tuple[int, int]]:
    """``output_size`` as ``(width, height)`` of positive integers, or an option error."""
    if output_size is None:
        return None
    size = tuple(output_size)
    if len(size) != 2 or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 2**32 - 1 for v in size
    ):
        raise InvalidOptionsError(
            f"invalid option `output_size`: expected (width, height), two integers from 1 to "
            f"{2**32 - 1}, got {output_size!r}",
            "invalid_options",
        )
    return (int(size[0]), int(size[1]))

