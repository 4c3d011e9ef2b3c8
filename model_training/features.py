"""Frozen-tower features for training, cached on disk so that runs resume and repeat cheaply.

Image features are the 1280-d pooled output of the EfficientNet-Lite0 trunk (the input of the trained
projection), computed through the same open_clip folder and the same preprocessing function
(``encoders.base.model_input``) the service uses. The same forward pass also keeps, for the ablations,
the average-pooled outputs of the last three stages (``blocks``: 112 + 192 + 320 = 624-d, multi-block
features) and the spatial output of stage 5 (``stage5``: 192 x 7 x 7, the input of the last stage, so that
the last stage and the 1x1 head convolution can be tuned without running the earlier blocks again).
Text features are MiniLM sentence vectors (L2-normalised). All caches are folders of ``.npz`` chunks
keyed by item uid or text: an interrupted run keeps every finished chunk and computes only what is missing.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from search_service.default_model import build
from search_service.encoders.base import model_input

from . import sources

CHUNK = 512


class ChunkCache:
    """A key -> float16 vector store kept as ``chunk-*.npz`` files in one folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.vectors: dict[str, np.ndarray] = {}
        for path in sorted(self.folder.glob("chunk-*.npz")):
            with np.load(path, allow_pickle=False) as data:
                for key, vec in zip(data["keys"].tolist(), data["vectors"], strict=True):
                    self.vectors[key] = vec

    def missing(self, keys: Sequence[str]) -> list[str]:
        seen, out = set(), []
        for key in keys:
            if key not in self.vectors and key not in seen:
                seen.add(key)
                out.append(key)
        return out

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float16)
        # Numbered in order, with the process id so that two runs filling one cache never overwrite each other.
        index = len(list(self.folder.glob("chunk-*.npz")))
        tmp = self.folder / f"tmp-{index:05d}-{os.getpid()}.npz"
        np.savez(tmp, keys=np.array(list(keys)), vectors=vectors)
        tmp.replace(self.folder / f"chunk-{index:05d}-{os.getpid()}.npz")
        self.vectors.update(zip(keys, vectors, strict=True))

    def matrix(self, keys: Sequence[str], dtype: type = np.float32) -> np.ndarray:
        return np.stack([self.vectors[k] for k in keys]).astype(dtype, copy=False)


