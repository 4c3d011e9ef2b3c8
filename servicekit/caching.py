"""The caches of both services, one small toolkit (cachetools underneath).

- :class:`LRU`: a bounded map of this process, safe across threads, each entry kept for a time to live or until
  it is evicted; it counts hits and misses, and a value computed while the map was cleared is not stored.
- :class:`FailOpenRedis`: Redis for a cache that works without it: a command that fails (down, slower than the
  timeout) returns :data:`FAILED` instead of raising, logs one warning, and Redis is left alone for
  ``retry_after`` seconds (an outage costs one timeout, not one per request).
- :class:`PublishedVersion`: a version in Redis that every process reads and any process increments; cached
  values whose keys carry it are retired everywhere at once when it moves.
- :func:`clear_all`: empties every LRU of this process (tests start each test from nothing).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Final, Generic, NamedTuple, TypeVar

import cachetools

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_every_lru: weakref.WeakSet[LRU[Any, Any]] = weakref.WeakSet()


class _Entry(NamedTuple):
    value: Any
    ttl: float


def _expiry(_key: Any, entry: _Entry, now: float) -> float:
    return now + entry.ttl


class LRU(Generic[K, V]):
    """A bounded least-recently-used map shared by this process's threads.

    ``maxsize``: entries kept; a callable is read again at each write (a setting: a new size starts empty), and 0
    keeps nothing.
    ``ttl``: seconds an entry is kept (None: until it is evicted); :meth:`put` may give an entry its own.
    A value of None cannot be told from a miss: store something else.
    """

    def __init__(
        self, maxsize: int | Callable[[], int], *, ttl: float | None = None, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._maxsize = maxsize
        self._ttl = math.inf if ttl is None else ttl
        self._timer = timer
        self._lock = threading.Lock()
        self._items: cachetools.TLRUCache[K, _Entry] | None = None  # made at the first write (settings are read then)
        self.generation = 0  # bumped by clear(): a value computed before a clear is not stored after it
        self.hits = self.misses = 0
        _every_lru.add(self)

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._items.get(key) if self._items is not None else None
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            return entry.value

    def __contains__(self, key: K) -> bool:
        """Whether ``key`` is cached, without counting a hit or making it recent."""
        with self._lock:
            return self._items is not None and key in self._items

    def put(self, key: K, value: V, *, ttl: float | None = None, generation: int | None = None) -> None:
        """Store ``value`` (for ``ttl`` seconds instead of the map's), unless the map was cleared since
        ``generation`` was read: then it may describe what the clear retired."""
        size = self._maxsize() if callable(self._maxsize) else self._maxsize
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            if size <= 0:
                self._items = None
                return
            if self._items is None or self._items.maxsize != size:
                self._items = cachetools.TLRUCache(size, ttu=_expiry, timer=self._timer)
            self._items[key] = _Entry(value, self._ttl if ttl is None else ttl)

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> tuple[V, bool]:
        """``(value, True)`` from the map, else ``(compute(), False)``, stored. ``compute`` runs outside the lock:
        two threads missing the same key at once both compute it."""
        generation = self.generation
        value = self.get(key)
        if value is not None:
            return value, True
        value = compute()
        self.put(key, value, generation=generation)
        return value, False

    def clear(self) -> None:
        """Forget every entry and the counts."""
        with self._lock:
            if self._items is not None:
                self._items.clear()
            self.generation += 1
            self.hits = self.misses = 0


def clear_all() -> None:
    """Empty every :class:`LRU` of this process (tests)."""
    for lru in list(_every_lru):
        lru.clear()


FAILED: Final = object()  # what FailOpenRedis.call returns when Redis did not answer


class FailOpenRedis:
    """A Redis client for a cache: every failure is a miss.

    :meth:`call` returns the command's reply, or :data:`FAILED` when the command failed (Redis down, slower than
    ``timeout`` seconds) or Redis is being left alone. After a failure it logs one warning to ``logger``
    (``"<name> GET failed (<error>); <fallback> for 5 s"``) and leaves Redis alone for ``retry_after`` seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        name: str,
        fallback: str,
        logger: logging.Logger,
        retry_after: float = 5.0,
    ) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._errors = (redis.RedisError, OSError)
        self.name, self.fallback, self.logger = name, fallback, logger
        self.retry_after = retry_after
        self.errors = 0
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def call(self, command: str, *args: Any, **kwargs: Any) -> Any:
        if not self.available:
            return FAILED
        try:
            return getattr(self.client, command.lower())(*args, **kwargs)
        except self._errors as exc:
            self._failed(command, exc)
            return FAILED

    def _failed(self, command: str, exc: Exception) -> None:
        with self._lock:
            self.errors += 1
            was_up = self.available
            self._down_until = time.monotonic() + self.retry_after
        if was_up:
            self.logger.warning(
                "%s %s failed (%s: %s); %s for %.0f s",
                self.name,
                command,
                type(exc).__name__,
                exc,
                self.fallback,
                self.retry_after,
            )

    def close(self) -> None:
        self.client.close()


class PublishedVersion:
    """A version that every process reads from Redis (``key``) and any process increments to retire, at once and
    everywhere, the cached values whose keys carry the version they were computed under."""

    def __init__(self, redis: FailOpenRedis, key: str) -> None:
        self.redis, self.key = redis, key

    def current(self) -> str | None:
        """The published version ("0" before the first :meth:`bump`), or None when Redis is unavailable."""
        value = self.redis.call("GET", self.key)
        if value is FAILED:
            return None
        if value is None:
            return "0"
        return value.decode() if isinstance(value, bytes) else str(value)

    def bump(self) -> None:
        self.redis.call("INCR", self.key)
