"""The residual map on query embeddings: ``q' = normalize(q + (q @ down) @ up)``.

``up`` starts at zero, so a new adapter is the identity. Low rank (``down``: dim x rank, ``up``: rank x dim):
a few hundred thousand float32 numbers and two small matrix products per query. Image embeddings are untouched
(no reindex); the adapter only moves the query vector the ranking scores stickers against.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Residual:
    down: np.ndarray  # (dim, rank) float32
    up: np.ndarray  # (rank, dim) float32

    @property
    def dim(self) -> int:
        return int(self.down.shape[0])

    @property
    def rank(self) -> int:
        return int(self.down.shape[1])

    def apply(self, queries: np.ndarray) -> np.ndarray:
        """Adapted unit vectors for one (dim,) or many (n, dim) unit query vectors."""
        q = np.asarray(queries, dtype=np.float32)
        moved = q + (q @ self.down) @ self.up
        norms = np.linalg.norm(moved, axis=-1, keepdims=True)
        return (moved / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, down=self.down.astype(np.float32), up=self.up.astype(np.float32))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> Residual:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as arrays:
            return cls(down=arrays["down"].astype(np.float32), up=arrays["up"].astype(np.float32))

    @classmethod
    def identity(cls, dim: int, rank: int, seed: int = 0) -> Residual:
        rng = np.random.default_rng(seed)
        down = (rng.standard_normal((dim, rank)) / np.sqrt(dim)).astype(np.float32)
        return cls(down=down, up=np.zeros((rank, dim), dtype=np.float32))
