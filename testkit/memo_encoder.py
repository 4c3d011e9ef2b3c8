"""A memo in front of the real test encoder: the same text or image is encoded by the real model once per
test session (the suite indexes the same generated images in many tests; the 2-core CI box is slow)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

    from search_service.encoders.base import Encoder  # search_service's: this memo is for search_service's own tests


class MemoEncoder:
    def __init__(self, encoder: Encoder) -> None:
        self.inner = encoder
        self.model_id = encoder.model_id
        self.dim = encoder.dim
        self._texts: dict[str, np.ndarray] = {}
        self._images: dict[str, np.ndarray] = {}

    def _encode(self, keys: list, items: Sequence, memo: dict, encode) -> np.ndarray:
        missing = [i for i, key in enumerate(keys) if key not in memo]
        if missing:
            vectors = encode([items[i] for i in missing])
            for row, i in enumerate(missing):
                memo[keys[i]] = vectors[row]
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([memo[key] for key in keys]).astype(np.float32)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), texts, self._texts, self.inner.encode_texts)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        keys = [f"{image.mode}{image.size}" + hashlib.sha256(image.tobytes()).hexdigest() for image in images]
        return self._encode(keys, images, self._images, self.inner.encode_images)
