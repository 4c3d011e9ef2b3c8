"""Test images made with Pillow (distinct shapes and colours, optionally transparent)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "cyan", "magenta", "brown"]


def make_image(seed: int, size: int = 96, mode: str = "RGB") -> Image.Image:
    rng = random.Random(seed)
    background = (255, 255, 255, 0) if mode == "RGBA" else "white"
    image = Image.new(mode, (size, size), background)
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x0, y0 = rng.randrange(0, size // 2), rng.randrange(0, size // 2)
        x1, y1 = x0 + rng.randrange(size // 4, size // 2), y0 + rng.randrange(size // 4, size // 2)
        shape = rng.choice([draw.ellipse, draw.rectangle])
        shape([x0, y0, x1, y1], fill=rng.choice(COLOURS))
    return image


def image_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def png(seed: int, **kwargs) -> bytes:
    return image_bytes(make_image(seed, **kwargs))


def write_folder(folder, seeds, fmt: str = "PNG", ext: str = ".png") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for seed in seeds:
        name = f"sticker_{seed:03d}{ext}"
        (folder / name).write_bytes(image_bytes(make_image(seed), fmt))
        names.append(name)
    return names
