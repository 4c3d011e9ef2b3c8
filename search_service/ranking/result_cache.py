"""Recent search results, for queries that repeat (popular searches): no text encoding and no HNSW scans for a
query asked again within ``SEARCH_RESULT_CACHE_TTL`` seconds (0 = off, the default).

Keyed by everything the ranking depends on (model, query, limit, offset, boosts, weight, ef_search, the
exact-scan size, the boost cap and the full-text settings).
Each process keeps its own LRU (``servicekit.caching.LRU``), emptied when this process changes the index
(``stickers.signals.index_changed``, and Sticker saves and deletes).

With Redis (``SEARCH_REDIS_URL``) the results are shared by every process and machine, and so is their
invalidation: a process that changes the index (a gunicorn worker's upload or delete, ``index_images``, a
Celery index worker) increments the published index version ``<prefix>:index:version``; every key, in Redis
and in the local LRUs, carries the version it was computed under, so a change anywhere retires every cached
result at once (one Redis GET per search reads the version). Redis is a shortcut only: when it fails, this
process falls back to its own LRU, where changes made elsewhere show after at most the TTL.

A result read from the replica (``SEARCH_DATABASE_REPLICA_URL``) may predate a change the primary already
published, so it is kept at most ``SEARCH_DATABASE_REPLICA_MAX_LAG`` seconds: never longer than the replica may lag.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

from search_service.core.db_router import served_by_replica
from search_service.core.metrics import CACHE_REQUESTS
from servicekit.caching import FAILED, LRU, FailOpenRedis, PublishedVersion

if TYPE_CHECKING:
    from .selectors import Hit

logger = logging.getLogger(__name__)

results: LRU[tuple, list[Hit]] = LRU(lambda: settings.SEARCH_RESULT_CACHE_SIZE)


class SharedResults:
    """Search results and the published index version in Redis; every failure is a miss (None)."""

    def __init__(self, url: str, *, prefix: str, timeout: float) -> None:
        self.redis = FailOpenRedis(
            url, timeout=timeout, name="Redis result cache", fallback="local cache only", logger=logger
        )
        self.index_version = PublishedVersion(self.redis, f"{prefix}:index:version")
        self.result_prefix = f"{prefix}:result:v1:"

    def _key(self, version: str, key: tuple) -> str:
        return self.result_prefix + version + ":" + hashlib.sha256(repr(key).encode()).hexdigest()

    def get(self, version: str, key: tuple) -> list[Hit] | None:
        raw = self.redis.call("GET", self._key(version, key))
        if raw is None or raw is FAILED:
            return None
        from .selectors import Hit

        try:
            return [Hit(str(f), float(s), str(t)) for f, s, t in json.loads(raw)]
        except (ValueError, TypeError):
            return None

    def set(self, version: str, key: tuple, hits: list[Hit], ttl: float) -> None:
        data = json.dumps([[hit.filename, hit.score, hit.title] for hit in hits])
        self.redis.call("SET", self._key(version, key), data, ex=max(int(ttl), 1))


_shared: dict[tuple, SharedResults] = {}


def shared() -> SharedResults | None:
    """This process's Redis result cache for the current settings, or None without SEARCH_REDIS_URL."""
    url = settings.SEARCH_REDIS_URL
    if not url:
        return None
    config = (url, settings.SEARCH_REDIS_KEY_PREFIX, settings.SEARCH_REDIS_TIMEOUT)
    if config not in _shared:
        _shared[config] = SharedResults(url, prefix=config[1], timeout=config[2])
    return _shared[config]


def index_changed(**_signal_kwargs) -> None:
    """This process changed the index: forget its own results and publish a new index version."""
    results.clear()
    if (cache := shared()) is not None:
        cache.index_version.bump()


def cached(key: tuple, compute: Callable[[], list[Hit]]) -> list[Hit]:
    """``compute()``'s value, from the cache when the same key was computed less than the TTL ago (under the
    same published index version, when Redis is configured)."""
    ttl = settings.SEARCH_RESULT_CACHE_TTL
    if ttl <= 0:
        return compute()
    key = (
        *key,
        settings.SEARCH_TEXT_WEIGHT,
        settings.SEARCH_HNSW_EF_SEARCH,
        settings.SEARCH_EXACT_MAX_STICKERS,
        settings.SEARCH_BOOST_MAX,
        settings.SEARCH_LEXICAL_WEIGHT,
        settings.SEARCH_LEXICAL_MAX_MATCHES,
        settings.SEARCH_LEXICAL_NEAREST,
        settings.SEARCH_LEXICAL_TYPO_SIMILARITY,
    )
    cache = shared()
    version = cache.index_version.current() if cache is not None else None
    local_key = key if version is None else (version, *key)
    generation = results.generation
    value = results.get(local_key)
    if value is not None:
        CACHE_REQUESTS.labels("results", "hit").inc()
        return value
    if cache is not None and version is not None:
        value = cache.get(version, key)
    CACHE_REQUESTS.labels("results", "miss" if value is None else "hit").inc()
    if value is None:
        served_by_replica.set(False)
        value = compute()
        if served_by_replica.get():
            ttl = min(ttl, settings.SEARCH_DATABASE_REPLICA_MAX_LAG)
        if cache is not None and version is not None:
            cache.set(version, key, value, ttl)
    results.put(local_key, value, ttl=ttl, generation=generation)
    return value
