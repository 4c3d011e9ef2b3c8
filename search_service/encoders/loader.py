"""The process's encoder: loaded once (lazily, or at gunicorn worker start), never per request.

Under gunicorn it is loaded in each worker after the fork (``post_worker_init`` in gunicorn.conf.py),
never in the master: torch's thread pools do not survive a fork.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from search_service.core.metrics import CACHE_REQUESTS, TEXT_ENCODING_SECONDS
from servicekit.errors import DomainError

from . import text_cache
from .base import Encoder

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_lookup = threading.local()  # .missed: did this thread's last embed_query miss the LRU?
_encoder: Encoder | None = None
_query_cache: Callable[[str], np.ndarray] | None = None
_shared_cache: text_cache.RedisTextCache | None = None


class ModelUnavailable(DomainError):
    """The configured model could not be loaded (message says why)."""

    code = "model_unavailable"
    status_code = 503


def load_encoder() -> Encoder:
    """A new encoder for the model the settings name (slow: seconds)."""
    from .open_clip_backend import OpenClipEncoder
    from .spec import resolve_model_spec

    spec = resolve_model_spec()
    return OpenClipEncoder(spec, device=settings.SEARCH_DEVICE, threads=settings.SEARCH_TORCH_THREADS)


def get_encoder() -> Encoder:
    """The process's encoder, loaded on first use; raises :class:`ModelUnavailable` if it cannot load."""
    global _encoder, _query_cache
    if _encoder is None:
        with _lock:
            if _encoder is None:
                try:
                    encoder = load_encoder()
                except ImproperlyConfigured as exc:
                    raise ModelUnavailable(str(exc)) from exc
                except Exception as exc:
                    logger.exception("Loading the model failed")
                    raise ModelUnavailable(f"Loading the model failed: {type(exc).__name__}: {exc}") from exc
                _query_cache = _make_query_cache(encoder, settings.SEARCH_TEXT_CACHE_SIZE)
                _encoder = encoder
    return _encoder


def set_encoder(encoder: Encoder | None) -> None:
    """Install (or with None: forget) the process's encoder. For tests and tools."""
    global _encoder, _query_cache, _shared_cache
    with _lock:
        _encoder = encoder
        _query_cache = _make_query_cache(encoder, settings.SEARCH_TEXT_CACHE_SIZE) if encoder else None
        if encoder is None and _shared_cache is not None:
            _shared_cache.close()
            _shared_cache = None


def _make_query_cache(encoder: Encoder, size: int):
    """Text -> embedding: this process's LRU, then Redis shared by all processes (when configured), then the
    model. A new embedding goes into both caches."""
    global _shared_cache
    if _shared_cache is not None:
        _shared_cache.close()
    _shared_cache = shared = text_cache.from_settings(encoder.model_id, encoder.dim)

    def embed(text: str) -> np.ndarray:
        _lookup.missed = True
        vector = shared.get(text) if shared is not None else None
        if vector is None:
            with TEXT_ENCODING_SECONDS.time():
                vector = encoder.encode_texts([text])[0]
            if shared is not None:
                shared.set(text, vector)
        vector.setflags(write=False)  # shared between requests: nobody may modify it
        return vector

    return lru_cache(maxsize=size)(embed) if size > 0 else embed


def embed_query(text: str) -> np.ndarray:
    """The query's text embedding, from the process's LRU cache or Redis when it was asked before."""
    get_encoder()
    assert _query_cache is not None  # made by get_encoder()
    _lookup.missed = False
    vector = _query_cache(text)
    CACHE_REQUESTS.labels("text_lru", "miss" if _lookup.missed else "hit").inc()
    return vector


def shared_text_cache() -> text_cache.RedisTextCache | None:
    """The Redis cache behind the LRU, when ``SEARCH_REDIS_URL`` configures one."""
    return _shared_cache


def query_cache_info():
    cache_info = getattr(_query_cache, "cache_info", None)  # an lru_cache has it
    return cache_info() if cache_info else None


def readiness_check() -> dict:
    """/readyz: is the model loaded (loading it if this process has not yet)?"""
    try:
        encoder = get_encoder()
    except ModelUnavailable as exc:
        return {"ok": False, "error": str(exc)[:300]}
    return {"ok": True, "model": encoder.model_id, "dim": encoder.dim}
