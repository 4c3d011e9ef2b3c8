"""Query embeddings shared by every process through Redis (``SEARCH_REDIS_URL``; empty = off).

Sits behind each process's LRU (``loader.embed_query``): a text one gunicorn worker (or replica) encoded
is a Redis GET for the others. Keys are ``search:text:v1:<model id hash>:<sha256 of the text>``, values
the raw little-endian float32 vector, kept ``SEARCH_REDIS_TTL`` seconds.

Redis is only ever a shortcut: any failure (down, slow past ``SEARCH_REDIS_TIMEOUT``, a value of the wrong
size) counts as a miss and the text is encoded as if no cache were configured. After a connection
failure Redis is left alone for ``retry_after`` seconds, so an outage costs one timeout, not one per query.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import numpy as np

from search_service.core.metrics import CACHE_REQUESTS

logger = logging.getLogger(__name__)

KEY_PREFIX = "search:text:v1"


class RedisTextCache:
    def __init__(
        self, url: str, *, model_id: str, dim: int, ttl: int, timeout: float, retry_after: float = 5.0
    ) -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.dim = int(dim)
        self.ttl = int(ttl)
        self.retry_after = retry_after
        self.prefix = f"{KEY_PREFIX}:{hashlib.sha256(model_id.encode()).hexdigest()[:16]}:"
        self.hits = self.misses = self.errors = 0
        self._down_until = 0.0
        self._lock = threading.Lock()

    def key(self, text: str) -> str:
        return self.prefix + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, action: str, exc: Exception) -> None:
        with self._lock:
            self.errors += 1
            was_up = self._available()
            self._down_until = time.monotonic() + self.retry_after
        if was_up:
            logger.warning(
                "Redis text cache %s failed (%s: %s); encoding without it for %.0f s",
                action,
                type(exc).__name__,
                exc,
                self.retry_after,
            )

    def get(self, text: str) -> np.ndarray | None:
        """The cached vector (read-only), or None: not cached, unusable or Redis unavailable."""
        if not self._available():
            return None
        try:
            raw = self._client.get(self.key(text))
        except self._errors as exc:
            self._failed("GET", exc)
            CACHE_REQUESTS.labels("text_redis", "error").inc()
            return None
        if not isinstance(raw, bytes) or len(raw) != self.dim * 4:  # None: not cached
            self.misses += 1
            CACHE_REQUESTS.labels("text_redis", "miss").inc()
            return None
        self.hits += 1
        CACHE_REQUESTS.labels("text_redis", "hit").inc()
        return np.frombuffer(raw, dtype="<f4").astype(np.float32, copy=False)

    def set(self, text: str, vector: np.ndarray) -> None:
        if not self._available():
            return
        try:
            self._client.set(self.key(text), np.asarray(vector, dtype="<f4").tobytes(), ex=self.ttl)
        except self._errors as exc:
            self._failed("SET", exc)

    def close(self) -> None:
        self._client.close()


def from_settings(model_id: str, dim: int) -> RedisTextCache | None:
    from django.conf import settings

    url = settings.SEARCH_REDIS_URL
    if not url:
        return None
    return RedisTextCache(
        url, model_id=model_id, dim=dim, ttl=settings.SEARCH_REDIS_TTL, timeout=settings.SEARCH_REDIS_TIMEOUT
    )
