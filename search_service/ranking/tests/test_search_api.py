"""GET /api/search/ and /api/similar/: scores, the blend, paging, validation, the model check, the token."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command

from search_service.stickers.blending import reblend
from search_service.stickers.models import Sticker
from search_service.stickers.services import add_sticker
from testkit.images import image_bytes, make_image, png

pytestmark = pytest.mark.django_db

TITLES = {0: ("red ball", ["ball", "red"]), 1: ("green box", []), 2: ("", ["blue"]), 3: ("", []), 4: ("", [])}


@pytest.fixture
def stickers(encoder):
    for i, (title, tags) in TITLES.items():
        add_sticker(f"s{i}.png", png(i), title=title, tags=tags)
    return {s.filename: s for s in Sticker.objects.all()}


def search(client, **params):
    response = client.get("/api/search/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_scores_are_the_documented_blend_of_cosine_similarities(client, stickers, encoder, settings):
    """Plus SEARCH_LEXICAL_WEIGHT times the lexical score: s0 holds both words of the query that are in any title or
    tag ("red", "ball"; "a" is in none, so it does not count), the others none."""
    settings.SEARCH_TEXT_WEIGHT = 0.3
    settings.SEARCH_LEXICAL_WEIGHT = 0.25
    reblend()
    body = search(client, query="a red ball", limit=10)
    assert body["model"] == encoder.model_id
    results = body["results"]
    assert len(results) == 5 and set(results[0]) == {"filename", "score", "title"}
    query = encoder.encode_texts(["a red ball"])[0]
    for hit in results:
        sticker = stickers[hit["filename"]]
        expected = float(np.dot(query, sticker.image_embedding))
        if sticker.text_embedding is not None:
            expected = 0.7 * expected + 0.3 * float(np.dot(query, sticker.text_embedding))
        expected += 0.25 if hit["filename"] == "s0.png" else 0.0
        assert hit["score"] == pytest.approx(expected, abs=1e-4)
        assert hit["title"] == sticker.title
    scores = [hit["score"] for hit in results]
    assert scores == sorted(scores, reverse=True)


def test_title_and_tags_match_when_the_text_weight_is_one(client, stickers, settings):
    settings.SEARCH_TEXT_WEIGHT = 1.0
    settings.SEARCH_LEXICAL_WEIGHT = 0.0  # vector ranking alone
    reblend()
    results = search(client, query="green box")["results"]
    assert results[0] == {"filename": "s1.png", "score": pytest.approx(1.0, abs=1e-4), "title": "green box"}
    assert search(client, query="blue")["results"][0]["filename"] == "s2.png"


def test_image_only_when_the_text_weight_is_zero(client, stickers, encoder, settings):
    settings.SEARCH_TEXT_WEIGHT = 0.0
    reblend()
    query = encoder.encode_texts(["green box"])[0]
    expected = sorted(stickers, key=lambda name: -float(np.dot(query, stickers[name].image_embedding)))
    assert [hit["filename"] for hit in search(client, query="green box")["results"]] == expected


def test_a_changed_text_weight_is_refused_until_reblend(client, stickers, settings):
    before = search(client, query="a red ball")["results"]
    settings.SEARCH_TEXT_WEIGHT = 0.5
    response = client.get("/api/search/", {"query": "a red ball"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "blend_outdated" and "python -m search_service reblend" in error["message"]
    assert error["details"] == {"text_weight": 0.5}
    call_command("reblend", stdout=io.StringIO())
    after = search(client, query="a red ball")["results"]
    assert {hit["filename"] for hit in after} == {hit["filename"] for hit in before}
    assert [hit["score"] for hit in after] != [hit["score"] for hit in before]
    assert set(Sticker.objects.values_list("blend_weight", flat=True)) == {0.5}


def test_limit_and_offset_page_through_one_ranking(client, stickers):
    everything = [hit["filename"] for hit in search(client, query="sticker", limit=100)["results"]]
    assert len(everything) == 5
    assert [hit["filename"] for hit in search(client, query="sticker", limit=2, offset=1)["results"]] == everything[1:3]
    assert search(client, query="sticker", offset=5)["results"] == []
    assert len(search(client, query="sticker")["results"]) == 5  # default limit 10


def test_an_empty_index_gives_no_results(client, encoder):
    assert search(client, query="cat") == {"model": encoder.model_id, "results": []}


def test_any_unicode_query_up_to_256_characters(client, stickers):
    assert len(search(client, query="👩‍💻 кошка в парке 猫")["results"]) == 5
    assert len(search(client, query="  " + "x" * 256 + "  ")["results"]) == 5
    assert len(search(client, query="cat & dog #1 %20")["results"]) == 5


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 257},
        {"query": "a\x00b"},
        {"query": "line\nbreak"},
        {"query": "cat", "limit": 0},
        {"query": "cat", "limit": 101},
        {"query": "cat", "limit": "ten"},
        {"query": "cat", "offset": -1},
        {"query": "cat", "offset": "1.5"},
    ],
)
def test_bad_search_parameters_are_400(client, params):
    response = client.get("/api/search/", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["details"]["fields"]


@pytest.mark.parametrize(("limit", "offset"), [(100, 901), (2, 999), (10, 995)])
def test_past_the_result_window_is_400(client, limit, offset):
    response = client.get("/api/search/", {"query": "cat", "limit": limit, "offset": offset})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "result_window_exceeded"
    assert error["details"] == {"offset": offset, "limit": limit, "max_result_window": 1000}


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_schema_states_the_largest_offset(client, method):
    """Issue 23 (schema): offset's maximum was 1,000,000 in the schema while offset + limit <= 1000 is the rule."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/search/"][method]
    if method == "get":
        offset = next(p for p in operation["parameters"] if p["name"] == "offset")["schema"]
    else:
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        offset = schema["components"]["schemas"][ref]["properties"]["offset"]
    assert offset["maximum"] == 999
    # Past it: DESIGN.md's 400 result_window_exceeded (the sum rule with the real limit), not a field error.
    for past in (1000, 10**6, 10**30):
        if method == "get":
            response = client.get("/api/search/", {"query": "cat", "offset": past})
        else:
            response = client.post("/api/search/", {"query": "cat", "offset": past}, content_type="application/json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "result_window_exceeded"


def test_the_last_page_of_the_window_is_fine(client, stickers):
    assert search(client, query="cat", limit=100, offset=900)["results"] == []


def test_post_with_boosts_lifts_the_listed_stickers(client, stickers, settings):
    settings.SEARCH_BOOST_MAX = 2.0
    plain = search(client, query="a red ball", limit=5)["results"]
    last = plain[-1]
    body = {"query": "a red ball", "limit": 5, "boosts": [{"filename": last["filename"], "boost": 50}]}
    response = client.post("/api/search/", body, content_type="application/json")
    assert response.status_code == 200, response.json()
    boosted = response.json()["results"]
    assert boosted[0]["filename"] == last["filename"]
    assert boosted[0]["score"] == pytest.approx(last["score"] + settings.SEARCH_BOOST_MAX, abs=1e-5)
    same = client.post("/api/search/", {"query": "a red ball", "limit": 5}, content_type="application/json")
    assert same.json()["results"] == plain


@pytest.mark.parametrize(
    "boosts",
    [
        [{"filename": "s0.png", "boost": "nan"}],
        [{"filename": "s0.png", "boost": "0.1"}],
        [{"filename": "s0.png", "boost": False}],
        [{"filename": 5, "boost": 0.1}],
        [{"filename": "s0.png", "boost": "Infinity"}],
        [{"filename": "s0.png"}],
        [{"filename": "a\x00b", "boost": 0.1}],
        [{"filename": "s0.png", "boost": 0.1}] * 201,
        {"s0.png": 0.1},
    ],
)
def test_bad_boosts_are_400(client, boosts):
    response = client.post("/api/search/", {"query": "cat", "boosts": boosts}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [{"query": 5}, {"query": "cat", "limit": "10"}, {"query": "cat", "offset": True}, {"query": "cat", "limit": 1.5}],
)
def test_search_bodies_take_json_types_only(client, body):
    response = client.post("/api/search/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body, content_type",
    [
        pytest.param('{"query": ' * 1000 + '"cat"' + "}" * 1000, "application/json", id="1000 nested objects"),
        pytest.param("[" * 100_000 + "]" * 100_000, "application/json", id="100000 nested arrays"),
        pytest.param('{"query": "cat"}', "application/json; charset=rot13", id="rot13"),
        pytest.param('{"query": "cat"}', "application/json; charset=zlib", id="zlib"),
        pytest.param('{"query": "cat"}', "application/json; charset=no-such-charset", id="unknown charset"),
        pytest.param('{"query": "cat", "limit": ' + "9" * 5000 + "}", "application/json", id="5000 digits"),
    ],
)
def test_unreadable_search_bodies_are_400(client, body, content_type):
    """Issue 23 item 4: a body nested 1000 deep was a 500 (DRF's JSONParser lets RecursionError through)."""
    response = client.generic("POST", "/api/search/", body, content_type=content_type)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "malformed_request"
    assert "sys." not in response.json()["error"]["message"]


def test_similar_excludes_itself_and_finds_the_near_duplicate(client, stickers, encoder):
    near = make_image(0)
    near.putpixel((0, 0), (0, 0, 0))  # one pixel differs from s0
    add_sticker("s0-copy.png", image_bytes(near))
    body = client.get("/api/similar/", {"filename": "s0.png", "limit": 3}).json()
    assert body["model"] == encoder.model_id
    names = [hit["filename"] for hit in body["results"]]
    assert names[0] == "s0-copy.png" and "s0.png" not in names and len(names) == 3
    assert body["results"][0]["score"] > 0.99
    everything = client.get("/api/similar/", {"filename": "s0.png", "limit": 100}).json()["results"]
    assert {hit["filename"] for hit in everything} == set(stickers) - {"s0.png"} | {"s0-copy.png"}


def test_similar_errors(client, stickers):
    response = client.get("/api/similar/", {"filename": "nope.png"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    for params in ({}, {"filename": "s0.png", "limit": 0}, {"filename": "s0.png", "limit": 101}):
        response = client.get("/api/similar/", params)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


def test_an_index_of_another_model_is_refused_with_409(client, stickers, encoder):
    Sticker.objects.filter(filename="s3.png").update(model_id="ViT-L-14/openai")
    for path, params in [("/api/search/", {"query": "cat"}), ("/api/similar/", {"filename": "s0.png"})]:
        response = client.get(path, params)
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "model_mismatch" and "--reindex" in error["message"]
        assert error["details"] == {"loaded_model": encoder.model_id, "index_models": ["ViT-L-14/openai"]}
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/api/images/", {"image": SimpleUploadedFile("new.png", png(9))})
    assert response.status_code == 409 and response.json()["error"]["code"] == "model_mismatch"


def test_the_service_token_guards_every_api_call(client, settings, stickers):
    settings.SEARCH_SERVICE_TOKEN = "s3cret-token"
    calls = [
        ("get", "/api/search/", {"query": "cat"}),
        ("get", "/api/similar/", {"filename": "s0.png"}),
        ("get", "/api/images/", {}),
        ("delete", "/api/images/s0.png/", {}),
        ("get", "/api/schema/", {}),
    ]
    for method, path, params in calls:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Token s3cret-token"},
            {"Authorization": "Bearer"},
        ):
            response = getattr(client, method)(path, params, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response["WWW-Authenticate"] == "Bearer"
            assert response.json()["error"]["code"] in ("not_authenticated", "authentication_failed")
    assert Sticker.objects.filter(filename="s0.png").exists()
    ok = {"Authorization": "Bearer s3cret-token"}
    assert client.get("/api/search/", {"query": "cat"}, headers=ok).status_code == 200
    assert client.get("/api/schema/", headers=ok).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/media/stickers/s0.png").status_code == 200  # images are not behind the token


def test_the_schema_describes_parameters_and_responses(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    search = schema["paths"]["/api/search/"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"query", "limit", "offset"}
    assert {"200", "400", "409", "503"} <= set(search["responses"])
    assert "result_window_exceeded" in search["responses"]["400"]["description"]
    boosted = schema["paths"]["/api/search/"]["post"]
    body = boosted["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][body]["properties"]) == {"query", "limit", "offset", "boosts"}
    assert {p["name"] for p in schema["paths"]["/api/similar/"]["get"]["parameters"]} == {"filename", "limit"}
    assert "multipart/form-data" in schema["paths"]["/api/images/"]["post"]["requestBody"]["content"]
    assert {"page", "page_size"} <= {p["name"] for p in schema["paths"]["/api/images/"]["get"]["parameters"]}
    assert "/api/images/{filename}/" in schema["paths"]


def test_readyz_reports_the_model_to_internal_callers_only(client, encoder, settings):
    settings.METRICS_TOKEN = "ops-token"
    assert client.get("/readyz").json() == {"status": "ok", "checks": {"database": {"ok": True}, "model": {"ok": True}}}
    body = client.get("/readyz", HTTP_AUTHORIZATION="Bearer ops-token").json()
    assert body["checks"]["model"] == {"ok": True, "model": encoder.model_id, "dim": encoder.dim}
