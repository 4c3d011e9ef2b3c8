"""The cache of search results (SEARCH_RESULT_CACHE_TTL): reused within the TTL, emptied by this process's index
writes, off by default; shared through the real Redis at 127.0.0.1:6379 (those tests skipped where none runs, failed
instead with CI=true) until the published index version moves, and kept per process when Redis does not answer."""

from __future__ import annotations

import os
import secrets

import pytest
import redis

from search_service.ranking import result_cache
from search_service.stickers.models import Sticker
from search_service.stickers.services import add_sticker, delete_sticker, update_metadata
from servicekit.caching import clear_all
from testkit.gunicorn import free_port
from testkit.images import png
from testkit.redis import redis_url_or_skip

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("SEARCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def stickers(encoder):
    for i in range(3):
        add_sticker(f"c{i}.png", png(i), title=f"sticker {i}")


def names(client, query="sticker", **params):
    response = client.get("/api/search/", {"query": query, **params})
    assert response.status_code == 200, response.content
    return [hit["filename"] for hit in response.json()["results"]]


def test_a_repeated_query_is_answered_without_the_database(client, settings, stickers, django_assert_num_queries):
    settings.SEARCH_RESULT_CACHE_TTL = 60
    first = names(client)
    with django_assert_num_queries(0):
        assert names(client) == first
    with django_assert_num_queries(1):  # another page is another search
        names(client, limit=1)
    assert result_cache.results.hits == 1


def test_off_by_default(client, settings, stickers, django_assert_num_queries):
    assert settings.SEARCH_RESULT_CACHE_TTL == 0
    names(client)
    with django_assert_num_queries(1):
        names(client)


def test_this_process_writes_empty_it(client, settings, stickers):
    settings.SEARCH_RESULT_CACHE_TTL = 60
    assert len(names(client)) == 3
    add_sticker("c3.png", png(3), title="sticker 3")
    assert "c3.png" in names(client)
    delete_sticker("c3.png")
    assert "c3.png" not in names(client)
    names(client)
    update_metadata([(Sticker.objects.get(filename="c0.png"), "retitled", [])])
    misses = result_cache.results.misses
    names(client)
    assert result_cache.results.misses == misses + 1
    Sticker.objects.filter(filename="c1.png").update(title="changed")  # a raw update: no signal ...
    cached = result_cache.results.hits
    names(client)
    assert result_cache.results.hits == cached + 1  # ... so the cached page is reused until the TTL


@pytest.fixture
def redis_prefix(settings):
    """Results shared through the real Redis under a prefix of this test's own (its keys are deleted after)."""
    url = redis_url_or_skip(REDIS_URL)
    settings.SEARCH_REDIS_URL = url
    settings.SEARCH_REDIS_KEY_PREFIX = prefix = f"test-results-{secrets.token_hex(6)}"
    settings.SEARCH_RESULT_CACHE_TTL = 60
    yield prefix
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_results_are_shared_through_redis_until_the_index_version_moves(
    client, stickers, redis_prefix, django_assert_num_queries
):
    first = names(client)
    clear_all()  # another worker: nothing in its own LRU
    with django_assert_num_queries(1):  # its query adapter lookup; the ranking comes from Redis
        assert names(client) == first
    assert result_cache.results.hits == 0
    version = redis.Redis.from_url(REDIS_URL).get(f"{redis_prefix}:index:version")
    add_sticker("c3.png", png(3), title="sticker 3")  # publishes a new index version
    assert redis.Redis.from_url(REDIS_URL).get(f"{redis_prefix}:index:version") != version
    clear_all()
    assert "c3.png" in names(client)


def test_a_redis_that_does_not_answer_leaves_the_local_cache(client, settings, stickers, caplog):
    settings.SEARCH_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.SEARCH_RESULT_CACHE_TTL = 60
    with caplog.at_level("WARNING", logger=result_cache.logger.name):
        first = names(client)
        assert names(client) == first
    assert result_cache.results.hits == 1
    warnings = [record.getMessage() for record in caplog.records if record.name == result_cache.logger.name]
    assert len(warnings) == 1 and warnings[0].startswith("Redis result cache GET failed")
    assert warnings[0].endswith("; local cache only for 5 s")
