"""Query embeddings shared by every process through Redis (``SEARCH_REDIS_URL``; empty = off).

Sits behind each process's LRU (``loader.embed_query``): a text one gunicorn worker (or replica) encoded
is a Redis GET for the others. Keys are ``search:text:v1:<model id hash>:<sha256 of the text>``, values
the raw little-endian float32 vector, kept ``SEARCH_REDIS_TTL`` seconds.

Redis is only ever a shortcut: any failure (down, slow past ``SEARCH_REDIS_TIMEOUT``, a value of the wrong
size) counts as a miss and the text is encoded as if no cache were configured. After a connection
failure Redis is left alone for a while (``servicekit.caching.FailOpenRedis``), so an outage costs one timeout, not
one per query.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np

from search_service.core.metrics import CACHE_REQUESTS
from servicekit.caching import FAILED, FailOpenRedis

logger = logging.getLogger(__name__)

KEY_PREFIX = "search:text:v1"


class RedisTextCache:
    def __init__(self, url: str, *, model_id: str, dim: int, ttl: int, timeout: float) -> None:
        self.redis = FailOpenRedis(
            url, timeout=timeout, name="Redis text cache", fallback="encoding without it", logger=logger
        )
        self.dim = int(dim)
        self.ttl = int(ttl)
        self.prefix = f"{KEY_PREFIX}:{hashlib.sha256(model_id.encode()).hexdigest()[:16]}:"
        self.hits = self.misses = 0

    @property
    def errors(self) -> int:
        return self.redis.errors

    def key(self, text: str) -> str:
        return self.prefix + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, text: str) -> np.ndarray | None:
        """The cached vector (read-only), or None: not cached, unusable or Redis unavailable."""
        if not self.redis.available:
            return None
        raw = self.redis.call("GET", self.key(text))
        if raw is FAILED:
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
        self.redis.call("SET", self.key(text), np.asarray(vector, dtype="<f4").tobytes(), ex=self.ttl)

    def close(self) -> None:
        self.redis.close()


def from_settings(model_id: str, dim: int) -> RedisTextCache | None:
    from django.conf import settings

    url = settings.SEARCH_REDIS_URL
    if not url:
        return None
    return RedisTextCache(
        url, model_id=model_id, dim=dim, ttl=settings.SEARCH_REDIS_TTL, timeout=settings.SEARCH_REDIS_TIMEOUT
    )
