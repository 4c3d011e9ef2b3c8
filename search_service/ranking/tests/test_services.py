"""The ranking services called directly (real database, the test model): search_stickers and similar_stickers."""

from __future__ import annotations

import numpy as np
import pytest

from search_service.adapters.models import QueryAdapter
from search_service.adapters.residual import Residual
from search_service.encoders import loader
from search_service.ranking import result_cache
from search_service.ranking.errors import MAX_RESULT_WINDOW, ResultWindowExceeded
from search_service.ranking.services import search_stickers, similar_stickers
from search_service.stickers.errors import ModelMismatch, UnknownSticker
from search_service.stickers.models import Sticker
from search_service.stickers.services import add_sticker
from testkit.images import image_bytes, make_image, png

pytestmark = pytest.mark.django_db

TITLES = {0: ("red ball", ["ball", "red"]), 1: ("green box", []), 2: ("", ["blue"]), 3: ("", [])}


@pytest.fixture
def stickers(encoder):
    for i, (title, tags) in TITLES.items():
        add_sticker(f"s{i}.png", png(i), title=title, tags=tags)
    return {s.filename: s for s in Sticker.objects.all()}


def blend(vector, sticker, weight: float) -> float:
    image = float(np.dot(vector, sticker.image_embedding))
    if sticker.text_embedding is None:
        return image
    return (1 - weight) * image + weight * float(np.dot(vector, sticker.text_embedding))


def fused(vector, sticker, settings) -> float:
    """The blend plus the full-text part for "a red ball": s0 holds both of its words found in any title or tag."""
    lexical = 1.0 if sticker.filename == "s0.png" else 0.0
    return blend(vector, sticker, settings.SEARCH_TEXT_WEIGHT) + settings.SEARCH_LEXICAL_WEIGHT * lexical


def test_search_ranks_every_sticker_by_the_fused_score(stickers, encoder, settings):
    result = search_stickers("a red ball", limit=10)
    assert (result.model, result.adapter_version) == (encoder.model_id, 0)
    query = encoder.encode_texts(["a red ball"])[0]
    expected = {name: fused(query, sticker, settings) for name, sticker in stickers.items()}
    assert [hit.filename for hit in result.hits] == sorted(expected, key=lambda name: -expected[name])
    for hit in result.hits:
        assert hit.score == pytest.approx(expected[hit.filename], abs=1e-4)
        assert hit.title == stickers[hit.filename].title
    assert [hit.filename for hit in search_stickers("a red ball", limit=2, offset=1).hits] == [
        hit.filename for hit in result.hits[1:3]
    ]


def test_a_boost_lifts_its_sticker_by_at_most_the_cap(stickers, settings):
    settings.SEARCH_BOOST_MAX = 2.0
    plain = search_stickers("a red ball", limit=4).hits
    last = plain[-1]
    boosted = search_stickers("a red ball", limit=4, boosts=[(last.filename, 50.0), ("unknown.png", 1.0)]).hits
    assert boosted[0].filename == last.filename
    assert boosted[0].score == pytest.approx(last.score + 2.0, abs=1e-5)
    assert [hit.filename for hit in boosted[1:]] == [hit.filename for hit in plain[:-1]]


def test_past_the_window_is_refused_before_the_text_is_encoded(encoder):
    misses = loader.query_vectors.misses
    with pytest.raises(ResultWindowExceeded) as refused:
        search_stickers("cat", limit=10, offset=MAX_RESULT_WINDOW - 9)
    assert refused.value.details == {"offset": 991, "limit": 10, "max_result_window": 1000}
    assert loader.query_vectors.misses == misses  # no lookup of the text, so no encoding
    assert search_stickers("cat", limit=10, offset=MAX_RESULT_WINDOW - 10).hits == []


def test_the_served_adapter_moves_the_query_and_is_named_in_the_result(stickers, encoder, settings):
    residual = Residual.identity(encoder.dim, 8, seed=1)
    up = np.random.default_rng(1).standard_normal((8, encoder.dim)).astype(np.float32)
    adapter = QueryAdapter.objects.create(
        model_id=encoder.model_id, dim=encoder.dim, rank=8, weights=Residual(residual.down, up).to_bytes()
    )
    result = search_stickers("a red ball", limit=10)
    assert result.adapter_version == adapter.pk
    moved = Residual(residual.down, up).apply(loader.embed_query("a red ball"))
    for hit in result.hits:
        assert hit.score == pytest.approx(fused(moved, stickers[hit.filename], settings), abs=1e-4)


def test_a_repeated_search_comes_from_the_result_cache(stickers, settings, django_assert_num_queries):
    settings.SEARCH_RESULT_CACHE_TTL = 60
    first = search_stickers("a red ball", limit=3)
    with django_assert_num_queries(0):
        assert search_stickers("a red ball", limit=3) == first
    assert result_cache.results.hits == 1
    with django_assert_num_queries(1):  # other boosts: another ranking
        search_stickers("a red ball", limit=3, boosts=[("s3.png", 0.1)])


def test_another_models_index_is_refused(stickers, encoder):
    Sticker.objects.filter(filename="s3.png").update(model_id="ViT-L-14/openai")
    with pytest.raises(ModelMismatch):
        search_stickers("cat", limit=5)
    with pytest.raises(ModelMismatch):
        similar_stickers("s0.png", limit=5)


def test_similar_finds_the_near_duplicate_and_leaves_the_sticker_out(stickers, encoder):
    near = make_image(0)
    near.putpixel((0, 0), (0, 0, 0))  # one pixel differs from s0
    add_sticker("s0-copy.png", image_bytes(near))
    result = similar_stickers("s0.png", limit=10)
    assert result.model == encoder.model_id
    assert result.hits[0].filename == "s0-copy.png" and result.hits[0].score > 0.99
    assert {hit.filename for hit in result.hits} == set(stickers) - {"s0.png"} | {"s0-copy.png"}
    with pytest.raises(UnknownSticker):
        similar_stickers("nope.png", limit=3)
