"""One lock per key in the shared store (the default cache), so that a read-modify-write of a counter is atomic
across threads, workers and replicas.

The feedback vote budget (feedback/limits.py) reads a client's count of the minute, checks it and writes it back;
two workers serving the same client at the same instant could both read 990 of a budget of 1000 and both add 10.
Holding this lock around the check makes the budget exact. Redis: a redis-py lock (SET NX with an expiry, so a
killed worker cannot hold it for ever). Database cache: a PostgreSQL session advisory lock on the cache's
database (released explicitly, and by PostgreSQL when the connection ends). The request rate limits need no lock:
their store does the whole check in one atomic step (core/rate_store.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router

# A lock is held for one cache read and one write (milliseconds); these bound a stuck or slow Redis.
LOCK_EXPIRY_SECONDS = 5
LOCK_WAIT_SECONDS = 2


@contextmanager
def store_lock(key: str) -> Iterator[None]:
    """Hold the lock of ``key`` in the default cache's store (a no-op for a per-process cache).

    Raises when the store is down or Redis does not give the lock within LOCK_WAIT_SECONDS; callers fail open
    then, as they do when the store is down.
    """
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(key, write=True)
        with client.lock(
            cache.make_key(f"lock:{key}"), timeout=LOCK_EXPIRY_SECONDS, blocking_timeout=LOCK_WAIT_SECONDS
        ):
            yield
    elif isinstance(cache, DatabaseCache):
        connection = connections[router.db_for_write(cache.cache_model_class)]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [cache.make_key(key)])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [cache.make_key(key)])
    else:
        yield
