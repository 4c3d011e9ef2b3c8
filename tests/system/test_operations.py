"""Operations on the live stack (gunicorn, 2 sticker_service workers, search_service): Prometheus metrics of
both services after real traffic, aggregated over the workers (prometheus-client multiprocess mode), closed to
callers without the metrics token; the request id travelling from sticker_service to search_service."""

from __future__ import annotations

import pytest
import requests

from testkit.prometheus import metric_value as value
from tests.system.conftest import METRICS_TOKEN

pytestmark = pytest.mark.system


def scrape(url: str) -> str:
    response = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text[:300]
    return response.text


def test_metrics_of_both_services_after_traffic(up):
    sticker, search = up.sticker, up.search
    before_sticker, before_search = scrape(sticker.url), scrape(search.url)
    searches = 12  # spread over sticker_service's 2 workers x 4 threads: the scrape must count all of them
    for i in range(searches):
        response = requests.get(f"{sticker.url}/api/search/", params={"query": f"metric cat {i % 3}"}, timeout=10)
        assert response.status_code == 200, response.text
    filename = response.json()["stickers"][0]["filename"]
    vote = {"feedback": [{"query": "metric cat 0", "positive": [filename], "negative": []}]}
    assert requests.post(f"{sticker.url}/api/feedback/", json=vote, timeout=10).json()["recorded"] == 1
    after_sticker, after_search = scrape(sticker.url), scrape(search.url)

    def rose(before: str, after: str, name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    count = "http_request_duration_seconds_count"
    assert rose(before_sticker, after_sticker, count, endpoint="api/search/", status="200") == searches
    assert rose(before_sticker, after_sticker, "sticker_votes_recorded_total", vote="positive") == 1
    assert rose(before_search, after_search, count, endpoint="api/search/", status="200") == searches
    assert rose(before_search, after_search, "search_ranking_seconds_count") == searches
    # 3 distinct texts: encoded once each (LRU misses), the other 9 are LRU hits.
    assert rose(before_search, after_search, "search_cache_requests_total", cache="text_lru", result="miss") == 3
    assert rose(before_search, after_search, "search_cache_requests_total", cache="text_lru", result="hit") == 9
    assert rose(before_search, after_search, "search_text_encoding_seconds_count") == 3
    assert value(after_search, "search_stickers_indexed") == len(search.stickers)
    # Closed to the public on both.
    for url in (sticker.url, search.url):
        denied = requests.get(f"{url}/metrics", timeout=10)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"


def test_search_service_failures_are_counted_while_it_is_down(up):
    sticker, search = up.sticker, up.search
    before = scrape(sticker.url)
    search.kill()
    try:
        response = requests.get(f"{sticker.url}/api/search/", params={"query": "down cat"}, timeout=10)
        assert response.status_code == 503
        ready = requests.get(f"{sticker.url}/readyz", timeout=10)
        assert (ready.status_code, ready.json()["status"]) == (200, "degraded")
        inside = requests.get(
            f"{sticker.url}/readyz", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        ).json()
        assert inside["checks"]["search_service"]["url"] == search.url  # details for internal callers only
        after = scrape(sticker.url)
    finally:
        search.serve()
    name = "sticker_search_service_failures_total"
    assert (
        value(after, name, path="/api/search/", kind="unavailable")
        - value(before, name, path="/api/search/", kind="unavailable")
        == 1
    )


def test_request_id_is_answered_by_both_services(up):
    sticker, search = up.sticker, up.search
    response = requests.get(
        f"{sticker.url}/api/search/", params={"query": "cat"}, headers={"X-Request-ID": "trace-42"}, timeout=10
    )
    assert response.headers["X-Request-ID"] == "trace-42"
    direct = requests.get(
        f"{search.url}/api/search/",
        params={"query": "cat"},
        headers={**search.headers(), "X-Request-ID": "trace-43"},
        timeout=10,
    )
    assert direct.status_code == 200 and direct.headers["X-Request-ID"] == "trace-43"
