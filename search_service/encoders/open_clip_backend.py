"""The open_clip backend of :class:`encoders.base.Encoder` (any open_clip model: built-in name with a
pretrained tag or checkpoint file, ``hf-hub:`` or ``local-dir:``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .base import l2_normalize, model_input
from .frozen_visual import freeze_image_tower
from .spec import ModelSpec
from .text_trim import padding_free_encoder

logger = logging.getLogger(__name__)


def pick_device(setting: str) -> str:
    import torch

    if setting in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


class OpenClipEncoder:
    """Loads the model once; encodes under ``torch.inference_mode``, one batch at a time per process."""

    def __init__(self, spec: ModelSpec, *, device: str = "auto", threads: int = 0) -> None:
        import open_clip
        import torch

        started = time.perf_counter()
        if threads > 0:
            torch.set_num_threads(threads)
        self.model_id = spec.model_id
        self.device = pick_device(device)
        model, _, preprocess = open_clip.create_model_and_transforms(
            spec.name, pretrained=spec.pretrained, device=self.device, load_weights=True
        )
        model.eval()
        # Convolutional image towers (EfficientNet, ConvNeXt, ...) run faster channels-last on CPU;
        # a ViT has one patch convolution, where it only adds copies.
        self._channels_last = not isinstance(model.visual, open_clip.transformer.VisionTransformer)
        if self._channels_last:
            model.visual.to(memory_format=torch.channels_last)
        # On CPU they are also traced and frozen (batch norms folded) on the first image batch: frozen_visual.py.
        # image_path: "frozen" (when that worked) or "eager".
        self.image_path = "frozen" if self._channels_last and self.device == "cpu" else "eager"
        self._frozen_visual: torch.jit.ScriptModule | None = None
        self._model = model
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(spec.name)
        # Texts skip the tokenizer's padding where the text tower provably ignores it (same vectors, ~8
        # positions instead of 77 for a short query), and on CPU run the linear layers on oneDNN-packed weights
        # (see text_trim.py). text_path: "fast" (both), "trimmed" (padding only) or "full" (open_clip as is).
        self._text_paths = {"full": model.encode_text}
        if (trimmed := padding_free_encoder(model)) is not None:
            self._text_paths["trimmed"] = trimmed
            if self.device == "cpu" and (fast := padding_free_encoder(model, packed=True)) and fast.packed:
                self._text_paths["fast"] = fast
        self.text_path = next(path for path in ("fast", "trimmed", "full") if path in self._text_paths)
        self._torch = torch
        # One forward pass at a time: gunicorn threads share the process's torch thread pool.
        self._lock = threading.Lock()
        self.dim = int(self.encode_texts(["a sticker"]).shape[1])
        logger.info(
            "Loaded model %s (dim %d, device %s, %d torch threads, text path %s) in %.1f s",
            self.model_id,
            self.dim,
            self.device,
            torch.get_num_threads(),
            self.text_path,
            time.perf_counter() - started,
        )

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        tokens = self._tokenizer(list(texts)).to(self.device)
        with self._lock, self._torch.inference_mode():
            features = self._text_paths[self.text_path](tokens)
        return l2_normalize(features.float().cpu().numpy())

    def preprocess(self, image: Image.Image):
        """The model's input tensor for one image (transparent pixels composited on white first)."""
        return model_input(self._preprocess, image)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode_preprocessed([self.preprocess(image) for image in images])

    def encode_preprocessed(self, tensors: Sequence) -> np.ndarray:
        batch = self._torch.stack(list(tensors)).to(self.device)
        with self._lock, self._torch.inference_mode():
            if self.image_path == "frozen" and self._frozen_visual is None:
                self._frozen_visual = freeze_image_tower(self._model.visual, tuple(batch.shape[1:]))
                if self._frozen_visual is None:
                    self.image_path = "eager"
            if self.image_path == "frozen" and self._frozen_visual is not None:
                features = self._frozen_visual(batch.contiguous())
            else:
                if self._channels_last:
                    batch = batch.contiguous(memory_format=self._torch.channels_last)
                features = self._model.encode_image(batch)
        return l2_normalize(features.float().cpu().numpy())

    @property
    def text_paths(self) -> list[str]:
        """The text paths this model supports (all give the same vectors to ~1e-6)."""
        return list(self._text_paths)

    def __repr__(self) -> str:
        return f"OpenClipEncoder({self.model_id!r}, dim={getattr(self, 'dim', '?')}, device={self.device!r})"
