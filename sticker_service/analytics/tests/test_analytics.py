import base64
import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token

from sticker_service.analytics.selectors import spreadsheet_safe
from sticker_service.catalog.models import Sticker
from sticker_service.feedback.models import FeedbackEvent
from sticker_service.feedback.services import FeedbackEntry, record_feedback
from sticker_service.searches.normalize import normalize_query
from sticker_service.searches.services import record_query_use

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_token():
    user = User.objects.create_user("ml", password="x", is_staff=True)
    return Token.objects.create(user=user).key


@pytest.fixture
def data(settings):
    settings.STICKER_MEDIA_URL = "https://cdn.example.com/s/"
    for text, uses in (("cat", 3), ("dog", 1), ('a,b "quoted"\nline', 2)):
        for _ in range(uses):
            record_query_use(text)
    Sticker.objects.bulk_create([Sticker(filename=name) for name in ("c1.png", "c2.png", "d1.png")])
    # Clients a, b and c; a changes its mind on c2.png (its latest vote counts for the distinct clients).
    record_feedback([FeedbackEntry("cat", positive=["c1.png", "c2.png"])], client="a")
    record_feedback([FeedbackEntry("cat", positive=["c1.png"])], client="b")
    record_feedback([FeedbackEntry("cat", negative=["c2.png"])], client="a")
    record_feedback([FeedbackEntry("dog", negative=["d1.png"])], client="c")


def get(client, token=None, path="/api/analytics/", **params):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    return client.get(path, params, **headers)


@pytest.mark.parametrize("path", ["/api/analytics/", "/api/analytics/events/"])
def test_auth_matrix(client, data, admin_token, path):
    none = get(client, path=path)
    assert none.status_code == 401
    assert none.json()["error"]["code"] == "not_authenticated"
    assert none["WWW-Authenticate"] == "Token"
    bad = get(client, "0" * 40, path=path)
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "authentication_failed"
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {admin_token}").status_code == 401
    plain = Token.objects.create(user=User.objects.create_user("someone", password="x")).key
    forbidden = get(client, plain, path=path)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "permission_denied"
    inactive_user = User.objects.create_user("gone", password="x", is_staff=True, is_active=False)
    assert get(client, Token.objects.create(user=inactive_user).key, path=path).status_code == 401
    assert get(client, admin_token, path=path).status_code == 200
    assert get(client, admin_token, path=path, format="csv").status_code == 200
    # No data leaks in the refusals' CSV variant either.
    assert get(client, path=path, format="csv")["Content-Type"] == "application/json"


def test_one_query(client, data, admin_token):
    response = get(client, admin_token, query="  cat ")
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "cat"
    assert body["usage_count"] == 3
    assert (body["positive"], body["negative"], body["clients"]) == (3, 1, 2)
    assert body["stickers"] == [
        {
            "filename": "c1.png",
            "url": "https://cdn.example.com/s/c1.png",
            "positive": 2,
            "negative": 0,
            "clients_positive": 2,
            "clients_negative": 0,
        },
        {
            "filename": "c2.png",
            "url": "https://cdn.example.com/s/c2.png",
            "positive": 1,
            "negative": 1,
            "clients_positive": 0,
            "clients_negative": 1,
        },
    ]
    # The query in another spelling is the same query.
    assert get(client, admin_token, query="CAT").json()["usage_count"] == 3
    assert body["first_searched_at"] <= body["last_searched_at"]


def test_unknown_query_is_404_and_bad_params_400(client, data, admin_token):
    response = get(client, admin_token, query="never")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert get(client, admin_token, path="/api/analytics/events/", query="never").status_code == 404
    assert get(client, admin_token, format="xml").status_code == 400
    assert get(client, admin_token, page_size=0).status_code == 400
    assert get(client, admin_token, page=99).status_code == 404
    assert get(client, admin_token, path="/api/analytics/events/", since="yesterday").status_code == 400


