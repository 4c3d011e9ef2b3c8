"""The rate limits' request history in the shared store, read, pruned, checked and appended in one atomic step.

A client's history is the times of its requests inside the rate's window (DRF's sliding log). Doing the whole step
on the store's side makes the limit exact across threads, workers and replicas in one round trip, with no lock:

- Redis (the default cache is Django's RedisCache, REDIS_URL set): a Lua script over a sorted set of request
  times (Redis runs a script atomically), under the cache's key prefix, expiring with the window;
- the database (the default cache is the DatabaseCache, REDIS_URL empty): one ``INSERT ... ON CONFLICT DO
  UPDATE`` on :data:`TABLE`, an UNLOGGED table (no WAL: a commit does not wait for a disk flush; PostgreSQL empties
  it after a crash, which only forgives the requests of the current window). The conflicting row is locked and
  re-read, so concurrent requests of one client are counted one after the other. Rows of clients gone quiet are
  deleted now and then (:data:`PRUNE_EVERY`).

Any other cache backend (a per-process one): :func:`hit` answers None and the caller keeps DRF's own history.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router

TABLE = "sticker_rate_history"
PRUNE_EVERY = 1000  # one call in this many (per process, at random) deletes the expired rows

_REDIS_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(ARGV[2] * 1000))
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or ''
return {allowed, count, oldest}
"""
_scripts: dict[int, object] = {}  # per redis client: the registered script (EVALSHA, loaded on first use)

_UPSERT = f"""
    INSERT INTO {TABLE} AS r (key, hits, allowed, expires)
    VALUES (%(key)s, CASE WHEN %(limit)s > 0 THEN ARRAY[%(now)s]::float8[] ELSE '{{}}'::float8[] END,
            %(limit)s > 0, %(expires)s)
    ON CONFLICT (key) DO UPDATE SET
        allowed = (SELECT count(*) FROM unnest(r.hits) h WHERE h > %(start)s) < %(limit)s,
        hits = (SELECT CASE WHEN count(*) < %(limit)s THEN array_append(coalesce(array_agg(h), '{{}}'), %(now)s)
                            ELSE coalesce(array_agg(h), '{{}}') END
                FROM unnest(r.hits) h WHERE h > %(start)s),
        expires = %(expires)s
    RETURNING allowed, cardinality(hits), (SELECT min(h) FROM unnest(hits) h)
"""  # noqa: S608 - a constant table name; values travel as parameters


@dataclass(frozen=True)
class Window:
    """The outcome of one request: let through or not, and the client's history after it."""

    allowed: bool
    count: int  # requests in the window (this one included when allowed)
    oldest: float | None  # time of the oldest of them


def hit(key: str, *, limit: int, window: float, now: float) -> Window | None:
    """Count a request at ``now`` against ``limit`` requests per ``window`` seconds under ``key``, unless the
    limit is reached (the request is then not counted). None when the default cache is neither Redis nor the
    database. Raises when the store fails (callers fail open)."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_key = cache.make_key(f"rate:{key}")
        client = cache._cache.get_client(full_key, write=True)
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts[id(client)] = client.register_script(_REDIS_SCRIPT)
        member = f"{now!r}:{secrets.token_hex(4)}"
        allowed, count, oldest = script(keys=[full_key], args=[repr(now), repr(window), limit, member], client=client)  # type: ignore[operator]
        return Window(bool(allowed), int(count), float(oldest) if oldest else None)
    if isinstance(cache, DatabaseCache):
        connection = connections[router.db_for_write(cache.cache_model_class)]
        params: dict[str, str | float] = {
            "key": key,
            "limit": limit,
            "now": now,
            "start": now - window,
            "expires": now + window,
        }
        with connection.cursor() as cursor:
            if random.random() < 1 / PRUNE_EVERY:
                cursor.execute(f"DELETE FROM {TABLE} WHERE expires < %s", [now])  # noqa: S608
            cursor.execute(_UPSERT, params)
            allowed, count, oldest = cursor.fetchone()
        return Window(allowed, count, oldest)
    return None


def clear() -> None:
    """Forget every client's history (tests)."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        for name in client.scan_iter(cache.make_key("rate:*")):
            client.delete(name)
    elif isinstance(cache, DatabaseCache):
        with connections[router.db_for_write(cache.cache_model_class)].cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608
