"""The smoke data: twelve generated pictures (a coloured shape each) that ``python -m model_training.train --smoke``
trains on, in CI and in model_training's tests: no font, no npm."""

from __future__ import annotations

from . import sources

SMOKE_SHAPES = ("circle", "square", "triangle", "star")
SMOKE_COLOURS = {"red": (220, 30, 30), "green": (30, 170, 60), "blue": (40, 70, 220)}


def smoke_items() -> list[sources.Item]:
    """Twelve generated pictures (a coloured shape each) for the CI smoke test: no font, no npm."""
    return [
        sources.Item("smoke", f"{c}-{s}", f"{c} {s}", (c, s), f"{c}-{s}") for s in SMOKE_SHAPES for c in SMOKE_COLOURS
    ]


def draw_smoke(item: sources.Item):
    from PIL import Image, ImageDraw

    colour, shape = item.key.split("-")
    fill = SMOKE_COLOURS[colour] + (255,)
    im = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    if shape == "circle":
        d.ellipse((10, 10, 86, 86), fill=fill)
    elif shape == "square":
        d.rectangle((14, 14, 82, 82), fill=fill)
    elif shape == "triangle":
        d.polygon([(48, 8), (88, 86), (8, 86)], fill=fill)
    else:
        d.regular_polygon((48, 48, 40), 5, fill=fill)
        d.regular_polygon((48, 48, 20), 5, rotation=36, fill=fill)
    return im
