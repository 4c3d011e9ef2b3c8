"""Stable pages with the full text fused in (issue 22): on the 1,846 demo stickers' real titles and tags and on
100,000 synthetic stickers carrying them, pages of 7, 20 and 100 are slices of one ranking up to the 1,000 window,
on the HNSW and the exact path, with and without boosts; the exact path is the exact fused ranking.

The vectors are synthetic (one direction per demo sticker plus noise: titles and vectors agree roughly, as with a
real model); the words are the demo stickers' CLDR titles and tags, so common words ("face") match far more
stickers than SEARCH_LEXICAL_MAX_MATCHES at 100k (common: they count within the vector stream's first
SEARCH_LEXICAL_NEAREST only).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.db import connection

import search_service
from search_service.ranking import lexical, selectors
from search_service.stickers.blending import blend
from search_service.stickers.vector_index import ensure_vector_indexes
from testkit.halfvec import assert_exact_ranking, halfvec_scores

pytestmark = pytest.mark.django_db
MODEL, DIM = "fused-pages-test-model", 16
META = json.loads((Path(search_service.__file__).parent / "demo_stickers" / "metadata.json").read_text("utf-8"))
NAMES = sorted(META)
QUERIES = [("face", 17), ("cats", 250), ("heart eyes", 1400), ("birthdy", 120), ("zzzqx", 3)]  # words, seed sticker


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _array(values: list[str]) -> str:
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _vector(v: np.ndarray) -> str:
    # 9 digits: the float32 values exactly (with fewer, a component near a float16 rounding boundary could land on
    # the other side in the halfvec cast, and the score differ from the numpy one by a float16 step).
    return "[" + ",".join(f"{x:.9g}" for x in v) + "]"


def load(count: int, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """``count`` stickers, the i-th with demo sticker i % 1846's title and tags, written with COPY (the generated
    column and the lexicon's triggers run as for any write); returns (seed directions, blended vectors)."""
    rng = np.random.default_rng(22)
    seeds = _normalise(rng.standard_normal((len(NAMES), DIM)))
    pick = np.arange(count) % len(NAMES)
    image = _normalise(seeds[pick] + 0.35 * rng.standard_normal((count, DIM)))
    text = _normalise(seeds[pick] + 0.35 * rng.standard_normal((count, DIM)))
    blended = np.stack([blend(image[i], text[i], weight) for i in range(count)])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for i in range(count):
        meta = META[NAMES[pick[i]]]
        vectors = [_vector(image[i]), _vector(text[i]), _vector(blended[i])]
        row = [f"f{i:06d}.png", "0" * 64, 1, 1, meta["title"], _array(meta["tags"]), MODEL, *vectors]
        writer.writerow([*row, weight, "2026-01-01", "2026-01-01"])
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            "COPY stickers_sticker (filename, sha256, width, height, title, tags, model_id, image_embedding, "
            "text_embedding, blended_embedding, blend_weight, created, updated) FROM STDIN WITH (FORMAT csv)",
            buffer,
        )
        cursor.execute("ANALYZE stickers_sticker")
    ensure_vector_indexes(MODEL, DIM)
    return seeds, blended


def _paged(query, size, words, total=1000, **kwargs) -> list[str]:
    names: list[str] = []
    for offset in range(0, total, size):
        hits = selectors.search(
            query, model_id=MODEL, limit=min(size, total - offset), offset=offset, lexical=words, **kwargs
        )
        names += [hit.filename for hit in hits]
    return names


def _check_pages(seeds, catalogue: int, exact: bool, sizes=(100, 20, 7)) -> None:
    rng = np.random.default_rng(5)
    for text, seed in QUERIES:
        query = _normalise(seeds[seed : seed + 1] + 0.3 * rng.standard_normal((1, DIM)))[0]
        words = lexical.analyse(text, catalogue=catalogue)
        whole = [
            hit.filename for hit in selectors.search(query, model_id=MODEL, limit=1000, lexical=words, exact=exact)
        ]
        assert len(whole) == len(set(whole)) == 1000, text
        for size in sizes:
            assert _paged(query, size, words, exact=exact) == whole, (text, size)
        boosts = [(whole[-1], 0.2), (whole[0], -0.2), ("f000005.png", 0.1)]
        boosted = _paged(query, 100, words, boosts=boosts, exact=exact)
        assert boosted[:400] == _paged(query, 7, words, total=400, boosts=boosts, exact=exact), text


