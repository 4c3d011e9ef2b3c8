"""The cache toolkit: the bounded LRU (order, time to live, clears racing a computation, one reset for every cache),
the fail-open Redis client (against a port where nothing listens) and the published version (against the real Redis
at 127.0.0.1:6379: skipped where none runs, failed instead with CI=true)."""

from __future__ import annotations

import logging
import os
import secrets

from servicekit.caching import FAILED, LRU, FailOpenRedis, PublishedVersion, clear_all
from testkit.gunicorn import free_port
from testkit.redis import redis_url_or_skip

REDIS_URL = os.environ.get("SEARCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
logger = logging.getLogger("servicekit.tests.caching")


def test_the_least_recently_used_entry_goes_first():
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert (cache.hits, cache.misses) == (3, 1)
    assert "a" in cache and "b" not in cache


def test_entries_expire_after_their_time_to_live():
    now = [0.0]
    cache: LRU[str, int] = LRU(10, ttl=10, timer=lambda: now[0])
    cache.put("a", 1)
    cache.put("short", 2, ttl=5)
    now[0] = 4.9
    assert cache.get("short") == 2
    now[0] = 5.0
    assert cache.get("short") is None and cache.get("a") == 1
    now[0] = 10.0
    assert cache.get("a") is None and "a" not in cache


def test_a_value_computed_across_a_clear_is_not_stored():
    cache: LRU[str, int] = LRU(10)
    generation = cache.generation
    cache.clear()  # what the value describes changed while it was being computed
    cache.put("a", 1, generation=generation)
    assert cache.get("a") is None

    def compute_while_cleared() -> int:
        cache.clear()
        return 2

    assert cache.get_or_compute("b", compute_while_cleared) == (2, False)
    assert cache.get("b") is None


def test_get_or_compute_says_whether_it_was_a_hit():
    calls: list[str] = []
    cache: LRU[str, str] = LRU(10)

    def compute() -> str:
        calls.append("x")
        return "value"

    assert cache.get_or_compute("k", compute) == ("value", False)
    assert cache.get_or_compute("k", compute) == ("value", True)
    assert calls == ["x"]


def test_the_size_can_follow_a_setting_and_zero_keeps_nothing():
    size = [2]
    cache: LRU[str, int] = LRU(lambda: size[0])
    for key in "abc":
        cache.put(key, 1)
    assert [key in cache for key in "abc"] == [False, True, True]
    size[0] = 0
    cache.put("d", 1)
    assert "d" not in cache
    assert cache.get_or_compute("e", lambda: 5) == (5, False)
    assert cache.get_or_compute("e", lambda: 6) == (6, False)


def test_clear_all_empties_every_cache_and_its_counts():
    first: LRU[str, int] = LRU(10)
    second: LRU[str, int] = LRU(10, ttl=60)
    first.put("a", 1)
    second.put("b", 2)
    assert first.get("a") == 1
    clear_all()
    assert "a" not in first and "b" not in second
    assert (first.hits, first.misses) == (0, 0)


def test_a_redis_that_does_not_answer_fails_open_logs_once_and_is_left_alone(caplog):
    redis = FailOpenRedis(
        f"redis://127.0.0.1:{free_port()}/0",
        timeout=0.5,
        retry_after=60,
        name="Test cache",
        fallback="computing without it",
        logger=logger,
    )
    with caplog.at_level(logging.WARNING, logger=logger.name):
        assert redis.call("GET", "k") is FAILED
        assert not redis.available
        assert redis.call("SET", "k", b"v", ex=1) is FAILED  # not tried: Redis is left alone for retry_after
    assert redis.errors == 1
    [record] = [r for r in caplog.records if r.name == logger.name]
    assert record.getMessage().startswith("Test cache GET failed (ConnectionError: ")
    assert record.getMessage().endswith("; computing without it for 60 s")
    assert PublishedVersion(redis, "v").current() is None  # unavailable, not "0"
    redis.close()


def test_a_published_version_starts_at_zero_and_moves_for_everyone():
    url = redis_url_or_skip(REDIS_URL)
    key = f"test:caching:{secrets.token_hex(6)}:version"
    one = FailOpenRedis(url, timeout=0.5, name="one", fallback="-", logger=logger)
    two = FailOpenRedis(url, timeout=0.5, name="two", fallback="-", logger=logger)
    try:
        assert PublishedVersion(one, key).current() == "0"
        PublishedVersion(two, key).bump()
        assert PublishedVersion(one, key).current() == "1"
        assert one.call("GET", "test:caching:no such key") is None  # a miss, not a failure
        assert one.errors == 0
    finally:
        one.client.delete(key)
        one.close()
        two.close()