def test_all_queries_paginated(client, data, admin_token):
    first = get(client, admin_token, page_size=2).json()
    assert first["count"] == 3
    assert [row["query"] for row in first["results"]] == ["cat", 'a,b "quoted"\nline']
    assert first["results"][0] | {"first_searched_at": None, "last_searched_at": None} == {
        "query": "cat",
        "usage_count": 3,
        "positive": 3,
        "negative": 1,
        "clients": 2,
        "first_searched_at": None,
        "last_searched_at": None,
    }
    assert first["previous"] is None
    second = get(client, admin_token, page_size=2, page=2).json()
    assert [
        (row["query"], row["usage_count"], row["positive"], row["negative"], row["clients"])
        for row in second["results"]
    ] == [("dog", 1, 0, 1, 1)]
    assert second["next"] is None


def read_csv(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


HEADER = ["query", "usage_count", "filename", "positive", "negative", "clients_positive", "clients_negative"]


def test_csv_export_of_every_query(client, data, admin_token):
    rows = read_csv(get(client, admin_token, format="csv"))
    assert rows[0] == HEADER
    assert sorted(rows[1:]) == sorted(
        [
            ["cat", "3", "c1.png", "2", "0", "2", "0"],
            ["cat", "3", "c2.png", "1", "1", "0", "1"],
            ["dog", "1", "d1.png", "0", "1", "0", "1"],
            ['a,b "quoted"\nline', "2", "", "0", "0", "0", "0"],
        ]
    )


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("path", ["/api/analytics/", "/api/analytics/events/"])
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(client, admin_token, path):
    """OWASP CSV injection: a query or filename starting with = + - @ tab or CR leaves as text ('=...).

    Queries are stored in their normal form (trimmed, so a leading tab or CR never reaches a query cell); the
    tab and CR rules are checked on the escaping function itself."""
    Sticker.objects.create(filename="-x.png")
    for text in FORMULAS:
        record_query_use(normalize_query(text))
        record_feedback([FeedbackEntry(text, positive=["-x.png"])])
    rows = read_csv(get(client, admin_token, path=path, format="csv"))
    column = rows[0].index("query")
    normal = {normalize_query(text) for text in FORMULAS}
    assert {row[column] for row in rows[1:]} == {"'" + t if t[0] in "=+-@" else t for t in normal}
    assert {row[rows[0].index("filename")] for row in rows[1:]} == {"'-x.png"}
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows[1:] for cell in row)
    assert [spreadsheet_safe(text) for text in FORMULAS] == ["'" + text for text in FORMULAS]


@pytest.mark.parametrize("path", ["/api/analytics/", "/api/analytics/events/"])
def test_csv_for_programs_has_the_text_as_stored(client, admin_token, path):
    """Issue 23 item 3: the query adapter trained on "'-_-" for the query "-_-"; escape=none gives the stored text."""
    Sticker.objects.create(filename="-x.png")
    texts = ["=1+1 x", "-_-", "@home", "+1"]
    for text in texts:
        record_query_use(text)
        record_feedback([FeedbackEntry(text, positive=["-x.png"])])
    rows = read_csv(get(client, admin_token, path=path, format="csv", escape="none"))
    assert {row[rows[0].index("query")] for row in rows[1:]} == set(texts)
    assert {row[rows[0].index("filename")] for row in rows[1:]} == {"-x.png"}
    escaped = read_csv(get(client, admin_token, path=path, format="csv"))  # the default is for spreadsheets
    assert {row[escaped[0].index("query")] for row in escaped[1:]} == {"'" + text for text in texts}
    bad = get(client, admin_token, path=path, format="csv", escape="html")
    assert bad.status_code == 400 and "escape" in bad.json()["error"]["details"]["fields"]


