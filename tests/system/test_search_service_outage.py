"""search_service killed or frozen: public search and similar answer 503 within 3 s, everything else of
sticker_service keeps working, and search recovers when search_service is back, without restarting
sticker_service. Both services are gunicorn processes (see conftest)."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
import requests

from tests.system.figures import add

pytestmark = pytest.mark.system

QUERY = "red heart"


def timed_get(url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.get(url, timeout=10, **kwargs)
    return response, time.monotonic() - started


def assert_unavailable_within_3_seconds(sticker) -> None:
    for path, params in (("/api/search/", {"query": QUERY}), ("/api/similar/", {"filename": "cat.png"})):
        response, seconds = timed_get(f"{sticker.url}{path}", params=params)
        assert response.status_code == 503, (path, response.status_code, response.text[:300])
        assert seconds < 3.0, (path, seconds)
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == "service_unavailable"


def assert_the_rest_works(sticker, shown: list[str]) -> None:
    """Feedback, analytics (JSON and CSV), counter, admin, health: none of them needs search_service."""
    url = sticker.url
    vote = {"feedback": [{"query": QUERY, "positive": [shown[0]], "negative": [shown[1]]}]}
    response = requests.post(f"{url}/api/feedback/", json=vote, timeout=10)
    assert response.status_code == 200 and response.json() == {"recorded": 2, "failed": []}, response.text
    analytics = requests.get(
        f"{url}/api/analytics/", params={"query": QUERY}, headers=sticker.admin_headers(), timeout=10
    )
    assert analytics.status_code == 200 and analytics.json()["positive"] >= 1, analytics.text
    csv = requests.get(f"{url}/api/analytics/", params={"format": "csv"}, headers=sticker.admin_headers(), timeout=10)
    assert csv.status_code == 200 and QUERY in csv.text
    counter = requests.get(f"{url}/api/counter/", params={"digit": 7, "n": 1000}, timeout=10)
    assert counter.status_code == 200 and counter.json()["answer"] == "300", counter.text
    admin = requests.Session()
    login = admin.get(f"{url}/admin/login/", timeout=10)
    assert login.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    done = admin.post(
        f"{url}/admin/login/?next=/admin/",
        timeout=10,
        data={"username": "admin", "password": sticker.env()["ADMIN_PASSWORD"], "csrfmiddlewaretoken": csrf},
    )
    assert done.status_code == 200 and done.url.endswith("/admin/"), (done.status_code, done.url)
    assert admin.get(f"{url}/admin/feedback/feedbackevent/", timeout=10).status_code == 200
    assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
    # Degraded, not down: a load balancer keeps the instance (feedback, analytics, counter work), and the public
    # probe names statuses only (no search_service URL, no error text).
    ready = requests.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "degraded", "checks": {"database": {"ok": True}, "search_service": {"ok": False}}}


def search_works(sticker) -> list[str]:
    response = requests.get(f"{sticker.url}/api/search/", params={"query": QUERY, "limit": 3}, timeout=10)
    assert response.status_code == 200, response.text
    return [item["filename"] for item in response.json()["stickers"]]


def test_search_service_killed_then_restarted(up):
    sticker, search = up.sticker, up.search
    shown = search_works(sticker)
    sticker_pid = sticker.pid
    search.kill()
    assert_unavailable_within_3_seconds(sticker)
    assert_the_rest_works(sticker, shown)
    search.serve()
    assert search_works(sticker) and sticker.pid == sticker_pid
    assert requests.get(f"{sticker.url}/readyz", timeout=10).status_code == 200
    add("faults survived")


def test_search_service_frozen_then_resumed(up):
    """SIGSTOP: the socket still accepts connections but nothing answers (the hang the seed never bounded)."""
    sticker, search = up.sticker, up.search
    shown = search_works(sticker)
    sticker_pid = sticker.pid
    os.killpg(search.process.pid, signal.SIGSTOP)
    try:
        assert_unavailable_within_3_seconds(sticker)
        assert_the_rest_works(sticker, shown)
    finally:
        os.killpg(search.process.pid, signal.SIGCONT)
    assert search_works(sticker) and sticker.pid == sticker_pid
    add("faults survived")
