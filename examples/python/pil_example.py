"""stylemark with PIL images: open, watermark visibly and invisibly, check, save.

    python examples/python/pil_example.py [photo.jpg] [out.jpg]

Without arguments it generates a photo, so it runs anywhere.
"""

from __future__ import annotations

import sys

from PIL import Image

import stylemark
from stylemark import samples


def main() -> None:
    if len(sys.argv) > 1:
        photo = Image.open(sys.argv[1])
    else:
        photo = Image.fromarray(samples.photo(800, 600, seed=7))
    out_path = sys.argv[2] if len(sys.argv) > 2 else "pil-example.jpg"

    # PIL images go straight in (any mode); numpy arrays come back.
    visible = stylemark.watermark_text(
        photo, "© Ada Lovelace", size="4%", opacity=0.5,
        placement={"position": "tile", "rotation": -30, "tiling": "staggered"},
    )
    marked = stylemark.embed_mark(visible, b"\x20\x26", key="my secret")

    result = Image.fromarray(marked)
    result.save(out_path, quality=90)

    # The invisible mark survives the JPEG the file was saved as.
    found = stylemark.detect_mark(Image.open(out_path), key="my secret")
    print(f"wrote {out_path}: mark found={found.found} payload={found.payload!r} "
          f"confidence={found.confidence:.2f}")


if __name__ == "__main__":
    main()
