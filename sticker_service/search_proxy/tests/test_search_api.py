"""Public search and similar against a fake search_service (tests/system/ has the real one)."""

import time

import pytest
from django.db import connection

from sticker_service.catalog.models import Sticker
from sticker_service.searches.models import Query
from testkit.gunicorn import free_port

pytestmark = pytest.mark.django_db


def search(client, **params):
    return client.get("/api/search/", params)


def test_search_returns_stickers_with_public_urls_and_counts_the_query(client, fake_search_service, settings):
    settings.STICKER_MEDIA_URL = "https://cdn.example.com/stickers/"
    response = search(client, query="  cat in a park ", limit=3, offset=2)
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "cat in a park"
    assert (body["limit"], body["offset"], body["model"]) == (3, 2, "fake-search-model")
    assert [s["filename"] for s in body["stickers"]] == ["sticker-002.png", "sticker-003.png", "sticker-004.png"]
    assert body["stickers"][0] == {
        "filename": "sticker-002.png",
        "url": "https://cdn.example.com/stickers/sticker-002.png",
        "score": 0.98,
        "title": "Sticker 2",
    }
    assert Query.objects.get(text="cat in a park").usage_count == 1
    search(client, query="cat in a park")
    assert Query.objects.get(text="cat in a park").usage_count == 2
    # Stickers seen in results are in the catalogue (feedback can refer to them).
    assert set(Sticker.objects.values_list("filename", flat=True)) == {f"sticker-{i:03d}.png" for i in range(10)}
    seen = fake_search_service.requests[-1]
    assert seen.path == "/api/search/"
    assert seen.headers["Authorization"] == "Bearer fake-search-token"
    assert seen.params == {"query": ["cat in a park"], "limit": ["10"], "offset": ["0"]}


