"""The one normal form of queries (NFKC, case-folded, whitespace collapsed, trimmed)."""

import pytest

from sticker_service.searches.models import Query
from sticker_service.searches.normalize import normalize_query

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("cat", "cat"),
        ("Cat ", "cat"),
        ("CAT", "cat"),
        ("  Cat \t in\n a   PARK ", "cat in a park"),
        ("ｃａｔ", "cat"),  # full-width letters (NFKC)
        ("ﬁsh", "fish"),  # the fi ligature (NFKC)
        ("Straße", "strasse"),  # case folding, not lower()
        ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),
        ("cat\u00a0\u2003dog", "cat dog"),  # no-break and em spaces collapse
        ("Ⅻ", "xii"),  # Roman numeral twelve: NFKC, then folded
        ("🐱 Cat", "🐱 cat"),
        ("кошка В парке", "кошка в парке"),
    ],
)
def test_normal_form(text, normal):
    assert normalize_query(text) == normal
    assert normalize_query(normal) == normal  # idempotent


def test_normal_form_is_cut_to_the_column_length():
    # U+FDFA expands to 18 characters under NFKC: 256 of them are far longer than the column.
    normal = normalize_query("\ufdfa" * 256)
    assert len(normal) <= 256 and normal == normalize_query(normal)


def search(client, **params):
    return client.get("/api/search/", params)


def test_spellings_of_one_query_are_one_row_and_the_response_echoes_the_query_as_sent(client, fake_search_service):
    for text in ("Cat ", "cat", "CAT", "ｃａｔ"):
        response = search(client, query=text)
        assert response.status_code == 200
        assert response.json()["query"] == text.strip()
    assert list(Query.objects.values_list("text", "usage_count")) == [("cat", 4)]
    # search_service is asked for the normal form (one cache entry, the adapter's training text).
    assert {seen.params["query"][0] for seen in fake_search_service.requests} == {"cat"}


@pytest.mark.parametrize("client_id", ["x" * 65, "has space", "tab\there", "é-accented"])
def test_bad_client_id_is_400_and_counts_nothing(client, fake_search_service, client_id):
    response = search(client, query="cat", client_id=client_id)
    assert response.status_code == 400
    assert "client_id" in response.json()["error"]["details"]["fields"]
    assert Query.objects.count() == 0 and fake_search_service.requests == []


def test_good_client_id_is_accepted(client, fake_search_service):
    assert search(client, query="cat", client_id="3f6c2a9e-4b1d-4c6e-9a55-0123456789ab").status_code == 200
    assert search(client, query="cat", client_id="x" * 64).status_code == 200
