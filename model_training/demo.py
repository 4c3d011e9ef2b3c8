"""Generate the committed demo stickers: every Noto emoji (no skin-tone variants) as a small PNG,
plus ``metadata.json`` with its CLDR name as title and CLDR keywords as tags.

    .venv/bin/python -m model_training.demo   # from the repo root; needs fonts-noto-color-emoji, unicode-cldr-core

The output is committed (``search_service/demo_stickers/``) because generating it needs two Debian
packages (root); ``make run`` indexes it with ``python -m search_service index_images search_service/demo_stickers
--metadata search_service/demo_stickers/metadata.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import unicodedata
from pathlib import Path

from PIL import Image

from . import sources

DEMO_DIR = Path(__file__).resolve().parent.parent / "search_service" / "demo_stickers"
METADATA_FILE = "metadata.json"


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "emoji"


def sticker_filename(item: sources.Item, taken: set[str]) -> str:
    base = slug(item.name)
    name = f"{base}.png"
    if name in taken:  # e.g. two names that only differ in non-ASCII letters
        name = f"{base}-{'-'.join(f'{ord(c):x}' for c in item.emoji)}.png"
    taken.add(name)
    return name


def small_png(image: Image.Image, size: int) -> Image.Image:
    """Shrunk to ``size`` px and reduced to a 256-colour palette with transparency (smaller files)."""
    image = image.convert("RGBA")
    image.thumbnail((size, size), Image.LANCZOS)
    return image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)


def generate(out_dir: Path = DEMO_DIR, size: int = 96) -> dict[str, dict]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata: dict[str, dict] = {}
    taken: set[str] = set()
    # Some emoji share one picture (the flags of Norway and Bouvet Island, "family" and "family: man,
    # woman, boy"): keep one, the shortest name, which is the commonly known one.
    by_picture: dict[bytes, sources.Item] = {}
    for item in sources.noto_items(sources.load_cldr()):
        png = io.BytesIO()
        small_png(sources.load_image(item), size).save(png, format="PNG", optimize=True)
        kept = by_picture.get(png.getvalue())
        if kept is None or len(item.name) < len(kept.name):
            by_picture[png.getvalue()] = item
    for data, item in sorted(by_picture.items(), key=lambda pair: pair[1].key):
        filename = sticker_filename(item, taken)
        (out_dir / filename).write_bytes(data)
        tags = [k for k in item.keywords if k.casefold() != item.name.casefold()]
        metadata[filename] = {"title": item.name, "tags": tags}
    for stale in out_dir.glob("*.png"):
        if stale.name not in metadata:
            stale.unlink()
    # One sticker a line: readable diffs when the set changes.
    dump = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    lines = [f"{dump(name)}: {dump(metadata[name])}" for name in sorted(metadata)]
    (out_dir / METADATA_FILE).write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    return metadata


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m model_training.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR)
    parser.add_argument("--size", type=int, default=96)
    args = parser.parse_args()
    meta = generate(args.out, args.size)
    total = sum(p.stat().st_size for p in args.out.glob("*.png"))
    print(f"{len(meta)} stickers in {args.out}, {total / 1e6:.1f} MB of PNG")
