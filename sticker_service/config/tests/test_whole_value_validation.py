"""Issue 23 item 7 and the small items: every validated field of the public API is matched whole (a pattern's `$`
does not let a final newline through, as Python's re.search did) and integer parameters are ASCII digits. One case
per validated field: the value with a trailing newline (or the odd integer spelling) is a 400 that names the
field and records nothing; the same value without it is accepted."""

import json

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from sticker_service.catalog.models import Sticker
from sticker_service.feedback.models import FeedbackEvent
from sticker_service.searches.models import Query
from sticker_service.searches.services import record_query_use
from testkit.bad_values import ODD_INTEGERS, assert_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(db):
    record_query_use("cat")
    Sticker.objects.create(filename="cat.png")


def feedback(client, *, client_id="qa", filename="cat.png"):
    body = {"client_id": client_id, "feedback": [{"query": "cat", "positive": [filename]}]}
    return client.post("/api/feedback/", json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("client_id", ["qa-nl\n", "qa-nl\r\n"])
def test_search_client_id_with_a_final_newline_is_refused(client, fake_search_service, client_id):
    assert_refused(client.get("/api/search/", {"query": "cat", "client_id": client_id}), "client_id")
    assert client.get("/api/search/", {"query": "cat", "client_id": "qa-nl"}).status_code == 200
    assert Query.objects.get().usage_count == 1


def test_similar_filename_with_a_final_newline_is_refused(client, fake_search_service):
    assert_refused(client.get("/api/similar/", {"filename": "sticker-001.png\n"}), "filename")
    assert client.get("/api/similar/", {"filename": "sticker-001.png"}).status_code == 200


def test_feedback_client_id_with_a_final_newline_is_refused(client, known):
    assert_refused(feedback(client, client_id="qa-nl\n"), "client_id")
    assert FeedbackEvent.objects.count() == 0
    assert feedback(client, client_id="qa-nl").json() == {"recorded": 1, "failed": []}


def test_feedback_filename_with_a_final_newline_is_refused(client, known):
    assert_refused(feedback(client, filename="cat.png\n"), "positive")
    assert FeedbackEvent.objects.count() == 0


@pytest.mark.parametrize("window", ["24h\n", "7d\n", " 24h", "169h", "8d", "0h", "024h"])
def test_trending_window_is_matched_whole_and_bounded(client, window):
    assert_refused(client.get("/api/trending/", {"window": window}), "window")


def test_every_trending_window_the_pattern_admits_is_served(client):
    for window in [f"{h}h" for h in (1, 9, 10, 99, 100, 159, 160, 168)] + [f"{d}d" for d in range(1, 8)]:
        assert client.get("/api/trending/", {"window": window}).status_code == 200, window


def test_suggest_prefix_of_only_whitespace_says_so(client):
    response = client.get("/api/suggest/", {"prefix": "   "})
    assert_refused(response, "prefix")
    assert response.json()["error"]["details"]["fields"]["prefix"] == ["Must not be empty or only whitespace."]
    assert "control" in str(client.get("/api/suggest/", {"prefix": "ca\x01"}).json())


@pytest.mark.parametrize("value", ODD_INTEGERS)
@pytest.mark.parametrize(
    "path, params, field",
    [
        ("/api/counter/", {"n": "100"}, "digit"),
        ("/api/search/", {"query": "cat"}, "limit"),
        ("/api/search/", {"query": "cat"}, "offset"),
        ("/api/similar/", {"filename": "sticker-001.png"}, "limit"),
        ("/api/suggest/", {"prefix": "ca"}, "limit"),
        ("/api/trending/", {}, "limit"),
    ],
)
def test_integer_parameters_are_ascii_digits(client, fake_search_service, path, params, field, value):
    assert_refused(client.get(path, {**params, field: value}), field)
    assert client.get(path, {**params, field: "7"}).status_code == 200


@pytest.mark.parametrize("value", ODD_INTEGERS)
@pytest.mark.parametrize(
    "path, field",
    [("/api/analytics/", "page"), ("/api/analytics/", "page_size"), ("/api/analytics/events/", "page_size")],
)
def test_analytics_integer_parameters_are_ascii_digits(client, known, path, field, value):
    token = Token.objects.create(user=User.objects.create_user("ml", is_staff=True)).key
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    assert_refused(client.get(path, {field: value}, **auth), field)
    assert client.get(path, {field: "1"}, **auth).status_code == 200
