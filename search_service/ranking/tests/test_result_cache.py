"""The per-process cache of search results (SEARCH_RESULT_CACHE_TTL): reused within the TTL, emptied by this
process's index writes, off by default."""

from __future__ import annotations

import pytest

from search_service.ranking import result_cache
from search_service.ranking.result_cache import ResultCache
from search_service.stickers.models import Sticker
from search_service.stickers.services import add_sticker, delete_sticker, update_metadata
from testkit.images import png

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    result_cache.results.clear()
    yield
    result_cache.results.clear()


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


def test_entries_expire_after_the_ttl_and_the_oldest_go_first():
    now = [0.0]
    cache = ResultCache(clock=lambda: now[0])
    cache.put("a", 1, ttl=10, size=2, generation=0)
    cache.put("b", 2, ttl=10, size=2, generation=0)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3, ttl=10, size=2, generation=0)
    assert cache.get("b") is None and cache.get("c") == 3
    now[0] = 10.0
    assert cache.get("a") is None and cache.get("c") is None


def test_a_value_computed_across_a_clear_is_not_stored():
    cache = ResultCache()
    generation = cache.generation
    cache.clear()  # the index changed while the value was being computed
    cache.put("a", 1, ttl=10, size=10, generation=generation)
    assert cache.get("a") is None