@pytest.mark.parametrize("path", ["/api/analytics/", "/api/analytics/events/"])
def test_the_answer_format_follows_format_and_accept_as_the_schema_says(client, data, admin_token, path):
    """Issue 23 item 6: Accept: text/csv with format=csv was a 406 and Accept: application/json got CSV."""

    def answer(accept: str | None, **params):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = client.get(path, params, HTTP_AUTHORIZATION=f"Token {admin_token}", **headers)
        return response.status_code, response["Content-Type"].split(";")[0]

    assert answer("text/csv", format="csv") == (200, "text/csv")
    assert answer(None, format="csv") == (200, "text/csv")
    assert answer("*/*", format="csv") == (200, "text/csv")
    assert answer("text/csv") == (200, "text/csv")  # without format, Accept chooses
    assert answer("text/*") == (200, "text/csv")
    assert answer(None) == (200, "application/json")
    assert answer("application/json", format="json") == (200, "application/json")
    assert answer("application/json", format="csv") == (406, "application/json")
    assert answer("text/csv", format="json") == (406, "application/json")
    assert answer("image/png") == (406, "application/json")
    # Errors are JSON whatever was negotiated.
    assert answer("text/csv", format="csv", query="never searched") == (404, "application/json")
    assert answer("text/csv", format="xml") == (400, "application/json")
    anonymous = client.get(path, {"format": "csv"}, HTTP_ACCEPT="text/csv")
    assert (anonymous.status_code, anonymous["Content-Type"]) == (401, "application/json")


def test_csv_export_of_one_query(client, data, admin_token):
    rows = read_csv(get(client, admin_token, format="csv", query="dog"))
    assert rows == [HEADER, ["dog", "1", "d1.png", "0", "1", "0", "1"]]


def test_raw_events_json_cursor_pages_and_filters(client, data, admin_token):
    path = "/api/analytics/events/"
    first = get(client, admin_token, path=path, page_size=3).json()
    assert [(e["query"], e["filename"], e["vote"]) for e in first["results"]] == [
        ("cat", "c1.png", "positive"),
        ("cat", "c2.png", "positive"),
        ("cat", "c1.png", "positive"),
    ]
    rest = client.get(first["next"], HTTP_AUTHORIZATION=f"Token {admin_token}").json()
    assert [(e["query"], e["filename"], e["vote"]) for e in rest["results"]] == [
        ("cat", "c2.png", "negative"),
        ("dog", "d1.png", "negative"),
    ]
    assert rest["next"] is None
    only_dog = get(client, admin_token, path=path, query="dog").json()["results"]
    assert [e["filename"] for e in only_dog] == ["d1.png"]
    FeedbackEvent.objects.filter(query__text="dog").update(created_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert len(get(client, admin_token, path=path, since=since).json()["results"]) == 4
    assert len(get(client, admin_token, path=path, until=since).json()["results"]) == 1


@pytest.mark.parametrize(
    "payload", ["p=abc", "p=1.5", "p=", "p=2026-01-01", "p=-1", "p=" + "9" * 30, "r=1&p=x", "not base64 at all"]
)
def test_a_bad_events_cursor_is_404_not_500(client, data, admin_token, payload):
    """Issue 23 item 5: a base64 cursor whose position is not an event id was a 500."""
    cursor = payload if " " in payload else base64.b64encode(payload.encode()).decode()
    response = get(client, admin_token, path="/api/analytics/events/", cursor=cursor)
    assert response.status_code == 404, response.content
    assert response.json()["error"] == {"code": "not_found", "message": "Invalid cursor", "details": {}}


def test_raw_events_csv(client, data, admin_token):
    rows = read_csv(get(client, admin_token, path="/api/analytics/events/", format="csv"))
    assert rows[0] == ["id", "created_at", "query", "filename", "vote", "client"]
    assert [row[2:] for row in rows[1:]] == [
        ["cat", "c1.png", "positive", "a"],
        ["cat", "c2.png", "positive", "a"],
        ["cat", "c1.png", "positive", "b"],
        ["cat", "c2.png", "negative", "a"],
        ["dog", "d1.png", "negative", "c"],
    ]
    assert all(row[1].endswith("+00:00") for row in rows[1:])


def test_large_csv_export_streams_every_row(client, admin_token):
    Sticker.objects.bulk_create([Sticker(filename=f"big{i}.png") for i in range(50)])
    names = [f"big{i}.png" for i in range(50)]
    for q in range(100):
        record_query_use(f"q{q}")
    record_feedback([FeedbackEntry(f"q{q}", positive=names) for q in range(100)])
    rows = read_csv(get(client, admin_token, format="csv"))
    assert len(rows) == 1 + 100 * 50
    events = read_csv(get(client, admin_token, path="/api/analytics/events/", format="csv"))
    assert len(events) == 1 + 5000
