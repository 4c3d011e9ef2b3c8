"""search_service's operations: /metrics (closed to the public) after real searches, readiness 503 until the model
loads (without leaking the error publicly), and the request id on its answers."""

from __future__ import annotations

import re

import pytest

from search_service.encoders import loader
from search_service.stickers.services import add_sticker
from testkit.images import png
from testkit.prometheus import metric_value as value

pytestmark = pytest.mark.django_db


def test_metrics_after_searches(client, encoder, settings):
    settings.METRICS_TOKEN = "scrape-token"
    settings.SEARCH_RESULT_CACHE_TTL = 60.0
    for i in range(3):
        add_sticker(f"m{i}.png", png(i), title=f"sticker {i}", tags=[])
    assert client.get("/metrics").status_code == 403
    auth = {"HTTP_AUTHORIZATION": "Bearer scrape-token"}
    before = client.get("/metrics", **auth).content.decode()
    for query in ("metric dog", "metric dog", "metric owl"):
        assert client.get("/api/search/", {"query": query}).status_code == 200
    after = client.get("/metrics", **auth).content.decode()

    def rose(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert rose("http_request_duration_seconds_count", method="GET", endpoint="api/search/", status="200") == 3
    assert rose("search_cache_requests_total", cache="results", result="miss") == 2
    assert rose("search_cache_requests_total", cache="results", result="hit") == 1
    assert rose("search_ranking_seconds_count") == 2
    assert rose("search_cache_requests_total", cache="text_lru", result="miss") == 2
    assert rose("search_text_encoding_seconds_count") == 2
    assert value(after, "search_stickers_indexed", model=encoder.model_id) == 3


def test_readyz_is_503_until_the_model_loads_and_hides_why(client, settings, monkeypatch):
    def unavailable():
        raise loader.ModelUnavailable("checkpoint /secret/path/model.pt is missing")

    monkeypatch.setattr(loader, "get_encoder", unavailable)
    settings.METRICS_TOKEN = "ops-token"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": {"ok": True}, "model": {"ok": False}}}
    assert "/secret/path" not in response.content.decode()
    inside = client.get("/readyz", HTTP_AUTHORIZATION="Bearer ops-token").json()
    assert "/secret/path" in inside["checks"]["model"]["error"]


def test_request_id_is_kept_or_made(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="from-sticker-1").headers["X-Request-ID"] == "from-sticker-1"
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz").headers["X-Request-ID"])


def test_there_is_no_admin_on_the_internal_service(client, settings):
    """Issue 23 item 8: /admin/ answered its login form outside the service token, with no lockout (8 failed
    logins, 8 x 200). search_service has nothing to administer by hand: no admin at all."""
    assert "django.contrib.admin" not in settings.INSTALLED_APPS
    for path in ("/admin/", "/admin/login/"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    for _ in range(8):
        response = client.post("/admin/login/", {"username": "admin", "password": "wrong"})
        assert response.status_code == 404
