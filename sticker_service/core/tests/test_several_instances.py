"""Several search_service URLs (SEARCH_SERVICE_URL comma-separated): calls take turns, a refused connection or a
5xx moves the call to the next instance within the same deadline, and a failed instance is tried last for a
while. Two fake search_services (real HTTP); the live test with two real instances is tests/system/test_scale_out.py.
"""

from __future__ import annotations

import time

import pytest

from sticker_service.core import search_client
from testkit.fake_search_service import FakeSearchService
from testkit.gunicorn import free_port


@pytest.fixture
def pair(settings):
    first, second = FakeSearchService(), FakeSearchService()
    settings.SEARCH_SERVICE_URL = f"{first.url}, {second.url}/"
    settings.SEARCH_SERVICE_TOKEN = "fake-search-token"
    search_client.instances._down_until.clear()
    yield first, second
    search_client.instances._down_until.clear()
    first.close()
    second.close()


def searches(service: FakeSearchService) -> int:
    return sum(1 for seen in service.requests if seen.path == "/api/search/")


def test_calls_take_turns(pair):
    first, second = pair
    for _ in range(6):
        search_client.search("cat", limit=3, offset=0)
    assert (searches(first), searches(second)) == (3, 3)


def test_a_refused_instance_is_failed_over_and_then_tried_last(pair, settings):
    first, _second = pair
    refused = f"http://127.0.0.1:{free_port()}"
    settings.SEARCH_SERVICE_URL = f"{refused},{first.url}"
    started = time.monotonic()
    for _ in range(4):
        assert len(search_client.search("cat", limit=3, offset=0).hits) == 3
    assert time.monotonic() - started < 3.0
    assert searches(first) == 4
    assert search_client.instances.order()[-1] == refused  # set aside for SEARCH_SERVICE_DOWN_SECONDS


def test_a_5xx_moves_the_call_to_the_next_instance(pair):
    first, second = pair
    first.behaviour, first.status, first.body = "error", 503, {"error": {"code": "model_unavailable"}}
    for _ in range(3):
        assert len(search_client.search("cat", limit=3, offset=0).hits) == 3
    assert searches(second) == 3


def test_all_instances_down_is_unavailable_within_the_deadline(settings):
    settings.SEARCH_SERVICE_URL = f"http://127.0.0.1:{free_port()},http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(search_client.SearchServiceUnavailable):
        search_client.search("cat", limit=3, offset=0)
    assert time.monotonic() - started < 3.0


def test_a_4xx_is_not_retried_elsewhere(pair):
    first, second = pair
    first.behaviour, first.status, first.body = "error", 404, {"error": {"code": "unknown_sticker", "message": "x"}}
    second.behaviour, second.status, second.body = "error", 404, {"error": {"code": "unknown_sticker", "message": "x"}}
    with pytest.raises(search_client.SearchServiceError):
        search_client.similar("nope.png", limit=3)
    assert len(first.requests) + len(second.requests) == 1
