"""Words and meaning together, with the real default model on real demo stickers (issue 22): a title/tag word
outranks closer vector-only neighbours, typos and prefixes, emoji queries, plurals, several words, image-only
stickers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

import search_service
from search_service.encoders import loader
from search_service.ranking.lexical import EXPANSION_WEIGHT, expand_emoji
from search_service.ranking.selectors import Hit
from search_service.ranking.services import search_stickers
from search_service.stickers.images import decode_image
from search_service.stickers.services import StickerInput, store_stickers
from testkit.memo_encoder import MemoEncoder

pytestmark = pytest.mark.django_db
DEMO = Path(search_service.__file__).parent / "demo_stickers"
META = json.loads((DEMO / "metadata.json").read_text(encoding="utf-8"))
# The stickers these tests are about, and every 40th demo sticker as the rest of the catalogue.
NAMED = [
    "birthday-cake.png", "cupcake.png", "shortcake.png", "party-popper.png", "balloon.png", "wrapped-gift.png",
    "confetti-ball.png", "cat.png", "cat-face.png", "black-cat.png", "dog.png", "tiger.png", "lion.png",
    "smiling-cat-with-heart-eyes.png", "smiling-face-with-heart-eyes.png", "red-heart.png", "eyes.png",
]  # fmt: skip
NAMES = sorted(set(NAMED) | set(sorted(META)[::40]))
IMAGE_ONLY = {"untitled-cat.png": "cat.png", "untitled-cupcake.png": "cupcake.png"}  # copies without title/tags


@pytest.fixture(scope="module")
def default_encoder(encoder):
    """The shipped default model (real towers), memoised: each image and text is encoded once per module."""
    with override_settings(SEARCH_MODEL_NAME="", SEARCH_MODEL_PRETRAINED=""):
        real = MemoEncoder(loader.load_encoder())
    previous = loader.get_encoder()
    loader.set_encoder(real)
    yield real
    loader.set_encoder(previous)


def _image(name: str):
    return decode_image((DEMO / name).read_bytes(), max_pixels=settings.SEARCH_MAX_IMAGE_PIXELS)


@pytest.fixture
def demo(default_encoder):
    items = [StickerInput(name, _image(name), None, META[name]["title"], META[name]["tags"]) for name in NAMES]
    items += [StickerInput(name, _image(source), None) for name, source in IMAGE_ONLY.items()]
    store_stickers(items, encoder=default_encoder)


def ranked(query: str, limit: int = 30) -> list[str]:
    return [hit.filename for hit in search_stickers(query, limit=limit).hits]


def holds(name: str, word: str) -> bool:
    meta = META.get(name, {"title": "", "tags": []})
    return word in (meta["title"] + " " + " ".join(meta["tags"])).split()


def vector_only(query: str, limit: int = 30) -> list[Hit]:
    with override_settings(SEARCH_LEXICAL_WEIGHT=0.0):
        return search_stickers(query, limit=limit).hits


def test_a_title_word_outranks_closer_vector_only_neighbours(demo):
    """For "cats", every sticker holding "cat" comes first (plural and singular match), though the vector ranking
    alone puts the dog above the black cat; then the rest, image-only cat included, by their vector score."""
    holders = {name for name in NAMES if holds(name, "cat")}
    assert len(holders) >= 4
    plain = [hit.filename for hit in vector_only("cats")]
    assert plain.index("dog.png") < plain.index("black-cat.png")
    fused = ranked("cats")
    assert set(fused[: len(holders)]) == holders
    assert fused.index("black-cat.png") < fused.index("dog.png")
    assert fused[len(holders) :] == [name for name in plain if name not in holders][: 30 - len(holders)]


def test_scores_add_the_weighted_lexical_score_and_zero_turns_it_off(demo, settings):
    plain = {hit.filename: hit.score for hit in vector_only("cat")}
    fused = {hit.filename: hit.score for hit in search_stickers("cat", limit=30).hits}
    for name, score in fused.items():
        lexical = 1.0 if holds(name, "cat") else 0.0
        assert score == pytest.approx(plain[name] + settings.SEARCH_LEXICAL_WEIGHT * lexical, abs=1e-5)


@pytest.mark.parametrize(
    ("query", "sticker", "lexical"),
    [
        ("birthdy", "birthday-cake.png", EXPANSION_WEIGHT),  # a typo: trigram similarity to "birthday"
        ("cupc", "cupcake.png", EXPANSION_WEIGHT),  # a prefix of "cupcake"
        ("cupcak", "cupcake.png", 1.0),  # "cupcak" is the English stem of "cupcake": an exact match
    ],
)
def test_typos_and_prefixes_find_the_word_at_a_lower_weight(demo, settings, query, sticker, lexical):
    """The sticker holding the word gets the lexical part at its weight (the vector ranking alone puts the prince
    first for "birthdy"), and comes first."""
    plain = {hit.filename: hit.score for hit in vector_only(query)}
    hits = search_stickers(query, limit=30).hits
    assert hits[0].filename == sticker
    assert hits[0].score == pytest.approx(plain[sticker] + settings.SEARCH_LEXICAL_WEIGHT * lexical, abs=1e-5)


def test_an_emoji_query_is_searched_by_its_cldr_name(demo):
    assert expand_emoji("🎂") == "birthday cake"
    assert expand_emoji("👍🏽 ok") == "thumbs up ok"  # skin tone dropped
    cake = search_stickers("🎂", limit=10).hits
    assert cake[0].filename == "birthday-cake.png"
    assert cake == search_stickers("birthday cake", limit=10).hits


def test_stickers_holding_more_of_the_words_rank_higher(demo):
    """For "heart eyes" the vector ranking alone puts "eyes" and "red heart" (one word each) first; both stickers
    holding both words go above them."""
    plain = [hit.filename for hit in vector_only("heart eyes")]
    assert plain[:2] == ["eyes.png", "red-heart.png"]
    fused = ranked("heart eyes")
    both = {"smiling-cat-with-heart-eyes.png", "smiling-face-with-heart-eyes.png"}
    assert set(fused[:2]) == both
    assert set(fused[2:4]) == {"eyes.png", "red-heart.png"}


def test_image_only_stickers_are_still_found(demo):
    """The copies of the cat and the cupcake without title or tags are found by their image alone (score: the
    image cosine), right after the stickers that hold the word."""
    for query, copy in [("cat", "untitled-cat.png"), ("cupcake", "untitled-cupcake.png")]:
        hits = search_stickers(query, limit=10).hits
        assert copy in [hit.filename for hit in hits], query
        plain = {hit.filename: hit.score for hit in vector_only(query)}
        assert next(hit.score for hit in hits if hit.filename == copy) == pytest.approx(plain[copy], abs=1e-6)