@pytest.mark.parametrize("exact", [False, True], ids=["hnsw", "exact"])
def test_fused_pages_are_one_ranking_on_the_demo_titles(settings, exact):
    seeds, _ = load(len(NAMES), settings.SEARCH_TEXT_WEIGHT)
    _check_pages(seeds, len(NAMES), exact)


def test_the_exact_path_is_the_exact_fused_ranking(settings):
    seeds, blended = load(len(NAMES), settings.SEARCH_TEXT_WEIGHT)
    query = seeds[17]
    words = lexical.analyse("face", catalogue=len(NAMES))
    with connection.cursor() as cursor:  # "face", "faces", "facing" (English stems) or "face-..." (hyphenated)
        cursor.execute("SELECT filename FROM stickers_sticker WHERE search_tsv @@ %s::tsquery", [words.words[0][0][0]])
        held = {row[0] for row in cursor.fetchall()}
    holders = np.array([f"f{i:06d}.png" in held for i in range(len(NAMES))])
    assert 20 < holders.sum() < settings.SEARCH_LEXICAL_MAX_MATCHES
    scores = halfvec_scores(blended, query) + settings.SEARCH_LEXICAL_WEIGHT * holders
    hits = selectors.search(query, model_id=MODEL, limit=1000, lexical=words, exact=True)
    assert_exact_ranking([int(hit.filename[1:7]) for hit in hits], scores)
    for hit in hits[:50]:
        assert hit.score == pytest.approx(float(scores[int(hit.filename[1:7])]), abs=1e-5)


def test_fused_pages_are_one_ranking_at_100k(settings):
    """Common words match thousands of stickers here: they count only within the stream's first
    SEARCH_LEXICAL_NEAREST (read deeper for the deeper pages of 100), the same set for every page."""
    settings.SEARCH_HNSW_M, settings.SEARCH_HNSW_EF_CONSTRUCTION = 8, 32  # a faster build; pages do not need recall
    seeds, _ = load(100_000, settings.SEARCH_TEXT_WEIGHT)
    with connection.cursor() as cursor:
        cursor.execute("SELECT documents FROM stickers_lexiconword WHERE word = 'face'")
        assert cursor.fetchone()[0] > 5 * settings.SEARCH_LEXICAL_MAX_MATCHES
    _check_pages(seeds, 100_000, exact=False, sizes=(100, 7))


def test_a_common_word_raises_the_nearest_of_its_holders_at_100k(settings):
    """The word "face" is held by thousands of stickers at 100k (more than SEARCH_LEXICAL_MAX_MATCHES): its bonus
    goes to the holders among the vector ranking's first SEARCH_LEXICAL_NEAREST, so the top is the face stickers
    nearest the query (a first version gave it to the 500 holders with the lowest ids)."""
    settings.SEARCH_HNSW_M, settings.SEARCH_HNSW_EF_CONSTRUCTION = 8, 32
    seeds, blended = load(100_000, settings.SEARCH_TEXT_WEIGHT)
    query = seeds[17]
    words = lexical.analyse("face", catalogue=100_000)
    assert words.documents[0] > settings.SEARCH_LEXICAL_MAX_MATCHES and not words.rare(
        settings.SEARCH_LEXICAL_MAX_MATCHES
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT filename FROM stickers_sticker WHERE search_tsv @@ %s::tsquery", [words.words[0][0][0]])
        held = {row[0] for row in cursor.fetchall()}
    vector = halfvec_scores(blended, query)
    holders = np.array([f"f{i:06d}.png" in held for i in range(100_000)])
    hits = selectors.search(query, model_id=MODEL, limit=10, lexical=words, exact=True)
    # The top 10 of the fused scores where only holders carry the bonus: the holders nearest the query.
    fused = vector + settings.SEARCH_LEXICAL_WEIGHT * holders
    assert_exact_ranking([int(hit.filename[1:7]) for hit in hits], fused)
    assert all(holders[int(hit.filename[1:7])] for hit in hits)
    for hit in hits:
        index = int(hit.filename[1:7])
        assert hit.score == pytest.approx(float(vector[index]) + settings.SEARCH_LEXICAL_WEIGHT, abs=1e-5)
