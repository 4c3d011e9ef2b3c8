"""The reading of a query's words (ranking.lexical): rarity weights, coverage, expansions, emoji, the cache."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from search_service.ranking import lexical
from search_service.ranking.services import search_stickers
from search_service.stickers.services import add_sticker, delete_sticker
from testkit.images import png

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(encoder):
    """Ten stickers tagged "face", one of them also "unicorn"; one "blue whale"."""
    for i in range(10):
        add_sticker(f"face{i}.png", png(i), title=f"face {i}", tags=["face"] + (["unicorn"] if i == 0 else []))
    add_sticker("whale.png", png(20), title="blue whale")


def weights(text: str) -> dict[str, float]:
    """Each word's weight in the lexical score, keyed by the tsquery of its best alternative."""
    return {alternatives[0][0]: alternatives[0][1] for alternatives in lexical.analyse(text, catalogue=11).words}


def lexical_scores(text: str) -> dict[str, float]:
    """Each matching sticker's lexical score, read back from the fused scores (vector ranking alone subtracted)."""
    fused = {hit.filename: hit.score for hit in search_stickers(text, limit=20).hits}
    with override_settings(SEARCH_LEXICAL_WEIGHT=0.0):
        plain = {hit.filename: hit.score for hit in search_stickers(text, limit=20).hits}
    return {name: round((fused[name] - plain[name]) / settings.SEARCH_LEXICAL_WEIGHT, 4) for name in fused}


def test_a_rare_word_outweighs_a_common_one_and_weights_sum_to_one(catalogue):
    found = weights("face unicorn")
    assert set(found) == {"'face' | 'face'", "'unicorn' | 'unicorn'"}
    assert found["'unicorn' | 'unicorn'"] > 3 * found["'face' | 'face'"]
    assert sum(found.values()) == pytest.approx(1.0)
    assert lexical.idf(11, 11) < 0.1 < 2 < lexical.idf(1, 11)


def test_more_of_the_words_score_higher(catalogue):
    scores = lexical_scores("face unicorn")
    assert scores["face0.png"] == pytest.approx(1.0, abs=1e-3)  # both words
    assert all(0 < scores[f"face{i}.png"] < 0.25 for i in range(1, 10))  # the common word only
    assert scores["whale.png"] == 0


def test_words_found_nowhere_are_left_out_and_close_words_stand_in(catalogue):
    assert lexical.analyse("zzzqx", catalogue=11).words == ()
    assert weights("face zzzqx") == {"'face' | 'face'": 1.0}  # the unknown word does not dilute the known one
    (alternatives,) = lexical.analyse("whalr", catalogue=11).words  # a typo (similarity 0.5)
    assert alternatives == (("'whale'", lexical.EXPANSION_WEIGHT),)
    (alternatives,) = lexical.analyse("unic", catalogue=11).words  # a prefix
    assert alternatives == (("'unicorn'", lexical.EXPANSION_WEIGHT),)


def test_query_words_and_emoji():
    assert lexical.query_words("Cats, CATS and dogs_2 ok") == ["cats", "and", "dogs", "2", "ok"]
    assert lexical.expand_emoji("party 🎉🇫🇷!") == "party party popper flag: France !"
    assert lexical.expand_emoji("plain text") == "plain text"
    assert lexical.expand_emoji("❤️") == lexical.expand_emoji("❤") == "red heart"  # presentation selector dropped


def test_the_analysis_is_cached_until_the_index_changes(catalogue, django_assert_num_queries):
    first = lexical.analyse("face unicorn", catalogue=11)
    with django_assert_num_queries(0):
        assert lexical.analyse("face unicorn", catalogue=11) == first
    delete_sticker("face0.png")  # the only unicorn: an index change forgets the analysis
    assert len(lexical.analyse("face unicorn", catalogue=10).words) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM stickers_lexiconword WHERE word = 'unicorn'")
        assert cursor.fetchone()[0] == 0
