"""The rate limits' store: one atomic step per request, exact under concurrency, in the database and in Redis."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import override_settings

from sticker_service.core import rate_store
from testkit.redis import redis_url_or_skip

pytestmark = pytest.mark.django_db(transaction=True)  # the threads commit on their own connections


@pytest.fixture(params=["database", "redis"])
def store(request):
    """The default cache as each store: the database cache (the settings' default) or Redis (a fresh prefix)."""
    if request.param == "database":
        yield "database"
        rate_store.clear()
        return
    url = redis_url_or_skip("redis://127.0.0.1:6379/14")
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-{secrets.token_hex(6)}",
        }
    }
    with override_settings(CACHES=redis_cache):
        yield "redis"
        rate_store.clear()


def test_the_window_slides_and_a_refused_request_is_not_counted(store):
    def hit(now: float) -> rate_store.Window:
        window = rate_store.hit("client-a", limit=2, window=60, now=now)
        assert window is not None
        return window

    assert hit(1000.0) == rate_store.Window(True, 1, 1000.0)
    assert hit(1010.0) == rate_store.Window(True, 2, 1000.0)
    assert hit(1020.0) == rate_store.Window(False, 2, 1000.0)  # not counted: still two in the window
    assert rate_store.hit("client-b", limit=2, window=60, now=1020.0).allowed  # another client, its own history
    assert hit(1060.5) == rate_store.Window(True, 2, 1010.0)  # the request at 1000 left the window
    rate_store.clear()
    assert hit(1061.0).count == 1


def test_concurrent_requests_of_one_client_pass_exactly_up_to_the_limit(store):
    def one(n: int) -> bool:
        try:
            window = rate_store.hit("busy-client", limit=7, window=60, now=2000.0 + n / 1000)
            assert window is not None
            return window.allowed
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        allowed = list(pool.map(one, range(40)))
    assert allowed.count(True) == 7


def test_a_per_process_cache_leaves_the_history_to_drf():
    local = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=local):
        assert rate_store.hit("client", limit=1, window=60, now=1.0) is None
