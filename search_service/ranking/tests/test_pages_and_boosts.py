"""Stable pages (one ranking for any page size, exact scan and HNSW), boosts, the result window, the timeout."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from search_service.ranking import selectors
from search_service.ranking.errors import ResultWindowExceeded, SearchTimeout
from search_service.stickers.blending import blend
from search_service.stickers.models import Sticker
from search_service.stickers.vector_index import ensure_vector_indexes
from testkit.halfvec import assert_exact_ranking, halfvec_scores

pytestmark = pytest.mark.django_db
MODEL, DIM, COUNT, CLUSTERS = "pages-test-model", 32, 3000, 60


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def catalogue(settings):
    """COUNT stickers in CLUSTERS tight clusters (many near-ties: the hard case for stable pages), every other
    one with a title/tags vector; returns (query vectors, exact blended scores per query)."""
    rng = np.random.default_rng(7)
    centres = _normalise(rng.standard_normal((CLUSTERS, DIM)))
    pick = rng.integers(0, CLUSTERS, COUNT)
    image = _normalise(centres[pick] + 0.15 * rng.standard_normal((COUNT, DIM)))
    text = _normalise(centres[pick] + 0.15 * rng.standard_normal((COUNT, DIM)))
    w = settings.SEARCH_TEXT_WEIGHT
    rows = []
    for i in range(COUNT):
        t = text[i] if i % 2 == 0 else None
        rows.append(
            Sticker(
                filename=f"p{i:05d}.png",
                sha256=f"{i:064x}",
                width=1,
                height=1,
                model_id=MODEL,
                image_embedding=image[i],
                text_embedding=t,
                blended_embedding=blend(image[i], t, w),
                blend_weight=w,
            )
        )
    Sticker.objects.bulk_create(rows, batch_size=1000)
    ensure_vector_indexes(MODEL, DIM)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stickers_sticker")
    queries = _normalise(centres[:4] + 0.3 * rng.standard_normal((4, DIM)))
    blended = np.stack([blend(image[i], text[i] if i % 2 == 0 else None, w) for i in range(COUNT)])
    return queries, blended


def _names(hits):
    return [hit.filename for hit in hits]


def _paged(query, size, total, **kwargs):
    names = []
    for offset in range(0, total, size):
        names += _names(
            selectors.search(query, model_id=MODEL, limit=min(size, total - offset), offset=offset, **kwargs)
        )
    return names


@pytest.mark.parametrize("exact", [False, True], ids=["hnsw", "exact"])
def test_pages_of_7_20_and_100_concatenate_to_one_ranking_up_to_the_window(catalogue, exact):
    queries, _ = catalogue
    for query in queries[:2]:
        whole = _paged(query, 100, 1000, exact=exact)
        assert len(whole) == 1000 and len(set(whole)) == 1000
        assert _paged(query, 20, 1000, exact=exact) == whole
        assert _paged(query, 7, 1000, exact=exact) == whole
        assert _names(selectors.search(query, model_id=MODEL, limit=13, offset=987, exact=exact)) == whole[987:]


def test_scores_are_the_exact_blend_and_the_exact_scan_is_the_exact_ranking(catalogue):
    queries, blended = catalogue
    query = queries[0]
    exact_scores = halfvec_scores(blended, query)  # the products of the halfvec casts, on both paths
    hits = selectors.search(query, model_id=MODEL, limit=100, exact=True)
    assert_exact_ranking([int(name[1:6]) for name in _names(hits)], exact_scores)
    for hit in selectors.search(query, model_id=MODEL, limit=100, exact=False):
        assert hit.score == pytest.approx(float(exact_scores[int(hit.filename[1:6])]), abs=1e-5)


def test_hnsw_finds_the_exact_top_10(catalogue):
    queries, blended = catalogue
    found = 0
    for query in queries:
        top = set(np.argsort(-(blended @ query))[:10].tolist())
        found += len(
            top & {int(name[1:6]) for name in _names(selectors.search(query, model_id=MODEL, limit=10, exact=False))}
        )
    assert found / (10 * len(queries)) >= 0.9


@pytest.mark.parametrize("exact", [False, True], ids=["hnsw", "exact"])
def test_a_boost_lifts_a_sticker_from_beyond_the_scan_and_pages_stay_stable(catalogue, settings, exact):
    settings.SEARCH_BOOST_MAX = 2.0
    queries, blended = catalogue
    query = queries[0]
    scores = halfvec_scores(blended, query)
    worst, second_worst = (f"p{i:05d}.png" for i in np.argsort(scores)[:2])
    best = _names(selectors.search(query, model_id=MODEL, limit=1, exact=exact))[0]
    boosts = [(worst, 2.0), (second_worst, 5.0), (best, -2.0), ("not-a-sticker.png", 1.0)]
    hits = selectors.search(query, model_id=MODEL, limit=20, boosts=boosts, exact=exact)
    assert _names(hits)[:2] == [second_worst, worst] or _names(hits)[:2] == [worst, second_worst]
    by_name = {hit.filename: hit.score for hit in hits}
    for name in (worst, second_worst):  # 5.0 is clamped to SEARCH_BOOST_MAX
        assert by_name[name] == pytest.approx(float(scores[int(name[1:6])]) + 2.0, abs=1e-5)
    assert best not in _names(selectors.search(query, model_id=MODEL, limit=100, boosts=boosts, exact=exact))
    whole = _paged(query, 100, 500, boosts=boosts, exact=exact)
    assert len(set(whole)) == 500 and whole[:20] == _names(hits)
    assert _paged(query, 7, 500, boosts=boosts, exact=exact) == whole
    unboosted = _paged(query, 100, 500, exact=exact)
    assert [name for name in whole if name not in (worst, second_worst)] == [
        name for name in unboosted if name != best
    ][:498]


def test_the_window_is_enforced_below_the_view_too(catalogue):
    with pytest.raises(ResultWindowExceeded):
        selectors.search(catalogue[0][0], model_id=MODEL, limit=2, offset=999)


@pytest.mark.django_db(transaction=True)
def test_a_statement_timeout_stops_a_slow_ranking_in_postgresql(client, settings, encoder):
    """A big exact scan with a 1 ms timeout: PostgreSQL cancels it; the API answers a clean 503 JSON error."""
    dim = encoder.dim
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO stickers_sticker (filename, sha256, width, height, title, tags, model_id, image_embedding,
                                          blended_embedding, blend_weight, created, updated)
            SELECT 't' || g || '.png', md5(g::text), 1, 1, '', '{{}}', %s, v, v, %s, now(), now()
            FROM (SELECT g, (SELECT array_agg(random())::vector FROM generate_series(1, {dim}) WHERE g > 0) AS v
                  FROM generate_series(1, 20000) AS g) AS rows""",  # noqa: S608 - dim is an int
            [encoder.model_id, settings.SEARCH_TEXT_WEIGHT],
        )
    settings.SEARCH_STATEMENT_TIMEOUT_MS = 1
    settings.SEARCH_EXACT_MAX_STICKERS = 10**6
    selectors.forget_sizes()
    try:
        with pytest.raises(SearchTimeout):
            selectors.search(np.ones(dim, dtype=np.float32) / np.sqrt(dim), model_id=encoder.model_id, limit=10)
        response = client.get("/api/search/", {"query": "cat"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "search_timeout"
        assert response.json()["error"]["details"] == {"timeout_ms": 1}
        settings.SEARCH_STATEMENT_TIMEOUT_MS = 2000
        assert client.get("/api/search/", {"query": "cat"}).status_code == 200  # the connection is fine
    finally:
        Sticker.objects.all().delete()
