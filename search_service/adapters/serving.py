"""The adapter a process serves: the newest version of the loaded model that was not rolled back.

Each process looks at most once per ``SEARCH_ADAPTER_REFRESH`` seconds (0: on every search) for a newer
version (one indexed query), and loads its weights when the version changed. Query vectors are adapted after
the encoder's caches (which hold the model's own embeddings, the same for every version) and kept in an LRU
keyed by (adapter version, text); the result cache keys on the version too (``ranking.views``), so a new
version or a rollback never serves vectors or results of another.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from search_service.encoders.loader import embed_query
from servicekit.caching import LRU

from .models import QueryAdapter
from .residual import Residual


@dataclass(frozen=True)
class ServedAdapter:
    version: int
    model_id: str
    residual: Residual


# Per model id: when this process last looked for a newer version, and what it serves.
_served: LRU[str, tuple[float, ServedAdapter | None]] = LRU(64)
# Adapted query vectors by (adapter version, text), as many as the encoder's LRU keeps (at least 1).
_vectors: LRU[tuple[int, str], np.ndarray] = LRU(lambda: max(settings.SEARCH_TEXT_CACHE_SIZE, 1))


def current(model_id: str, dim: int) -> ServedAdapter | None:
    """The adapter to serve for ``model_id`` (None: none, or none of that dimension)."""
    now = time.monotonic()
    checked = _served.get(model_id)
    if checked is not None and now - checked[0] < settings.SEARCH_ADAPTER_REFRESH:
        return checked[1]
    newest = (
        QueryAdapter.objects.filter(model_id=model_id, rolled_back_at=None, dim=dim)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    previous = checked[1] if checked is not None else None
    if newest is None:
        adapter = None
    elif previous is not None and previous.version == newest:
        adapter = previous
    else:
        weights = QueryAdapter.objects.filter(pk=newest).values_list("weights", flat=True).first()
        adapter = None if weights is None else ServedAdapter(newest, model_id, Residual.from_bytes(weights))
    _served.put(model_id, (now, adapter))
    return adapter


def query_vector(text: str, adapter: ServedAdapter | None) -> np.ndarray:
    """The search vector of ``text``: the model's embedding, moved by the adapter when one is served."""
    vector = embed_query(text)
    if adapter is None:
        return vector

    def adapt() -> np.ndarray:
        adapted = adapter.residual.apply(vector)
        adapted.setflags(write=False)
        return adapted

    return _vectors.get_or_compute((adapter.version, text), adapt)[0]


def version_of(adapter: ServedAdapter | None) -> int:
    return 0 if adapter is None else adapter.version


def reset() -> None:
    """Forget what this process served (benchmarks/feedback.py; tests empty every cache with
    ``servicekit.caching.clear_all``)."""
    _served.clear()
    _vectors.clear()
