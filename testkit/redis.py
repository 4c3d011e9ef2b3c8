"""The machine's Redis for tests: skip where none runs, except with ``CI=true``, where the test fails instead
(like the browser test: on CI it must run)."""

from __future__ import annotations

import os

import pytest


def redis_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def redis_url_or_skip(url: str) -> str:
    """``url`` when a Redis answers there; else skip the test (fail it with CI=true)."""
    if not redis_up(url):
        reason = f"no Redis at {url}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: the Redis tests must run, but {reason}", pytrace=False)
        pytest.skip(reason)
    return url
