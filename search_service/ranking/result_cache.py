"""Recent search results of this process, for queries that repeat (popular searches): no text encoding and no
HNSW scans for a query asked again within ``SEARCH_RESULT_CACHE_TTL`` seconds (0 = off, the default).

Keyed by everything the ranking depends on (model, query, limit, offset, boosts, weight, ef_search, the
exact-scan size and the boost cap).
Emptied when this process changes the index (``stickers.signals.index_changed``, and Sticker saves and
deletes); changes made by other processes (another worker, ``index_images``) show after at most the TTL,
which is the price: a sticker added or deleted elsewhere may be missing from, or linger in, a repeated
query's results for that long.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings


class ResultCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._clock = clock
        self.generation = 0  # bumped by clear(): a value computed before a clear is not stored after it
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] <= self._clock():
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[1]

    def put(self, key: Hashable, value: Any, *, ttl: float, size: int, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return  # the index changed while the value was computed
            self._items[key] = (self._clock() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > size:
                self._items.popitem(last=False)

    def clear(self, **_signal_kwargs) -> None:
        with self._lock:
            self._items.clear()
            self.generation += 1


results = ResultCache()


def cached(key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()``'s value, from the cache when the same key was computed less than the TTL ago."""
    ttl = settings.SEARCH_RESULT_CACHE_TTL
    if ttl <= 0:
        return compute()
    key = (
        *key,
        settings.SEARCH_TEXT_WEIGHT,
        settings.SEARCH_HNSW_EF_SEARCH,
        settings.SEARCH_EXACT_MAX_STICKERS,
        settings.SEARCH_BOOST_MAX,
    )
    generation = results.generation
    value = results.get(key)
    if value is None:
        value = compute()
        results.put(key, value, ttl=ttl, size=settings.SEARCH_RESULT_CACHE_SIZE, generation=generation)
    return value
