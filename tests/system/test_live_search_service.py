"""sticker_service against the real search_service (separate gunicorn process, real HTTP, own database)."""

import pytest
import requests

from sticker_service.catalog.models import Sticker
from sticker_service.catalog.services import sync_catalog
from sticker_service.feedback.models import FeedbackEvent
from sticker_service.searches.models import Query

pytestmark = [pytest.mark.system, pytest.mark.django_db]


def test_search_through_the_live_service(client, use_live_search_service, settings):
    service = use_live_search_service
    settings.STICKER_MEDIA_URL = "https://cdn.example.com/stickers/"
    response = client.get("/api/search/", {"query": "cat in a park", "limit": 5})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "cat in a park" and body["limit"] == 5 and body["offset"] == 0
    assert body["model"].startswith("ViT-B-32/")
    stickers = body["stickers"]
    assert len(stickers) == 5
    assert {s["filename"] for s in stickers} <= set(service.filenames)
    scores = [s["score"] for s in stickers]
    assert scores == sorted(scores, reverse=True)
    assert all(s["url"] == f"https://cdn.example.com/stickers/{s['filename']}" for s in stickers)
    titles = {name: title for name, title, _tags in service.stickers}
    assert all(s["title"] == titles[s["filename"]] for s in stickers)
    assert Query.objects.get(text="cat in a park").usage_count == 1
    # Paging: offset 2 continues the same ranking.
    page = client.get("/api/search/", {"query": "cat in a park", "limit": 3, "offset": 2}).json()["stickers"]
    assert [s["filename"] for s in page] == [s["filename"] for s in stickers[2:5]]
    assert Query.objects.get(text="cat in a park").usage_count == 2


def test_pages_of_any_size_are_one_ranking_and_past_the_window_is_400(client, use_live_search_service):
    service = use_live_search_service

    def names(limit, offset=0):
        response = client.get("/api/search/", {"query": "animal", "limit": limit, "offset": offset})
        assert response.status_code == 200, response.content
        return [s["filename"] for s in response.json()["stickers"]]

    whole = names(100)
    assert sorted(whole) == sorted(service.filenames)
    for size in (1, 3, 7):
        assert [name for offset in range(0, len(whole), size) for name in names(size, offset)] == whole
    for url, headers in ((f"{service.url}/api/search/", service.headers()), ("/api/search/", None)):
        params = {"query": "animal", "limit": 100, "offset": 901}
        response = (
            requests.get(url, params=params, headers=headers, timeout=10)
            if headers is not None
            else client.get(url, params)
        )
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "result_window_exceeded"


@pytest.mark.parametrize("text", ["cats & dogs #1 100%", "🐱🌳 кошка", "%25%26%23", "x" * 256])
def test_special_queries_work_end_to_end(client, use_live_search_service, text):
    response = client.get("/api/search/", {"query": text, "limit": 3})
    assert response.status_code == 200, response.content
    assert response.json()["query"] == text
    assert len(response.json()["stickers"]) == 3
    assert Query.objects.get(text=text).usage_count == 1


def test_the_token_is_required_and_sent(client, use_live_search_service, settings):
    service = use_live_search_service
    assert requests.get(f"{service.url}/api/search/", params={"query": "cat"}, timeout=5).status_code == 401
    settings.SEARCH_SERVICE_TOKEN = "wrong"
    response = client.get("/api/search/", {"query": "cat"})
    assert response.status_code == 503
    assert response.json()["error"]["details"]["upstream_status"] == 401


def test_similar_and_unknown_filename(client, use_live_search_service):
    service = use_live_search_service
    response = client.get("/api/similar/", {"filename": "cat.png", "limit": 3})
    assert response.status_code == 200, response.content
    names = [s["filename"] for s in response.json()["stickers"]]
    assert len(names) == 3 and "cat.png" not in names and set(names) <= set(service.filenames)
    missing = client.get("/api/similar/", {"filename": "no-such.png"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_sync_catalog_then_feedback_on_search_results(client, use_live_search_service):
    service = use_live_search_service
    result = sync_catalog(page_size=3)
    assert result.upserted == len(service.stickers) and result.pages == 3
    tree = Sticker.objects.get(filename="tree.png")
    assert (tree.title, tree.tags, tree.width, tree.height) == (
        "green tree in a park",
        ["tree", "park", "nature"],
        96,
        96,
    )
    shown = client.get("/api/search/", {"query": "tree"}).json()["stickers"]
    body = {"feedback": [{"query": "tree", "positive": [shown[0]["filename"]], "negative": [shown[1]["filename"]]}]}
    response = client.post("/api/feedback/", body, content_type="application/json")
    assert response.json() == {"recorded": 2, "failed": []}
    assert FeedbackEvent.objects.count() == 2


def test_search_service_down_then_back(client, use_live_search_service):
    service = use_live_search_service
    service.kill()
    response = client.get("/api/search/", {"query": "cat"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    ready = client.get("/readyz")  # degraded, not down: feedback, analytics and the counter still work
    assert (ready.status_code, ready.json()["status"]) == (200, "degraded")
    service.serve()
    assert client.get("/api/search/", {"query": "cat"}).status_code == 200
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()["status"]) == (200, "ok")
