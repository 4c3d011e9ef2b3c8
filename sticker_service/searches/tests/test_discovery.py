"""Suggestions and trending from the query log: privacy floor, hidden queries, normal form, bad input, and the
hourly and distinct-client counts under concurrent searches (real threads, real PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.db import connection
from django.urls import reverse

from sticker_service.core.clients import client_hash
from sticker_service.searches import selectors
from sticker_service.searches.models import Query, QueryClient, QueryHourlyUse
from sticker_service.searches.normalize import normalize_query
from sticker_service.searches.services import record_query_use

pytestmark = pytest.mark.django_db


def searched(text: str, *clients: str, times: int = 1) -> None:
    """What a search does: one use of the normal form per client and time."""
    for name in clients:
        for _ in range(times):
            record_query_use(normalize_query(text), client_key=client_hash(f"id:{name}"))


def suggest(client, **params):
    return client.get("/api/suggest/", params)


def trending(client, **params):
    return client.get("/api/trending/", params)


def test_normal_form():
    assert normalize_query("  Cat\tIN   a  PARK ") == "cat in a park"
    assert normalize_query("Ｃａｔ") == "cat"  # NFKC: full-width letters
    assert normalize_query("STRASSE") == normalize_query("straße")  # case folding, not lower()
    assert normalize_query("ﬁsh") == "fish"


def test_record_query_use_is_one_atomic_upsert():
    assert [record_query_use("dog") for _ in range(3)] == [1, 2, 3]
    query = Query.objects.get(text="dog")
    assert query.first_searched_at <= query.last_searched_at


def test_a_query_is_suggested_only_after_three_distinct_clients(client):
    searched("cat in a park", "a", "b", times=5)  # two clients, many times
    assert suggest(client, prefix="ca").json() == {"prefix": "ca", "suggestions": []}
    searched("cat in a park", "c")
    assert suggest(client, prefix="ca").json()["suggestions"] == [{"query": "cat in a park", "uses": 11}]
    assert Query.objects.get(text="cat in a park").distinct_clients == 3
    assert QueryClient.objects.count() == 3  # only hashes are kept
    assert not QueryClient.objects.filter(client__contains="a").exclude(client__regex=r"^[0-9a-f]{32}$").exists()


def test_the_privacy_floor_counts_client_addresses_not_client_ids(client, fake_search_service):
    """Issue 23 item 2: one address searching with ids x1, x2, x3 put any text into suggest and trending."""
    for client_id in ("x1", "x2", "x3", "x4"):
        assert client.get("/api/search/", {"query": "Buy pills", "client_id": client_id}).status_code == 200
    assert Query.objects.get(text="buy pills").distinct_clients == 1
    assert suggest(client, prefix="buy").json()["suggestions"] == []
    assert trending(client).json()["trending"] == []
    client.get("/api/search/", {"query": "buy PILLS"}, REMOTE_ADDR="198.51.100.7")
    client.get("/api/search/", {"query": "buy pills ", "client_id": "x1"}, REMOTE_ADDR="198.51.100.7")
    assert Query.objects.get(text="buy pills").distinct_clients == 2
    client.get("/api/search/", {"query": "buy pills"}, REMOTE_ADDR="198.51.100.8")
    pills = Query.objects.get(text="buy pills")
    assert (pills.usage_count, pills.distinct_clients) == (7, 3)
    assert suggest(client, prefix="B").json()["suggestions"] == [{"query": "buy pills", "uses": 7}]
    assert [t["query"] for t in trending(client).json()["trending"]] == ["buy pills"]


def test_suggestions_are_in_normal_form_most_used_first_and_limited(client):
    searched("Cat Videos", "a", "b", "c", times=3)
    searched("cat in a park", "a", "b", "c", "d")
    searched("catalog", "a", "b", "c", times=2)
    searched("dog", "a", "b", "c")
    body = suggest(client, prefix="CA", limit=2).json()
    assert body == {
        "prefix": "CA",
        "suggestions": [{"query": "cat videos", "uses": 9}, {"query": "catalog", "uses": 6}],
    }
    # A trailing space means "another word follows".
    assert [s["query"] for s in suggest(client, prefix="Cat ").json()["suggestions"]] == [
        "cat videos",
        "cat in a park",
    ]
    assert len(suggest(client, prefix="c").json()["suggestions"]) == 3  # default limit 8


def test_like_wildcards_in_the_prefix_are_literal(client):
    searched("100% cute", "a", "b", "c")
    searched("1000 cats", "a", "b", "c")
    searched("a_b", "a", "b", "c")
    searched("axb", "a", "b", "c")
    assert [s["query"] for s in suggest(client, prefix="100%").json()["suggestions"]] == ["100% cute"]
    assert [s["query"] for s in suggest(client, prefix="a_").json()["suggestions"]] == ["a_b"]
    assert suggest(client, prefix="%").json()["suggestions"] == []


def test_hidden_queries_are_never_suggested_nor_trending_and_the_admin_action_hides_them(client, admin_client):
    searched("rude words", "a", "b", "c", times=2)
    searched("rude dog", "a", "b", "c")
    assert [s["query"] for s in suggest(client, prefix="rude").json()["suggestions"]] == ["rude words", "rude dog"]
    assert "rude words" in [t["query"] for t in trending(client).json()["trending"]]
    rude = Query.objects.get(text="rude words")
    changelist = reverse("admin:searches_query_changelist")
    response = admin_client.post(changelist, {"action": "hide_queries", "_selected_action": [rude.pk]})
    assert response.status_code == 302
    assert Query.objects.get(pk=rude.pk).hidden is True
    assert [s["query"] for s in suggest(client, prefix="rude").json()["suggestions"]] == ["rude dog"]
    assert "rude words" not in [t["query"] for t in trending(client).json()["trending"]]
    searched("rude words", "d")  # more searches do not bring it back
    assert [s["query"] for s in suggest(client, prefix="rude").json()["suggestions"]] == ["rude dog"]
    admin_client.post(changelist, {"action": "show_queries", "_selected_action": [rude.pk]})
    assert suggest(client, prefix="rude").json()["suggestions"][0]["query"] == "rude words"


def test_hiding_a_query_needs_the_change_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    searched("rude words", "a", "b", "c")
    rude = Query.objects.get(text="rude words")
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_query"))
    client.force_login(viewer)
    changelist = reverse("admin:searches_query_changelist")
    assert client.get(changelist).status_code == 200
    client.post(changelist, {"action": "hide_queries", "_selected_action": [rude.pk]})
    assert Query.objects.get(pk=rude.pk).hidden is False
    viewer.user_permissions.add(Permission.objects.get(codename="change_query"))
    viewer = django_user_model.objects.get(pk=viewer.pk)  # a fresh permission cache
    client.force_login(viewer)
    assert client.post(changelist, {"action": "hide_queries", "_selected_action": [rude.pk]}).status_code == 302
    assert Query.objects.get(pk=rude.pk).hidden is True


def _uses(text: str, hours_ago: int, uses: int) -> None:
    query = Query.objects.get(text=text)
    hour = selectors.current_hour() - timedelta(hours=hours_ago)
    QueryHourlyUse.objects.update_or_create(query=query, hour=hour, defaults={"uses": uses})


def test_trending_ranks_the_rise_against_the_window_before(client):
    for text in ("rising", "steady", "falling", "new"):
        searched(text, "a", "b", "c")
    searched("few clients", "a", "b")
    QueryHourlyUse.objects.all().delete()
    _uses("rising", 1, 30)  # 24h window: hours 0..23 ago; previous: 24..47 ago
    _uses("rising", 30, 5)
    _uses("steady", 2, 10)
    _uses("steady", 26, 10)
    _uses("falling", 3, 1)
    _uses("falling", 40, 20)
    _uses("new", 0, 4)
    _uses("few clients", 0, 100)  # below the privacy floor
    _uses("rising", 60, 1000)  # older than both windows
    body = trending(client).json()
    assert body == {
        "window": "24h",
        "limit": 10,
        "trending": [
            {"query": "rising", "uses": 30, "previous_uses": 5},
            {"query": "new", "uses": 4, "previous_uses": 0},
        ],
    }
    # 1h window: only the current hour against the one before.
    assert trending(client, window="1h").json()["trending"] == [{"query": "new", "uses": 4, "previous_uses": 0}]
    # 2d window: falling 21 vs 0, steady 20 vs 0, new 4 vs 0; rising 35 against 1000 before.
    assert [t["query"] for t in trending(client, window="2d").json()["trending"]] == ["falling", "steady", "new"]
    assert trending(client, limit=1).json()["trending"] == [{"query": "rising", "uses": 30, "previous_uses": 5}]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/suggest/", {}, "prefix"),
        ("/api/suggest/", {"prefix": ""}, "prefix"),
        ("/api/suggest/", {"prefix": "   "}, "prefix"),
        ("/api/suggest/", {"prefix": "x" * 65}, "prefix"),
        ("/api/suggest/", {"prefix": "ca\x00t"}, "prefix"),
        ("/api/suggest/", {"prefix": "ca", "limit": "0"}, "limit"),
        ("/api/suggest/", {"prefix": "ca", "limit": "21"}, "limit"),
        ("/api/suggest/", {"prefix": "ca", "limit": "eight"}, "limit"),
        ("/api/trending/", {"limit": "0"}, "limit"),
        ("/api/trending/", {"limit": "51"}, "limit"),
        ("/api/trending/", {"window": "0h"}, "window"),
        ("/api/trending/", {"window": "169h"}, "window"),
        ("/api/trending/", {"window": "8d"}, "window"),
        ("/api/trending/", {"window": "24"}, "window"),
        ("/api/trending/", {"window": "1w"}, "window"),
        ("/api/trending/", {"window": "-1h"}, "window"),
        ("/api/search/", {"query": "cat", "client_id": "x" * 65}, "client_id"),
        ("/api/search/", {"query": "cat", "client_id": "a\x01"}, "client_id"),
    ],
)
def test_bad_input_is_a_400_in_the_one_error_format(client, path, params, field):
    response = client.get(path, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["details"]["fields"]
    assert not Query.objects.exists()


def test_windows_in_hours_and_days(client):
    for window in ("1h", "168h", "7d", "24h", "3d"):
        assert trending(client, window=window).json()["window"] == window


@pytest.mark.django_db(transaction=True)
def test_concurrent_searches_lose_no_hourly_use_nor_client():
    """8 threads (8 database connections) record 40 uses each of one query, each thread as 4 clients that
    every other thread also uses: every count must come out exact."""
    threads_n, per_thread = 8, 40
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                record_query_use("race query", client_key=client_hash(f"id:client-{(n + i) % 4}"))
                record_query_use(f"solo {n}", client_key=client_hash(f"id:thread-{n}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    race = Query.objects.get(text="race query")
    assert race.usage_count == threads_n * per_thread
    assert sum(QueryHourlyUse.objects.filter(query=race).values_list("uses", flat=True)) == threads_n * per_thread
    assert race.distinct_clients == 4 == QueryClient.objects.filter(query=race).count()
    solos = Query.objects.filter(text__startswith="solo ")
    assert sorted(q.usage_count for q in solos) == [per_thread] * threads_n
    assert all(q.distinct_clients == 1 for q in solos)


def test_prune_discovery_keeps_every_hour_a_trending_window_can_compare(client):
    from django.core.management import call_command

    searched("old", "a", "b", "c")
    QueryHourlyUse.objects.all().delete()
    for hours_ago in (0, 167, 335, 336, 900):
        _uses("old", hours_ago, 1)
    before = trending(client, window="7d").json()["trending"]
    out = StringIO()
    call_command("prune_discovery", stdout=out)
    assert out.getvalue().strip() == "2 hourly use rows deleted"
    now = selectors.current_hour()
    assert sorted((now - row.hour).total_seconds() // 3600 for row in QueryHourlyUse.objects.all()) == [0, 167, 335]
    assert trending(client, window="7d").json()["trending"] == before  # no window can see the pruned hours
    assert Query.objects.get(text="old").usage_count == 3  # totals stay