class Towers:
    """The frozen image trunk and text tower, loaded through open_clip's ``local-dir:`` path."""

    def __init__(self, cache_dir: Path, threads: int | None = None, tower: str = "lite0"):
        import open_clip
        import torch
        from safetensors.torch import save_file

        if threads:
            torch.set_num_threads(threads)
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Any head will do here: only the frozen trunk and text tower are used.
        suffix = "" if tower == "lite0" else f"-{tower}"
        zero = cache_dir / f"zero-projection{suffix}.safetensors"
        if not zero.exists():
            save_file(
                {
                    "visual.head.proj.weight": torch.zeros(build.EMBED_DIM, build.IMAGE_FEATURES),
                    "visual.head.proj.bias": torch.zeros(build.EMBED_DIM),
                },
                str(zero),
                metadata={"head": "linear", "head_bias": "true", "tower": tower},
            )
        folder = build.ensure_model_dir(cache_dir / f"towers{suffix}", projection_path=zero)
        self.model, _, self.preprocess = open_clip.create_model_and_transforms("local-dir:" + str(folder))
        self.model.eval()
        self.model.visual.trunk.to(memory_format=torch.channels_last)
        self.tokenizer = open_clip.get_tokenizer("local-dir:" + str(folder))
        self.torch = torch

    def image_batch(self, images: Sequence[Image.Image]):
        """The trunk's input: each image through the preprocessing search_service uses when it serves."""
        return self.torch.stack([model_input(self.preprocess, im) for im in images])

    def image_features(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.image_feature_kinds(images)["pooled"]

    def image_feature_kinds(self, images: Sequence[Image.Image]) -> dict[str, np.ndarray]:
        """``pooled`` (the head's input), ``blocks`` (pooled stages 4-6) and ``stage5`` (spatial) in one pass."""
        torch = self.torch
        trunk = self.model.visual.trunk
        batch = self.image_batch(images).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            x = trunk.bn1(trunk.conv_stem(batch))
            stages = []
            for block in trunk.blocks:
                x = block(x)
                stages.append(x)
            pooled = trunk.global_pool(trunk.bn2(trunk.conv_head(x)))
        return {
            "pooled": pooled.float().numpy(),
            "blocks": torch.cat([s.mean((2, 3)) for s in stages[-3:]], 1).float().numpy(),
            "stage5": stages[-2].float().contiguous().numpy(),
        }

    def text_features(self, texts: Sequence[str]) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            feats = self.model.encode_text(self.tokenizer(list(texts)), normalize=True)
        return feats.float().numpy()


# ----------------------------------------------------------------------------- augmentation
def augment(image: Image.Image, seed: int) -> Image.Image:
    """A sticker-like variant: smaller and off-centre on its canvas, sometimes low-res or tilted."""
    rng = random.Random(seed)
    image = image.convert("RGBA")
    side = max(image.size)
    if rng.random() < 0.3:
        image = image.rotate(rng.uniform(-12, 12), resample=Image.BICUBIC, expand=True)
    scale = rng.uniform(0.55, 1.0)
    fit = scale * side / max(image.size)
    w, h = max(1, round(image.width * fit)), max(1, round(image.height * fit))
    small = image.resize((w, h), Image.BICUBIC)
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(small, (rng.randint(0, side - w), rng.randint(0, side - h)))
    if rng.random() < 0.5:
        low = rng.randint(40, 96)
        canvas = canvas.resize((low, low), Image.BICUBIC).resize((side, side), Image.BICUBIC)
    return canvas


def variant_seed(uid: str, variant: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{uid}#{variant}".encode()).digest()[:8], "little")


def image_feature_matrix(
    towers: Towers,
    cache_root: Path,
    items: Sequence[sources.Item],
    variant: int = 0,
    batch_size: int = 32,
    loader: Callable[[sources.Item], Image.Image] = sources.load_image,
    desc: str = "image features",
    kind: str = "pooled",
) -> np.ndarray:
    """(len(items), 1280) pooled trunk features (or another ``kind``, see the module docstring); variant 0 is
    the clean picture, others augmented (monochrome glyphs also recoloured, see ``sources.render_variant``).
    Stage-5 maps stay float16 as cached (~19 KB a picture): their users convert a batch at a time."""
    root = Path(cache_root)
    caches = {k: ChunkCache(root / (f"images-v{variant}" if k == "pooled" else f"{k}-v{variant}")) for k in KINDS}
    by_uid = {it.uid: it for it in items}
    missing = set().union(*(c.missing([it.uid for it in items]) for c in caches.values()))
    todo = [uid for uid in dict.fromkeys(it.uid for it in items) if uid in missing]
    if todo:
        pending_keys: list[str] = []
        pending: dict[str, list[np.ndarray]] = {k: [] for k in KINDS}
        with tqdm(total=len(todo), desc=f"{desc} (v{variant})", unit="img") as bar:
            for batch in sources.iter_batches(todo, batch_size):
                images = [sources.render_variant(by_uid[uid], variant, loader) for uid in batch]
                if variant:
                    images = [augment(im, variant_seed(uid, variant)) for im, uid in zip(images, batch, strict=True)]
                pending_keys += batch
                for k, v in towers.image_feature_kinds(images).items():
                    pending[k].append(v)
                bar.update(len(batch))
                if len(pending_keys) >= CHUNK:
                    for k in KINDS:
                        caches[k].add(pending_keys, np.concatenate(pending[k]))
                    pending_keys, pending = [], {k: [] for k in KINDS}
        if pending_keys:
            for k in KINDS:
                caches[k].add(pending_keys, np.concatenate(pending[k]))
    return caches[kind].matrix([it.uid for it in items], np.float16 if kind == "stage5" else np.float32)


KINDS = ("pooled", "blocks", "stage5")


def per_training_variant(
    items: Sequence[sources.Item], variant: int, fetch: Callable[[int, list[int]], np.ndarray]
) -> np.ndarray:
    """One feature row per item for its ``variant``-th training copy: items grouped by
    ``sources.training_variant`` (monochrome glyphs only recoloured), ``fetch(feature_variant, positions)`` called
    once per group, the rows put back in the items' order (rows of any shape and dtype, as ``fetch`` gives them)."""
    rows: dict[int, list[int]] = {}
    for n, it in enumerate(items):
        rows.setdefault(sources.training_variant(it, variant), []).append(n)
    out = np.zeros((len(items), 0), np.float32)
    for v, where in sorted(rows.items()):
        mat = fetch(v, where)
        if out.shape[1:] != mat.shape[1:] or out.dtype != mat.dtype:
            out = np.zeros((len(items), *mat.shape[1:]), mat.dtype)
        out[where] = mat
    return out


def training_feature_matrix(
    towers: Towers,
    cache_root: Path,
    items: Sequence[sources.Item],
    variant: int,
    loader: Callable[[sources.Item], Image.Image] = sources.load_image,
    kind: str = "pooled",
) -> np.ndarray:
    """The features a head trains on for its ``variant``-th copy of each item (``per_training_variant`` over
    ``image_feature_matrix``)."""
    items = list(items)

    def fetch(v: int, where: list[int]) -> np.ndarray:
        return image_feature_matrix(towers, cache_root, [items[n] for n in where], v, loader=loader, kind=kind)

    return per_training_variant(items, variant, fetch)


def side_by_side(parts: list[np.ndarray]) -> np.ndarray:
    """Feature kinds of the same items side by side (one kind as it is, not copied: stage-5 maps are large)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts, 1)


def text_feature_matrix(towers: Towers, cache_root: Path, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
    cache = ChunkCache(Path(cache_root) / "texts")
    todo = cache.missing(texts)
    if todo:
        steps = math.ceil(len(todo) / CHUNK)
        for chunk in tqdm(list(sources.iter_batches(todo, CHUNK)), total=steps, desc="text features", unit="chunk"):
            vecs = np.concatenate([towers.text_features(b) for b in sources.iter_batches(chunk, batch_size)])
            cache.add(chunk, vecs)
    return cache.matrix(list(texts))
