"""The Redis cache of query embeddings, against the real Redis at 127.0.0.1:6379 (skipped where none runs; with
CI=true they fail instead)."""

from __future__ import annotations

import os
import secrets
import socket

import numpy as np
import pytest
import redis
from django.conf import settings as django_settings
from django.test import override_settings

from search_service.encoders import loader, text_cache
from testkit.redis import redis_url_or_skip

REDIS_URL = os.environ.get("SEARCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SESSION_REDIS_URL = django_settings.SEARCH_REDIS_URL  # before any test changes it


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


class CountingEncoder:
    """The real test encoder, counting the texts it is asked to encode."""

    def __init__(self, inner) -> None:
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.texts: list[str] = []

    def encode_texts(self, texts):
        self.texts.extend(texts)
        return self.inner.encode_texts(texts)

    def encode_images(self, images):
        return self.inner.encode_images(images)


@pytest.fixture
def redis_settings(settings):
    """Settings pointing at the real Redis."""
    redis_url_or_skip(REDIS_URL)  # fails with CI=true instead of skipping
    settings.SEARCH_REDIS_URL = REDIS_URL
    settings.SEARCH_REDIS_TIMEOUT = 0.5
    return settings


def _delete_keys(model_ids: set[str]) -> None:
    if not _redis_up():
        return
    client = redis.Redis.from_url(REDIS_URL)
    for model_id in model_ids:
        prefix = text_cache.RedisTextCache(REDIS_URL, model_id=model_id, dim=1, ttl=1, timeout=0.5).prefix
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
    client.close()


@pytest.fixture
def isolated_encoder(encoder):
    """A counting encoder with a unique model id (no other run's keys match; its keys are deleted after),
    installed as the process's; the session's encoder is put back afterwards."""
    previous = loader.get_encoder()
    counting = CountingEncoder(encoder)
    counting.model_id = first_id = f"test-{secrets.token_hex(6)}"
    yield counting
    with override_settings(SEARCH_REDIS_URL=SESSION_REDIS_URL):  # the test's settings are not undone yet
        loader.set_encoder(previous)
    _delete_keys({first_id, counting.model_id})


def _new_worker(counting: CountingEncoder) -> None:
    """What a second gunicorn worker starts with: the same model and Redis, an empty LRU."""
    loader.set_encoder(counting)


def test_a_text_encoded_by_one_worker_is_a_redis_hit_for_the_next(redis_settings, isolated_encoder, encoder):
    _new_worker(isolated_encoder)
    first = loader.embed_query("cat in a park")
    assert isolated_encoder.texts == ["cat in a park"]
    cache = loader.shared_text_cache()
    stored = redis.Redis.from_url(REDIS_URL).get(cache.key("cat in a park"))
    assert stored == first.astype("<f4").tobytes()

    _new_worker(isolated_encoder)  # empty LRU: the vector must come from Redis, not from the model
    second = loader.embed_query("cat in a park")
    assert isolated_encoder.texts == ["cat in a park"]
    assert loader.shared_text_cache().hits == 1
    np.testing.assert_array_equal(second, first)
    assert not second.flags.writeable
    np.testing.assert_allclose(second, encoder.encode_texts(["cat in a park"])[0], atol=1e-6)


def test_models_do_not_share_keys(redis_settings, isolated_encoder):
    _new_worker(isolated_encoder)
    loader.embed_query("red heart")
    isolated_encoder.model_id = f"other-{secrets.token_hex(6)}"
    _new_worker(isolated_encoder)
    loader.embed_query("red heart")
    assert isolated_encoder.texts == ["red heart", "red heart"]


def test_a_value_of_the_wrong_size_is_a_miss_and_is_replaced(redis_settings, isolated_encoder, encoder):
    _new_worker(isolated_encoder)
    cache = loader.shared_text_cache()
    client = redis.Redis.from_url(REDIS_URL)
    client.set(cache.key("pizza"), b"\x00" * 12, ex=redis_settings.SEARCH_REDIS_TTL)
    vector = loader.embed_query("pizza")
    assert isolated_encoder.texts == ["pizza"]
    np.testing.assert_allclose(vector, encoder.encode_texts(["pizza"])[0], atol=1e-6)
    assert len(client.get(cache.key("pizza"))) == 4 * encoder.dim


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def test_redis_down_falls_back_to_encoding(settings, isolated_encoder, encoder, caplog):
    settings.SEARCH_REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    _new_worker(isolated_encoder)
    with caplog.at_level("WARNING", logger="search_service.encoders.text_cache"):
        vectors = [loader.embed_query(text) for text in ("rocket", "sun", "rocket")]
    assert isolated_encoder.texts == ["rocket", "sun"]  # the third comes from the LRU
    np.testing.assert_allclose(vectors[0], encoder.encode_texts(["rocket"])[0], atol=1e-6)
    cache = loader.shared_text_cache()
    assert cache.errors == 1  # after the first failure Redis is left alone for a while (no timeout per query)
    assert sum("Redis text cache" in record.message for record in caplog.records) == 1


def test_no_url_no_redis(settings, isolated_encoder):
    settings.SEARCH_REDIS_URL = ""
    _new_worker(isolated_encoder)
    assert loader.shared_text_cache() is None
    loader.embed_query("car")
    assert isolated_encoder.texts == ["car"]


def test_the_redis_tests_fail_instead_of_skipping_on_ci(monkeypatch):
    from testkit.gunicorn import free_port

    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        redis_url_or_skip(nowhere)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: the Redis tests must run"):
        redis_url_or_skip(nowhere)
