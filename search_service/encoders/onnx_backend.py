"""The ONNX Runtime backend of :class:`encoders.base.Encoder`: serving without torch.

A search worker with torch and open_clip holds ~1.4 GB resident before it has served anything (``import torch``
alone is ~700 MB); the model itself is ~110 MB. ``python -m search_service export_onnx`` (onnx_export.py, which
does need torch) writes the model's two towers as ONNX files into ``SEARCH_ONNX_DIR`` with a manifest naming the
model id; this module serves them with onnxruntime, the tokenizer from Hugging Face ``tokenizers`` and the image
preprocessing in PIL/numpy. Nothing here imports torch (tests/test_onnx.py checks it in a fresh process).

Only an export of the configured model is served (the manifest's ``model_id`` must equal the settings' id, and
every file its recorded sha256): ``SEARCH_RUNTIME=auto`` then uses it and otherwise falls back to torch;
``SEARCH_RUNTIME=onnx`` refuses to start without one. Supported: models whose tokenizer is a Hugging Face fast
tokenizer (the default model's MiniLM, ``hf-hub:`` models with one); CLIP's own BPE tokenizer lives in a torch
module, so those models are served by torch (the export says so).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from .base import l2_normalize, model_input

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = 1  # bump when the files or the manifest change meaning
TEXT_FILE, IMAGE_FILE, TOKENIZER_FILE = "text.onnx", "image.onnx", "tokenizer.json"


class ExportUnusable(Exception):
    """No usable export for this model in the folder (the message says why)."""


@dataclass(frozen=True)
class Export:
    folder: Path
    manifest: dict[str, Any]

    @property
    def model_id(self) -> str:
        return str(self.manifest["model_id"])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_export(folder: Path, model_id: str) -> Export:
    """The export in ``folder`` if it is a complete export of ``model_id`` in this format, else
    :class:`ExportUnusable`."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ExportUnusable(f"no ONNX export in {folder}") from exc
    except (OSError, ValueError) as exc:
        raise ExportUnusable(f"{folder / MANIFEST} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ExportUnusable(f"{folder / MANIFEST} is not an export of format {FORMAT}")
    if manifest.get("model_id") != model_id:
        raise ExportUnusable(f"the ONNX export in {folder} is of model {manifest.get('model_id')!r}, not {model_id!r}")
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file() or file_sha256(path) != digest:
            raise ExportUnusable(f"{path} is missing or differs from the export's manifest")
    return Export(folder, manifest)


def clean_text(text: str) -> str:
    """open_clip's ``whitespace`` cleaning (``tokenizer._clean_whitespace``): ftfy, HTML unescaped twice, runs of
    whitespace made one space."""
    import ftfy

    return " ".join(html.unescape(html.unescape(ftfy.fix_text(text))).split())


class Tokenizer:
    """open_clip's ``HFTokenizer`` (whitespace cleaning, truncation to the context length) without torch; rows
    are padded to the batch's longest, not to the context (the text tower masks padding out)."""

    def __init__(self, path: Path, context_length: int, pad_id: int) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        self._tokenizer = HFTokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=context_length)
        self.pad_id = pad_id

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        rows = [encoding.ids for encoding in self._tokenizer.encode_batch([clean_text(t) for t in texts])]
        tokens = np.full((len(rows), max(map(len, rows))), self.pad_id, dtype=np.int64)
        for i, row in enumerate(rows):
            tokens[i, : len(row)] = row
        return tokens


