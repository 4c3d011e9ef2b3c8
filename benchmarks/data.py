"""Benchmark data, the same on every run: catalogues of sticker vectors, the demo stickers' real embeddings and
sticker-like PNGs. Nothing here touches a database (``benchmarks.catalogue`` writes the rows).

Catalogues (``--data`` of the scripts that use one):
* ``uniform``: N random unit vectors of the model's dimension as image embeddings and, for every other sticker,
  a second one as its title/tags embedding (the hard case for HNSW: no clusters); queries are random too.
* ``seeded``: each sticker a noisy copy (cos ~0.8 to its seed) of one of the demo stickers' real image and
  title/tags embeddings, with its seed's title and tags, queried with the real embeddings of their tag words (many
  stickers per concept; the word is the query's text).

Rows are generated in blocks of :data:`BLOCK`, each from its own seed, so that rows [a, b) are the same whatever
size a run grows the catalogue to.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks import common

if TYPE_CHECKING:
    from search_service.encoders.base import Encoder

BLOCK = 10_000  # rows generated per deterministic block
KINDS = ("uniform", "seeded")
DEMO_DIR = common.SEARCH_DIR / "demo_stickers"


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """``--data uniform|seeded``: which catalogue a script generates."""
    parser.add_argument(
        "--data",
        default="uniform",
        choices=KINDS,
        help="uniform random unit vectors, or noisy copies of the demo stickers' real embeddings",
    )


def unit_rows(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """``count`` random unit vectors (float32)."""
    vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def normalise(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def warmup_queries(count: int, dim: int) -> np.ndarray:
    """Query vectors for untimed warm-up searches, never among the timed ones."""
    return unit_rows(np.random.default_rng(999), count, dim)


# --- the demo stickers ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoStickers:
    """The demo stickers (sorted by filename) with their CLDR metadata, as one model embeds them: ``image`` and
    ``text`` (title/tags) one row per sticker, ``query`` one row per distinct tag word."""

    names: list[str]
    meta: dict[str, dict[str, Any]]
    image: np.ndarray
    text: np.ndarray
    query: np.ndarray

    @property
    def query_words(self) -> list[str]:
        """The tag word of each ``query`` row."""
        return tag_words(self.names, self.meta)


def tag_words(names: list[str], meta: dict[str, dict[str, Any]]) -> list[str]:
    return sorted({tag for name in names for tag in meta[name]["tags"]})


def demo_metadata() -> dict[str, dict[str, Any]]:
    return json.loads((DEMO_DIR / "metadata.json").read_text(encoding="utf-8"))


def demo_stickers(encoder: Encoder) -> DemoStickers:
    """The demo stickers' embeddings by ``encoder``, computed once per model and cached in benchmarks/.cache."""
    meta = demo_metadata()
    names = sorted(meta)
    path = common.CACHE_DIR / f"real-embeddings-{hashlib.sha256(encoder.model_id.encode()).hexdigest()[:12]}.npz"
    if not path.exists():
        print(f"embedding {len(names)} demo stickers once (cached in {path.name}) ...", flush=True)
        image, text, query = _embed_demo(encoder, names, meta)
        common.CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(path, image=image, text=text, query=query)
    with np.load(path) as cached:
        return DemoStickers(names, meta, cached["image"], cached["text"], cached["query"])


