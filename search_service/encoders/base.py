"""The one encoder interface: texts and images into the same L2-normalised float32 space."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image


@runtime_checkable
class Encoder(Protocol):
    """Texts -> (n, dim) and images -> (n, dim), float32, each row of unit length."""

    model_id: str
    dim: int

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def composite_on_white(image: Image.Image) -> Image.Image:
    """RGB image; transparent pixels become white (stickers are cut-outs; CLIP drops alpha otherwise)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def model_input(transform: Callable[[Image.Image], Any], image: Image.Image) -> Any:
    """The one preprocessing of a sticker, in serving and in training (model_training): transparent pixels
    composited on white, then the model's open_clip transform (for the default model: longest side resized
    to 224, padded with white to a square, scaled to [-1, 1]; see default_model/build.py)."""
    return transform(composite_on_white(image))
