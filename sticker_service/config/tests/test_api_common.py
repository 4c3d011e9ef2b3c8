"""Things every public endpoint shares: throttling, the schema, the admin pages."""

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import override_settings

from sticker_service.catalog.models import Sticker
from sticker_service.core import rate_store
from sticker_service.feedback.services import FeedbackEntry, record_feedback
from sticker_service.searches.services import record_query_use
from testkit.gunicorn import free_port

pytestmark = pytest.mark.django_db


def test_public_endpoints_are_throttled_per_client_with_retry_after(client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "counter": "3/minute"}
    for _ in range(3):
        assert client.get("/api/counter/", {"n": 10}).status_code == 200
    refused = client.get("/api/counter/", {"n": 10})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another client (address) has its own budget; a spoofed X-Forwarded-For is not trusted.
    assert client.get("/api/counter/", {"n": 10}, REMOTE_ADDR="10.0.0.2").status_code == 200
    assert client.get("/api/counter/", {"n": 10}, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
    rate_store.clear()
    assert client.get("/api/counter/", {"n": 10}).status_code == 200


def test_throttled_search_does_not_reach_search_service(client, settings, fake_search_service):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "search": "1/hour"}
    assert client.get("/api/search/", {"query": "cat"}).status_code == 200
    assert client.get("/api/search/", {"query": "cat"}).status_code == 429
    assert len(fake_search_service.requests) == 1


def test_a_broken_throttle_cache_lets_requests_through(client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "counter": "1/minute"}
    broken = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with override_settings(CACHES=broken):
        assert client.get("/api/counter/", {"n": 10}).status_code == 200
        assert client.get("/api/counter/", {"n": 10}).status_code == 200


def test_openapi_schema_documents_every_endpoint(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    for path in (
        "/api/search/",
        "/api/similar/",
        "/api/feedback/",
        "/api/analytics/",
        "/api/analytics/events/",
        "/api/counter/",
        "/api/suggest/",
        "/api/trending/",
    ):
        assert path in paths, path
    search = paths["/api/search/"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"query", "limit", "offset", "client_id"}
    client_id = next(p for p in search["parameters"] if p["name"] == "client_id")
    assert client_id["schema"]["maxLength"] == 64 and not client_id.get("required", False)
    components = schema["components"]["schemas"]
    assert "client_id" in components["FeedbackRequest"]["properties"]
    assert {"clients_positive", "clients_negative"} <= set(components["StickerFeedback"]["properties"])
    assert "clients" in components["QuerySummary"]["properties"]
    assert {"200", "400", "429", "503"} <= set(search["responses"])
    assert {"401", "403", "404"} <= set(paths["/api/analytics/"]["get"]["responses"])
    assert "text/csv" in paths["/api/analytics/"]["get"]["responses"]["200"]["content"]
    assert set(schema["components"]["schemas"]["SearchResponse"]["properties"]) == {
        "query",
        "limit",
        "offset",
        "model",
        "stickers",
    }
    assert client.get("/api/docs/").status_code == 200


def test_admin_pages_list_everything(client):
    User.objects.create_superuser("root", "root@example.com", "pw")
    assert client.post("/admin/login/", {"username": "root", "password": "pw"}).status_code == 302
    record_query_use("cat")
    Sticker.objects.create(filename="a.png", title="A")
    record_feedback([FeedbackEntry("cat", positive=["a.png"])])
    for page in (
        "catalog/sticker",
        "searches/query",
        "feedback/feedbackcounter",
        "feedback/feedbackevent",
        "auth/user",
        "authtoken/tokenproxy",
    ):
        response = client.get(f"/admin/{page}/", {"q": "a"})
        assert response.status_code == 200, page
    assert b"a.png" in client.get("/admin/feedback/feedbackevent/").content
    # Feedback is read-only in the admin.
    assert client.get("/admin/feedback/feedbackevent/add/").status_code == 403
    assert client.get("/admin/feedback/feedbackcounter/add/").status_code == 403


def test_schema_states_what_the_server_enforces(client):
    """Found by deeper fuzzing (make fuzz): a client generated from the schema must not send what the server
    refuses. The counter's n: every schema-valid value fits gunicorn's request line (4094 bytes) even with each
    whitespace character percent-encoded as 9 bytes, and the 414 beyond is declared; feedback's 400 names the
    rule JSON Schema cannot state (a filename both positive and negative)."""
    import re

    schema = yaml.safe_load(client.get("/api/schema/").content)
    counter = schema["paths"]["/api/counter/"]["get"]
    assert "414" in counter["responses"]
    n = next(p for p in counter["parameters"] if p["name"] == "n")["schema"]
    space = [int(m) for m in re.findall(r"\\s\{0,(\d+)\}", n["pattern"])]
    assert len(space) == 2, n["pattern"]
    worst = len("GET /api/counter/?digit=0&n= HTTP/1.1") + sum(space) * 9 + (n["maxLength"] - sum(space))
    assert worst <= 4094, worst
    assert client.get("/api/counter/", {"n": " " * 51 + "5"}).status_code == 200  # the server accepts more
    feedback = schema["paths"]["/api/feedback/"]["post"]["responses"]["400"]["description"]
    assert "both positive and negative" in feedback