def _embed_demo(
    encoder: Encoder, names: list[str], meta: dict[str, dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from PIL import Image

    from search_service.stickers.metadata import metadata_text

    image = np.concatenate(
        [
            encoder.encode_images([Image.open(DEMO_DIR / name) for name in names[i : i + 32]])
            for i in range(0, len(names), 32)
        ]
    )
    text = encoder.encode_texts([metadata_text(meta[name]["title"], meta[name]["tags"]) for name in names])
    words = tag_words(names, meta)
    query = np.concatenate([encoder.encode_texts(words[i : i + 256]) for i in range(0, len(words), 256)])
    return image, text, query


def image_embeddings(encoder: Encoder, paths: list[Path], batch: int = 32) -> np.ndarray:
    """``encoder``'s embeddings of the images at ``paths`` (one row each, in order), cached in benchmarks/.cache per
    model and keyed by each file's SHA-256: only new or changed files are embedded (tqdm progress), and the cache
    is saved after every batch, so an interrupted run resumes."""
    from PIL import Image
    from tqdm import tqdm

    path = common.CACHE_DIR / f"image-embeddings-{hashlib.sha256(encoder.model_id.encode()).hexdigest()[:12]}.npz"
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as stored:
            cached = dict(zip(stored["sha256"].tolist(), stored["vectors"], strict=True))
    hashes = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    todo = [i for i, digest in enumerate(hashes) if digest not in cached]
    common.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for start in tqdm(range(0, len(todo), batch), desc="embedding images (cached)", disable=not todo):
        rows = todo[start : start + batch]
        vectors = encoder.encode_images([Image.open(paths[i]) for i in rows])
        cached.update({hashes[i]: vector for i, vector in zip(rows, vectors, strict=True)})
        np.savez(path.with_suffix(".tmp.npz"), sha256=np.array(list(cached)), vectors=np.stack(list(cached.values())))
        path.with_suffix(".tmp.npz").rename(path)
    return np.stack([cached[digest] for digest in hashes])


# --- generated catalogues ---------------------------------------------------------------------------------------
def has_text(row: int) -> bool:
    """Every other bench sticker has a title (and so a title/tags embedding)."""
    return row % 2 == 0


def filename(row: int) -> str:
    return f"bench-{row:07d}.png"


def row_of(name: str) -> int:
    return int(name[6:13])


@dataclass(frozen=True)
class Catalogue:
    """Where a generated catalogue's vectors come from (see the module docstring): ``kind`` uniform or seeded
    (``demo`` holds the seeds), in the model's dimension ``dim``."""

    kind: str
    dim: int
    demo: DemoStickers | None = None
    noise: float = 0.75  # noise norm / seed norm: cos(copy, seed) ~ 0.8

    @classmethod
    def of(cls, kind: str, encoder: Encoder) -> Catalogue:
        if kind not in KINDS:
            raise SystemExit(f"unknown data {kind!r} ({', '.join(KINDS)})")
        return cls(kind, encoder.dim, demo_stickers(encoder) if kind == "seeded" else None)

    def block(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows [index*BLOCK, (index+1)*BLOCK): image vectors, and text vectors (used on even rows only)."""
        if self.demo is None:
            rng = np.random.default_rng([self.dim, index])
            return unit_rows(rng, BLOCK, self.dim), unit_rows(rng, BLOCK, self.dim)
        rng, pick = self._seeded(index)
        scale = self.noise / np.sqrt(self.dim)
        image = self.demo.image[pick] + scale * rng.standard_normal((BLOCK, self.dim), dtype=np.float32)
        text = self.demo.text[pick] + scale * rng.standard_normal((BLOCK, self.dim), dtype=np.float32)
        return normalise(image), normalise(text)

    def _seeded(self, index: int) -> tuple[np.random.Generator, np.ndarray]:
        assert self.demo is not None
        rng = np.random.default_rng([self.dim, index, 1])
        return rng, rng.integers(0, len(self.demo.image), BLOCK)

    def metadata(self, index: int) -> list[tuple[str, list[str]]]:
        """(title, tags) of each row of block ``index``: seeded, its demo sticker's CLDR name and keywords; uniform,
        "bench sticker <row>" without tags (used on rows with a title only, like the text vectors)."""
        if self.demo is None:
            return [(f"bench sticker {index * BLOCK + i}", []) for i in range(BLOCK)]
        meta, names = self.demo.meta, self.demo.names
        return [(meta[names[p]]["title"], meta[names[p]]["tags"]) for p in self._seeded(index)[1]]

    def vectors_upto(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Image and text vectors of rows [0, n)."""
        blocks = [self.block(i) for i in range((n + BLOCK - 1) // BLOCK)]
        return np.concatenate([b[0] for b in blocks])[:n], np.concatenate([b[1] for b in blocks])[:n]

    def blended_upto(self, n: int, weight: float) -> np.ndarray:
        """The stored search vectors of rows [0, n) (what the ranking scores)."""
        image, text = self.vectors_upto(n)
        return blended_rows(image, text, 0, weight)

    def describe(self) -> str:
        """The data in one sentence, for a RESULTS.md section."""
        if self.demo is None:
            return "uniformly random unit vectors, queries too (the hard case for HNSW: no neighbourhood structure)."
        return (
            f"each sticker a noisy copy (cos ~0.8 to its seed) of one of the {len(self.demo.names):,} demo stickers' "
            "real image and title/tags embeddings (with its seed's title and tags), queries the real embeddings of "
            "their tag words (many stickers per concept)."
        )

    def queries(self, count: int) -> np.ndarray:
        """Query vectors: random unit vectors, or (seeded) up to ``count`` distinct real tag-word embeddings."""
        rng = np.random.default_rng(12345)
        if self.demo is None:
            return unit_rows(rng, count, self.dim)
        return self.demo.query[self._query_rows(count)]

    def _query_rows(self, count: int) -> np.ndarray:
        assert self.demo is not None
        return np.random.default_rng(12345).choice(
            len(self.demo.query), size=min(count, len(self.demo.query)), replace=False
        )

    def query_texts(self, count: int, warmup: int) -> tuple[list[str], list[str], np.ndarray]:
        """Seeded only: the tag words of :meth:`queries`, and ``warmup`` other tag words with their vectors."""
        if self.demo is None:
            raise SystemExit("query texts exist for seeded data only (--data seeded)")
        rows, words = self._query_rows(count), self.demo.query_words
        others = np.setdiff1d(np.arange(len(words)), rows)
        others = np.random.default_rng(54321).choice(others, size=min(warmup, len(others)), replace=False)
        return [words[r] for r in rows], [words[r] for r in others], self.demo.query[others]


def blended_rows(image: np.ndarray, text: np.ndarray, first_row: int, weight: float) -> np.ndarray:
    """The stored search vectors of rows first_row.. (``stickers.blending.blend``: image alone without text)."""
    from search_service.stickers.blending import blend

    return np.stack([blend(image[i], text[i] if has_text(first_row + i) else None, weight) for i in range(len(image))])


def exact_top(blended: np.ndarray, query: np.ndarray, k: int = 10) -> set[int]:
    """Rows of the exact top k of the blended score: the ground truth of recall."""
    scores = blended @ query
    return set(np.argpartition(-scores, k)[:k].tolist())


# --- generated images -------------------------------------------------------------------------------------------
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "cyan", "magenta", "brown", "pink"]


def make_images(count: int, size: int) -> Path:
    """``count`` sticker-like RGBA PNGs of ``size`` px (a few shapes on a transparent background), cached in
    benchmarks/.cache; returns their folder."""
    from PIL import Image, ImageDraw

    folder = common.CACHE_DIR / f"stickers-{size}px"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        path = folder / f"sticker-{index:05d}.png"
        if path.exists():
            continue
        rng = random.Random(index)
        image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        for _ in range(rng.randrange(3, 8)):
            x0, y0 = rng.randrange(0, size * 3 // 4), rng.randrange(0, size * 3 // 4)
            x1, y1 = x0 + rng.randrange(size // 8, size // 2), y0 + rng.randrange(size // 8, size // 2)
            shape = rng.choice([draw.ellipse, draw.rectangle, draw.rounded_rectangle])
            shape([x0, y0, x1, y1], fill=rng.choice(COLOURS), outline="black", width=max(1, size // 64))
        image.save(path.with_suffix(".tmp"), format="PNG")
        path.with_suffix(".tmp").rename(path)
    return folder