def _center_crop_or_pad(image: Image.Image, height: int, width: int, fill: int) -> Image.Image:
    """open_clip's ``center_crop_or_pad`` (torchvision's ``center_crop`` with ``fill``) on a PIL image."""
    if width > image.width or height > image.height:
        left, top = max(0, (width - image.width) // 2), max(0, (height - image.height) // 2)
        right, bottom = max(0, (width - image.width + 1) // 2), max(0, (height - image.height + 1) // 2)
        image = ImageOps.expand(image, (left, top, right, bottom), fill=(fill,) * len(image.getbands()))
        if (image.height, image.width) == (height, width):
            return image
    top, left = round((image.height - height) / 2.0), round((image.width - width) / 2.0)
    return image.crop((left, top, left + width, top + height))


class Preprocess:
    """open_clip's inference transform (``image_transform_v2``: resize_mode shortest, longest or squash, bicubic or
    bilinear, then ToTensor and Normalize) in PIL and numpy: a (3, H, W) float32 array."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        size = cfg["size"]
        self.height, self.width = (size, size) if isinstance(size, int) else tuple(size)
        self.mode = cfg.get("resize_mode") or "shortest"
        self.resample = (
            Image.Resampling.BILINEAR if cfg.get("interpolation") == "bilinear" else Image.Resampling.BICUBIC
        )
        self.fill = int(cfg.get("fill_color") or 0)
        self.mean = np.asarray(cfg["mean"], dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(cfg["std"], dtype=np.float32).reshape(3, 1, 1)

    def _keep_ratio(self, image: Image.Image, longest: float, resample: Image.Resampling) -> Image.Image:
        """open_clip's ``ResizeKeepRatio`` (longest 1: the longest side fits, 0: the shortest side fits)."""
        ratio_h, ratio_w = image.height / self.height, image.width / self.width
        ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
        return image.resize((round(image.width / ratio), round(image.height / ratio)), resample)

    def _resized(self, image: Image.Image) -> Image.Image:
        if self.mode == "longest":
            return _center_crop_or_pad(self._keep_ratio(image, 1.0, self.resample), self.height, self.width, self.fill)
        if self.mode == "squash":
            return image.resize((self.width, self.height), self.resample)
        if self.height == self.width:  # torchvision's Resize(int): the shortest side to size, the other truncated
            short, long = sorted((image.width, image.height))
            new_long = int(self.height * long / short)
            size = (self.width, new_long) if image.width <= image.height else (new_long, self.height)
            image = image if image.size == size else image.resize(size, self.resample)
        else:  # open_clip passes no interpolation here: always bicubic
            image = self._keep_ratio(image, 0.0, Image.Resampling.BICUBIC)
        return _center_crop_or_pad(image, self.height, self.width, 0)

    def __call__(self, image: Image.Image) -> np.ndarray:
        pixels = np.asarray(self._resized(image).convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255
        return (pixels - self.mean) / self.std


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(0, threads)  # 0: onnxruntime's default (the machine's cores)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """An export served by onnxruntime on CPU: the text session at start, the image session on the first image
    (search workers seldom encode images). One forward pass at a time per process, as the torch backend."""

    image_path = text_path = "onnx"

    def __init__(self, export: Export, *, threads: int = 0) -> None:
        started = time.perf_counter()
        manifest = export.manifest
        self.model_id = export.model_id
        self.dim = int(manifest["dim"])
        self._folder = export.folder
        self._threads = threads
        self._tokenizer = Tokenizer(
            export.folder / TOKENIZER_FILE, int(manifest["text"]["context_length"]), int(manifest["text"]["pad_id"])
        )
        self._text = _session(export.folder / TEXT_FILE, threads)
        self._image: Any = None
        self._preprocess = Preprocess(manifest["image"]["preprocess"])
        self._lock = threading.Lock()
        logger.info(
            "Loaded the ONNX export of %s (dim %d, %d threads) in %.1f s",
            self.model_id,
            self.dim,
            threads,
            time.perf_counter() - started,
        )

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokens = self._tokenizer(texts)
        with self._lock:
            (features,) = self._text.run(None, {"tokens": tokens})
        return l2_normalize(features)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """The model's input array for one image (transparent pixels composited on white first)."""
        return model_input(self._preprocess, image)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode_preprocessed([self.preprocess(image) for image in images])

    def encode_preprocessed(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        batch = np.ascontiguousarray(np.stack([np.asarray(a, dtype=np.float32) for a in arrays]))
        with self._lock:
            if self._image is None:
                self._image = _session(self._folder / IMAGE_FILE, self._threads)
            (features,) = self._image.run(None, {"pixels": batch})
        return l2_normalize(features)

    def __repr__(self) -> str:
        return f"OnnxEncoder({self.model_id!r}, dim={self.dim})"
