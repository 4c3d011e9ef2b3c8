"""Operations: Prometheus metrics at /metrics (closed to the public) and request ids (X-Request-ID in, out, to
search_service and on every log line). Metrics of the live gunicorn services: tests/system/test_operations.py."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.test import override_settings

from servicekit import metrics
from servicekit.request_id import JsonFormatter, RequestIdFilter
from sticker_service.searches.services import record_query_use
from testkit.prometheus import metric_value as sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def scrape(client):
    def get() -> str:
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain")
        return response.content.decode()

    with override_settings(METRICS_TOKEN="scrape-token", METRICS_ALLOWED_NETWORKS=[]):
        yield get


@override_settings(METRICS_TOKEN="scrape-token", METRICS_ALLOWED_NETWORKS=["10.0.0.0/8", "::1/128"])
def test_metrics_are_closed_to_the_public(client):
    metrics._networks.cache_clear()
    try:
        for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_X_FORWARDED_FOR": "10.1.2.3"}):
            response = client.get("/metrics", REMOTE_ADDR="203.0.113.5", **headers)
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "permission_denied"
        assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
        assert (
            client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer scrape-token").status_code
            == 200
        )
    finally:
        metrics._networks.cache_clear()


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[])
def test_no_token_and_no_networks_means_closed_to_everyone(client):
    metrics._networks.cache_clear()
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_requests_votes_and_search_service_failures_are_counted(client, fake_search_service, scrape):
    before = scrape()
    assert client.get("/api/search/", {"query": "cat"}).status_code == 200
    assert client.get("/api/search/", {"query": ""}).status_code == 400
    record_query_use("cat")
    body = {"feedback": [{"query": "cat", "positive": ["sticker-000.png", "sticker-001.png"], "negative": []}]}
    assert client.post("/api/feedback/", json.dumps(body), content_type="application/json").json()["recorded"] == 2
    fake_search_service.behaviour = "error"
    fake_search_service.status = 500
    assert client.get("/api/search/", {"query": "cat"}).status_code == 503
    after = scrape()

    def rose(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    latency = "http_request_duration_seconds_count"
    assert rose(latency, method="GET", endpoint="api/search/", status="200") == 1
    assert rose(latency, method="GET", endpoint="api/search/", status="400") == 1
    assert rose(latency, method="GET", endpoint="api/search/", status="503") == 1
    assert rose(latency, method="POST", endpoint="api/feedback/", status="200") == 1
    assert (
        sample(
            after, "http_request_duration_seconds_bucket", method="GET", endpoint="api/search/", status="200", le="+Inf"
        )
        >= 1
    )
    assert rose("sticker_votes_recorded_total", vote="positive") == 2
    assert rose("sticker_search_service_failures_total", path="/api/search/", kind="unavailable") == 1
    client.get("/no/such/page")
    assert sample(scrape(), latency, method="GET", endpoint="unmatched", status="404") >= 1


def test_request_id_is_made_or_kept_and_passed_to_search_service(client, fake_search_service):
    response = client.get("/api/search/", {"query": "cat"})
    made = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert fake_search_service.requests[-1].headers["X-Request-ID"] == made
    response = client.get("/api/search/", {"query": "cat"}, HTTP_X_REQUEST_ID="lb-7f3a.42")
    assert response["X-Request-ID"] == "lb-7f3a.42"
    assert fake_search_service.requests[-1].headers["X-Request-ID"] == "lb-7f3a.42"
    # A header that is not a sane token is replaced, never echoed.
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nX: y" + "z" * 200)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_log_lines_carry_the_request_id_and_json_format(client, fake_search_service, monkeypatch):
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("sticker_service.search_proxy")
    logger.addHandler(handler)
    try:
        from sticker_service.search_proxy import views

        original = views.services.search_stickers

        def logged(**kwargs):
            logging.getLogger("sticker_service.search_proxy.views").warning("searching %s", kwargs["query"])
            return original(**kwargs)

        monkeypatch.setattr(views.services, "search_stickers", logged)
        response = client.get("/api/search/", {"query": "cat"}, HTTP_X_REQUEST_ID="req-123")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 200
    (record,) = [r for r in records if r.getMessage() == "searching cat"]
    assert record.request_id == "req-123"
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-123" and line["message"] == "searching cat" and line["level"] == "WARNING"