@pytest.mark.parametrize(
    "text",
    [
        "cats & dogs",
        "#1 sticker",
        "100% cute",
        "a+b=c?d/e",
        "🐱 in a 🌳",
        "кошка в парке",
        "猫",
        "x" * 256,
        "a%20b",
        "query=evil&limit=1000",
    ],
)
def test_special_characters_arrive_intact(client, fake_search_service, text):
    response = search(client, query=text, limit=5)
    assert response.status_code == 200, response.content
    assert response.json()["query"] == text
    assert fake_search_service.requests[-1].params["query"] == [text]
    assert fake_search_service.requests[-1].params["limit"] == ["5"]
    assert Query.objects.get(text=text).usage_count == 1


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "query"),
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 257}, "query"),
        ({"query": "bad\x00nul"}, "query"),
        ({"query": "bell\x07"}, "query"),
        ({"query": "line\nbreak"}, "query"),
        ({"query": "cat", "limit": "0"}, "limit"),
        ({"query": "cat", "limit": "101"}, "limit"),
        ({"query": "cat", "limit": "ten"}, "limit"),
        ({"query": "cat", "offset": "-1"}, "offset"),
        ({"query": "cat", "limit": "9" * 40}, "limit"),
    ],
)
def test_bad_parameters_are_400_and_change_nothing(client, fake_search_service, params, field):
    response = search(client, **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["details"]["fields"]
    assert fake_search_service.requests == []
    assert Query.objects.count() == 0


def test_256_characters_after_trimming_are_accepted(client, fake_search_service):
    text = "é" * 256
    assert search(client, query=f"  {text}\t").json()["query"] == text


def assert_503_quickly(client, started_at=None):
    started = time.monotonic()
    response = search(client, query="cat")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["details"]["dependency"] == "search_service"
    assert elapsed < 3.0, elapsed
    assert Query.objects.count() == 0  # a failed search is not a use
    return error


def test_search_service_slow_is_503_within_3_seconds(client, fake_search_service):
    fake_search_service.behaviour, fake_search_service.delay = "slow", 5.0
    assert "timed out" in assert_503_quickly(client)["details"]["reason"]


def test_search_service_dripping_its_answer_is_503_within_3_seconds(client, fake_search_service):
    fake_search_service.behaviour, fake_search_service.delay = "drip", 0.2
    assert_503_quickly(client)


def test_search_service_refusing_connections_is_503(client, settings):
    settings.SEARCH_SERVICE_URL = f"http://127.0.0.1:{free_port()}"
    assert "connection" in assert_503_quickly(client)["details"]["reason"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_search_service_5xx_is_503(client, fake_search_service, status):
    fake_search_service.behaviour, fake_search_service.status = "error", status
    assert assert_503_quickly(client)["details"]["reason"] == f"HTTP {status} boom"
    fake_search_service.body = b"<html>Bad gateway</html>"
    assert assert_503_quickly(client)["details"]["reason"] == f"HTTP {status}"


def test_search_service_answering_garbage_is_503(client, fake_search_service):
    fake = fake_search_service
    fake.behaviour, fake.status, fake.body = "error", 200, b"<html>not json</html>"
    assert_503_quickly(client)


def test_model_mismatch_is_503_with_the_upstream_code(client, fake_search_service):
    fake_search_service.behaviour, fake_search_service.status = "error", 409
    fake_search_service.body = {"error": {"code": "model_mismatch", "message": "index built with m1", "details": {}}}
    error = assert_503_quickly(client)
    assert error["details"]["upstream_code"] == "model_mismatch"
    assert "reindex" in error["message"]


def test_wrong_service_token_is_503_not_401(client, fake_search_service):
    fake_search_service.behaviour, fake_search_service.status = "error", 401
    fake_search_service.body = {"error": {"code": "not_authenticated", "message": "token", "details": {}}}
    response = search(client, query="cat")
    assert response.status_code == 503
    assert response.json()["error"]["details"]["upstream_status"] == 401


def test_search_service_refusing_the_input_is_400(client, fake_search_service):
    fake_search_service.behaviour, fake_search_service.status = "error", 400
    fake_search_service.body = {
        "error": {"code": "invalid_request", "message": "bad query", "details": {"fields": {"query": ["nope"]}}}
    }
    response = search(client, query="cat")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"query": ["nope"]}


@pytest.mark.parametrize(("limit", "offset"), [(100, 901), (2, 999), (10, 995)])
def test_past_the_result_window_is_400_without_asking_search_service(client, fake_search_service, limit, offset):
    response = search(client, query="cat", limit=limit, offset=offset)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "result_window_exceeded"
    assert error["details"] == {"offset": offset, "limit": limit, "max_result_window": 1000}
    assert fake_search_service.requests == [] and Query.objects.count() == 0
    assert search(client, query="cat", limit=100, offset=900).status_code == 200


def test_the_schema_states_the_largest_offset_and_the_window_rule(client, fake_search_service):
    """Issue 23 (schema): offset had no maximum in the schema, so a generated client sent offset 100000. Past the
    declared maximum the answer stays DESIGN.md's 400 result_window_exceeded (the sum rule), not a field error."""
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    offset = next(p for p in schema["paths"]["/api/search/"]["get"]["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 999 and "offset + limit <= 1000" in offset["description"]
    for past in (1000, 100_000):
        response = search(client, query="cat", offset=past)
        assert response.status_code == 400 and response.json()["error"]["code"] == "result_window_exceeded"
    assert search(client, query="cat", offset=999, limit=1).status_code == 200
    assert fake_search_service.requests[-1]


def test_search_services_result_window_error_is_passed_through_as_400(client, fake_search_service):
    fake_search_service.behaviour, fake_search_service.status = "error", 400
    fake_search_service.body = {
        "error": {
            "code": "result_window_exceeded",
            "message": "past the window",
            "details": {"offset": 90, "limit": 10, "max_result_window": 50},
        }
    }
    response = search(client, query="cat", limit=10, offset=90)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "result_window_exceeded" and error["message"] == "past the window"
    assert error["details"]["max_result_window"] == 50 and error["details"]["upstream_status"] == 400


def test_search_recovers_when_search_service_comes_back(client, fake_search_service):
    fake_search_service.behaviour = "error"
    assert search(client, query="cat").status_code == 503
    fake_search_service.behaviour = "ok"
    assert search(client, query="cat").status_code == 200


def test_the_call_to_search_service_takes_no_proxy_from_the_environment(client, fake_search_service, monkeypatch):
    dead_proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert search(client, query="cat").status_code == 200


def test_seen_stickers_are_inserted_once_per_process(client, fake_search_service, django_assert_num_queries):
    search(client, query="cat", limit=5)
    # The query's votes (one read), then the use (one round trip, no transaction of its own); the stickers are known.
    with django_assert_num_queries(2):
        search(client, query="cat", limit=5)
    assert Sticker.objects.count() == 5
    # A title from a later sync is not overwritten by search results.
    Sticker.objects.filter(filename="sticker-000.png").update(title="Synced title")
    search(client, query="other", limit=5)
    assert Sticker.objects.get(filename="sticker-000.png").title == "Synced title"
    assert connection.vendor == "postgresql"


def test_similar_returns_stickers(client, fake_search_service):
    response = client.get("/api/similar/", {"filename": "sticker-003.png", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["filename"] == "sticker-003.png"
    assert body["limit"] == 2
    assert len(body["stickers"]) == 2
    assert body["stickers"][0]["url"].endswith("/sticker-000.png")
    assert fake_search_service.requests[-1].params == {"filename": ["sticker-003.png"], "limit": ["2"]}


def test_similar_unknown_filename_is_404(client, fake_search_service):
    response = client.get("/api/similar/", {"filename": "nope.png"})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Unknown sticker: nope.png",
        "details": {"filename": "nope.png"},
    }


def test_similar_validates_and_fails_over_like_search(client, fake_search_service):
    assert client.get("/api/similar/").status_code == 400
    assert client.get("/api/similar/", {"filename": "a.png", "limit": 500}).status_code == 400
    fake_search_service.behaviour = "error"
    assert client.get("/api/similar/", {"filename": "a.png"}).status_code == 503
