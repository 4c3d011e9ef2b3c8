"""Per-client votes: each client counts once per (query, sticker), its latest vote wins; every vote stays an event;
the boost the votes give is bounded, and one client spamming moves its sticker no more than one honest vote."""

import json

import pytest

from sticker_service.catalog.models import Sticker
from sticker_service.core.clients import client_key
from sticker_service.feedback.boosts import query_boosts
from sticker_service.feedback.models import ClientVote, FeedbackCounter, FeedbackEvent, Vote
from sticker_service.feedback.scoring import vote_boost
from sticker_service.searches.services import record_query_use

pytestmark = pytest.mark.django_db


@pytest.fixture
def known():
    record_query_use("cat")
    Sticker.objects.bulk_create([Sticker(filename=f"s{i}.png") for i in range(5)])


def vote(client, query="cat", positive=(), negative=(), client_id=None, addr="198.51.100.1"):
    body = {"feedback": [{"query": query, "positive": list(positive), "negative": list(negative)}]}
    if client_id is not None:
        body["client_id"] = client_id
    response = client.post("/api/feedback/", json.dumps(body), content_type="application/json", REMOTE_ADDR=addr)
    assert response.status_code == 200, response.content
    return response.json()


def latest_votes():
    return {(v.client, v.sticker.filename): v.vote for v in ClientVote.objects.select_related("sticker")}


def test_a_client_counts_once_and_its_latest_vote_wins(client, known):
    for _ in range(3):
        vote(client, positive=["s0.png"], client_id="alice")
    vote(client, query="  CAT ", negative=["s0.png"], client_id="alice")  # the same query in another spelling
    vote(client, positive=["s0.png"], client_id="bob")
    vote(client, positive=["s0.png"])  # no client_id: the address is the client
    vote(client, positive=["s0.png"], addr="198.51.100.2")
    alice, bob = client_key("id:alice"), client_key("id:bob")
    addr1, addr2 = client_key("ip:198.51.100.1"), client_key("ip:198.51.100.2")
    assert latest_votes() == {
        (alice, "s0.png"): Vote.NEGATIVE,
        (bob, "s0.png"): Vote.POSITIVE,
        (addr1, "s0.png"): Vote.POSITIVE,
        (addr2, "s0.png"): Vote.POSITIVE,
    }
    # Every vote is still an event (with its client), and the counters count votes.
    assert FeedbackEvent.objects.count() == 7
    assert FeedbackEvent.objects.filter(client=alice).count() == 4
    counter = FeedbackCounter.objects.get()
    assert (counter.positive, counter.negative) == (6, 1)
    assert query_boosts("cat") == {
        "s0.png": pytest.approx(vote_boost(3, 1, max_boost=0.1, prior=1, half_clients=3), abs=1e-6)
    }


def test_the_latest_vote_of_one_batch_wins(client, known):
    body = {
        "client_id": "carol",
        "feedback": [{"query": "cat", "positive": ["s1.png"]}, {"query": "Cat", "negative": ["s1.png"]}],
    }
    assert client.post("/api/feedback/", json.dumps(body), content_type="application/json").json()["recorded"] == 2
    assert latest_votes() == {(client_key("id:carol"), "s1.png"): Vote.NEGATIVE}


@pytest.mark.parametrize("client_id", ["", "x" * 65, "a b", "ü", 7, None, ["a"]])
def test_bad_client_id_is_400_and_records_nothing(client, known, client_id):
    body = {"client_id": client_id, "feedback": [{"query": "cat", "positive": ["s0.png"]}]}
    response = client.post("/api/feedback/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "client_id" in response.json()["error"]["details"]["fields"]
    assert not FeedbackEvent.objects.exists() and not ClientVote.objects.exists()


def test_a_spamming_client_moves_its_sticker_no_more_than_one_honest_vote(client, known, fake_search_service):
    vote(client, positive=["s1.png"], client_id="honest")
    honest = query_boosts("cat")["s1.png"]
    for _ in range(10):  # 1,000 votes, 100 per request
        body = {"client_id": "spammer", "feedback": [{"query": "cat", "positive": ["s2.png"]}] * 100}
        assert client.post("/api/feedback/", json.dumps(body), content_type="application/json").status_code == 200
    assert FeedbackEvent.objects.filter(sticker__filename="s2.png").count() == 1000
    boosts = query_boosts("cat")
    assert boosts["s2.png"] == honest > 0
    # What search_service is sent: the same boost for both stickers, in the POST body.
    client.get("/api/search/", {"query": "Cat"})
    sent = fake_search_service.requests[-1]
    assert sent.body["query"] == "cat"
    assert sent.body["boosts"] == [{"filename": "s1.png", "boost": honest}, {"filename": "s2.png", "boost": honest}]


def test_boost_is_bounded_and_grows_with_distinct_clients():
    one = vote_boost(1, 0, max_boost=0.1, prior=1, half_clients=3)
    five = vote_boost(5, 0, max_boost=0.1, prior=1, half_clients=3)
    many = vote_boost(10_000, 0, max_boost=0.1, prior=1, half_clients=3)
    assert 0 < one < five < many < 0.1
    assert vote_boost(0, 10_000, max_boost=0.1, prior=1, half_clients=3) == pytest.approx(-many)
    assert vote_boost(3, 3, max_boost=0.1, prior=1, half_clients=3) == 0
    assert vote_boost(0, 0, max_boost=0.1, prior=1, half_clients=3) == 0


def test_no_votes_no_boosts_a_plain_get(client, known, fake_search_service, settings):
    client.get("/api/search/", {"query": "cat"})
    assert fake_search_service.requests[-1].body is None
    vote(client, positive=["s0.png"], client_id="dave")
    settings.FEEDBACK_BOOST_MAX = 0
    client.get("/api/search/", {"query": "cat"})
    assert fake_search_service.requests[-1].body is None


def test_the_admin_lists_client_votes_read_only(client, admin_client, known):
    from django.urls import reverse

    vote(client, positive=["s0.png"], client_id="alice")
    changelist = reverse("admin:feedback_clientvote_changelist")
    page = admin_client.get(changelist)
    assert page.status_code == 200
    assert client_key("id:alice") in page.content.decode() and "s0.png" in page.content.decode()
    assert admin_client.get(reverse("admin:feedback_clientvote_add")).status_code == 403
    row = ClientVote.objects.get()
    assert (
        admin_client.post(reverse("admin:feedback_clientvote_delete", args=[row.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert ClientVote.objects.count() == 1
