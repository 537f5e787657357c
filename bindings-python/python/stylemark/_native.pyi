"""Type stubs of the Rust extension. Use the `stylemark` package, not this module: it
takes arrays, PIL images, paths and bytes, and returns numpy arrays."""

from typing import Callable, Dict, List, Optional, Tuple, Union

RawImage = Tuple[Union[bytes, bytearray], int, int, int]
NativeImage = Union[bytes, str, RawImage]
Pixels = Tuple[bytearray, int, int, int]
FontArg = Union[bytes, str]

__version__: str

class Engine:
    def __init__(
        self,
        device: str = "cpu",
        encoder: str = "builtin",
        weights_format: Optional[str] = None,
        weights: Optional[bytes] = None,
        max_pixels: Optional[int] = None,
        max_input_bytes: Optional[int] = None,
    ) -> None: ...
    @property
    def device(self) -> str: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def max_pixels(self) -> int: ...
    def load(self, image: NativeImage) -> Pixels: ...
    def doodle(
        self,
        style: NativeImage,
        content: Optional[NativeImage],
        style_map: Optional[NativeImage],
        content_map: Optional[NativeImage],
        seed_image: Optional[NativeImage],
        output_size: Optional[Tuple[int, int]],
        options: str,
        progress: Optional[Callable[[str], bool]],
    ) -> Tuple[Pixels, str]: ...
    def watermark_text(
        self, image: NativeImage, text: str, options: str, fonts: List[FontArg]
    ) -> Tuple[Pixels, str]: ...
    def watermark_logo(self, image: NativeImage, logo: NativeImage, options: str) -> Tuple[Pixels, str]: ...
    def embed_mark(self, image: NativeImage, payload: bytes, key: str, options: str) -> Tuple[Pixels, str]: ...
    def detect_mark(self, image: NativeImage, key: str) -> str: ...
    def detect_marks(self, images: List[NativeImage], key: str) -> List[Union[str, BaseException]]: ...
    def run(
        self, job: str, images: Dict[str, NativeImage], fonts: Dict[str, FontArg]
    ) -> Tuple[Optional[Pixels], Optional[bytes], str]: ...

def encode(image: RawImage, format: str = "png", quality: Optional[int] = None) -> bytes: ...
def save(image: RawImage, path: str, quality: Optional[int] = None) -> None: ...
def default_options(kind: str) -> str: ...
def sample(kind: str, width: int, height: int, seed: int) -> Pixels: ...
