"""The process's encoder: loaded once (lazily, or at gunicorn worker start), never per request.

Under gunicorn it is loaded in each worker after the fork (``post_worker_init`` in gunicorn.conf.py),
never in the master: torch's thread pools do not survive a fork.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from search_service.core.metrics import CACHE_REQUESTS, TEXT_ENCODING_SECONDS
from servicekit.caching import LRU
from servicekit.errors import DomainError

from . import text_cache
from .base import Encoder

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_encoder: Encoder | None = None
_shared_cache: text_cache.RedisTextCache | None = None
# Text -> embedding by the process's encoder (SEARCH_TEXT_CACHE_SIZE texts; 0 = none), emptied for another encoder.
query_vectors: LRU[str, np.ndarray] = LRU(lambda: settings.SEARCH_TEXT_CACHE_SIZE)


class ModelUnavailable(DomainError):
    """The configured model could not be loaded (message says why)."""

    code = "model_unavailable"
    status_code = 503


def load_encoder() -> Encoder:
    """A new encoder for the model the settings name (slow: seconds), on the runtime SEARCH_RUNTIME picks."""
    onnx = _onnx_encoder()
    if onnx is not None:
        return onnx
    from .open_clip_backend import OpenClipEncoder
    from .spec import resolve_model_spec

    spec = resolve_model_spec()
    return OpenClipEncoder(spec, device=settings.SEARCH_DEVICE, threads=settings.SEARCH_TORCH_THREADS)


def _onnx_encoder() -> Encoder | None:
    """The ONNX Runtime encoder when SEARCH_RUNTIME allows it and SEARCH_ONNX_DIR holds a current export of the
    configured model; None: torch serves (auto without one, or a GPU device). ``onnx`` without one is an error."""
    runtime = settings.SEARCH_RUNTIME
    if runtime == "torch" or (runtime == "auto" and settings.SEARCH_DEVICE not in ("", "auto", "cpu")):
        return None
    from .onnx_backend import MANIFEST, ExportUnusable, OnnxEncoder, read_export
    from .spec import configured_model_id

    folder = Path(settings.SEARCH_ONNX_DIR)
    if runtime == "auto" and not (folder / MANIFEST).is_file():
        return None  # no export at all: skip reading the model id (it may hash a checkpoint file)
    try:
        export = read_export(folder, configured_model_id())
    except ExportUnusable as exc:
        if runtime == "onnx":
            raise ImproperlyConfigured(
                f"SEARCH_RUNTIME=onnx, but {exc}: run python -m search_service export_onnx"
            ) from exc
        logger.info("Serving with torch (SEARCH_RUNTIME=auto): %s", exc)
        return None
    return OnnxEncoder(export, threads=settings.SEARCH_TORCH_THREADS)


def get_encoder() -> Encoder:
    """The process's encoder, loaded on first use; raises :class:`ModelUnavailable` if it cannot load."""
    encoder = _encoder
    if encoder is None:
        with _lock:
            encoder = _encoder
            if encoder is None:
                try:
                    encoder = load_encoder()
                except ImproperlyConfigured as exc:
                    raise ModelUnavailable(str(exc)) from exc
                except Exception as exc:
                    logger.exception("Loading the model failed")
                    raise ModelUnavailable(f"Loading the model failed: {type(exc).__name__}: {exc}") from exc
                _install(encoder)
    return encoder


def set_encoder(encoder: Encoder | None) -> None:
    """Install (or with None: forget) the process's encoder. For tests and tools."""
    with _lock:
        _install(encoder)


def _install(encoder: Encoder | None) -> None:
    """Make ``encoder`` the process's (holding ``_lock``): an empty LRU and, when configured, the Redis cache of its
    model."""
    global _encoder, _shared_cache
    if _shared_cache is not None:
        _shared_cache.close()
    _shared_cache = text_cache.from_settings(encoder.model_id, encoder.dim) if encoder is not None else None
    query_vectors.clear()
    _encoder = encoder


def _embed(encoder: Encoder, text: str) -> np.ndarray:
    """Text -> embedding past the process's LRU: Redis shared by all processes (when configured), then the model.
    A new embedding goes into Redis."""
    shared = _shared_cache
    vector = shared.get(text) if shared is not None else None
    if vector is None:
        with TEXT_ENCODING_SECONDS.time():
            vector = encoder.encode_texts([text])[0]
        if shared is not None:
            shared.set(text, vector)
    vector.setflags(write=False)  # shared between requests: nobody may modify it
    return vector


def embed_query(text: str) -> np.ndarray:
    """The query's text embedding, from the process's LRU cache or Redis when it was asked before."""
    encoder = get_encoder()
    vector, hit = query_vectors.get_or_compute(text, lambda: _embed(encoder, text))
    CACHE_REQUESTS.labels("text_lru", "hit" if hit else "miss").inc()
    return vector


def shared_text_cache() -> text_cache.RedisTextCache | None:
    """The Redis cache behind the LRU, when ``SEARCH_REDIS_URL`` configures one."""
    return _shared_cache


def readiness_check() -> dict:
    """/readyz: is the model loaded (loading it if this process has not yet)?"""
    try:
        encoder = get_encoder()
    except ModelUnavailable as exc:
        return {"ok": False, "error": str(exc)[:300]}
    return {"ok": True, "model": encoder.model_id, "dim": encoder.dim}
