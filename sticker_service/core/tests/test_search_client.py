"""sticker_service's client of search_service (core/search_client.py) on real HTTP against the fake: its connections
are kept alive and reused, a failed or oversized answer does not spoil the next call, and a POST's JSON body and the
service token arrive. The failure paths as the public API shows them are in search_proxy/tests/test_search_api.py."""

from __future__ import annotations

import pytest

from sticker_service.core import search_client
from sticker_service.core.search_client import SearchServiceUnavailable


def search_ports(fake) -> list[int]:
    return [seen.client_port for seen in fake.requests if seen.path == "/api/search/"]


def test_calls_one_after_another_reuse_one_connection(fake_search_service):
    for _ in range(5):
        assert len(search_client.search("cat", limit=3, offset=0).hits) == 3
    assert len(set(search_ports(fake_search_service))) == 1


def test_a_post_sends_its_json_body_and_the_token(fake_search_service):
    ranking = search_client.search("cat & dog", limit=2, offset=1, boosts={"sticker-004.png": 0.5})
    assert [hit.filename for hit in ranking.hits] == ["sticker-001.png", "sticker-002.png"]
    seen = fake_search_service.requests[-1]
    assert seen.body == {
        "query": "cat & dog",
        "limit": 2,
        "offset": 1,
        "boosts": [{"filename": "sticker-004.png", "boost": 0.5}],
    }
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Authorization"] == "Bearer fake-search-token"


def test_an_answer_over_the_size_limit_is_unavailable_and_the_next_call_works(fake_search_service, monkeypatch):
    monkeypatch.setattr(search_client, "MAX_RESPONSE_BYTES", 1000)
    fake_search_service.stickers = [{**s, "title": "x" * 200} for s in fake_search_service.stickers]
    with pytest.raises(SearchServiceUnavailable, match="answer too large"):
        search_client.search("cat", limit=10, offset=0)
    assert len(search_client.search("cat", limit=2, offset=0).hits) == 2


def test_a_half_read_answer_drops_its_connection(fake_search_service, settings):
    settings.SEARCH_SERVICE_TOTAL_TIMEOUT = 0.5
    fake_search_service.behaviour, fake_search_service.delay = "drip", 0.05
    with pytest.raises(SearchServiceUnavailable, match=r"reading the answer failed|timed out reading"):
        search_client.search("cat", limit=3, offset=0)
    fake_search_service.behaviour = "ok"
    assert len(search_client.search("cat", limit=3, offset=0).hits) == 3
    first, second = search_ports(fake_search_service)
    assert first != second  # the next call did not read the rest of the dripping answer from the same connection
