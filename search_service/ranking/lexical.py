"""The words of a query, as the full-text part of the ranking reads them (docs/ranking.md, "Words and meaning").

* Emoji typed in the query become their CLDR names ("🎂" -> "birthday cake", :func:`expand_emoji`); the text
  tower encodes that text too.
* Each word (letters and digits, lower-cased, at most :data:`MAX_WORDS` distinct) matches a sticker when its
  English stem or the word itself is in the sticker's ``search_tsv`` ("cats" finds "cat", "Café" finds "café").
* A word found in no title or tag (none of its forms in the lexicon) stands for the lexicon's words that are at
  least SEARCH_LEXICAL_TYPO_SIMILARITY alike (pg_trgm) or start with it (3+ letters), the closest
  :data:`MAX_EXPANSIONS`, at :data:`EXPANSION_WEIGHT` of an exact match ("birthdy" -> birthday, "cupc" ->
  cupcake; "cupcak" needs none: it is the English stem of "cupcake"). A word with neither is left out.
* Rarity: each word weighs its BM25 idf, ``ln(1 + (N - df + 0.5) / (df + 0.5))`` (N stickers in the catalogue,
  df those holding the word, from the lexicon's document counts), the weights scaled to sum to 1. A sticker's
  lexical score is the sum of the weights of the words it holds (an expansion counts EXPANSION_WEIGHT of its
  word's): 1 when it holds every word, more of the query's words give more, a rare word counts more than a
  common one.

The analysis (one round trip to the lexicon) is cached per text and index version, like search results.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connections

from search_service.core.db_router import read_alias
from search_service.stickers.models import LexiconWord
from search_service.stickers.signals import index_changed
from servicekit.caching import LRU

from . import result_cache

MAX_WORDS = 16  # distinct words of a query that count (a query is at most a few hundred characters)
MAX_EXPANSIONS = 3  # lexicon words that stand in for one word found nowhere
EXPANSION_WEIGHT = 0.5  # of an exact match, for a word that stands in for a misspelt or cut-short one
ANALYSIS_TTL = 60.0  # seconds an analysis is reused when other processes may have changed the index
EMOJI_NAMES = Path(__file__).with_name("emoji_names.json")  # written by python -m model_training.emoji_names
_WORD = re.compile(r"[^\W_]+")
_IGNORED = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")  # emoji presentation selector, skin tones
LEXICON = LexiconWord._meta.db_table


@cache
def _emoji_names() -> tuple[dict[str, str], int]:
    names = json.loads(EMOJI_NAMES.read_text(encoding="utf-8"))["names"]
    return names, max(map(len, names))


def expand_emoji(text: str) -> str:
    """``text`` with each emoji (longest sequence first, tones and presentation selectors dropped) replaced by
    its CLDR name; text without emoji comes back unchanged."""
    if text.isascii():
        return text
    names, longest = _emoji_names()
    text = _IGNORED.sub("", text)
    parts, i = [], 0
    while i < len(text):
        for size in range(min(longest, len(text) - i), 0, -1):
            name = names.get(text[i : i + size])
            if name is not None:
                parts.append(f" {name} ")
                i += size
                break
        else:
            parts.append(text[i])
            i += 1
    return " ".join("".join(parts).split())


def query_words(text: str) -> list[str]:
    """The distinct words of ``text`` (lower-cased, first :data:`MAX_WORDS`, in order)."""
    return list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:MAX_WORDS]


@dataclass(frozen=True)
class LexicalQuery:
    """Per query word, its alternatives best first: (tsquery text, weight); the weights of a sticker's best
    alternative per word add up to its lexical score (0..1). No words: nothing to match (vector ranking only)."""

    words: tuple[tuple[tuple[str, float], ...], ...]
    # Per word, the stickers holding one of its alternatives (the lexicon's document counts; an upper bound).
    documents: tuple[int, ...] = ()

    def rare(self, max_matches: int) -> str:
        """One tsquery matching the stickers that hold an alternative of a word held by at most ``max_matches``
        stickers (for the GIN index); empty when every word is more common than that."""
        return " | ".join(
            f"( {tsquery} )"
            for alternatives, documents in zip(self.words, self.documents, strict=True)
            if documents <= max_matches
            for tsquery, _ in alternatives
        )

    def all_rare(self, max_matches: int) -> bool:
        """Whether :meth:`rare` matches every sticker that holds any of the words."""
        return all(documents <= max_matches for documents in self.documents)


def idf(documents: int, catalogue: int) -> float:
    """BM25's idf: a word in every sticker weighs ~0, one in half of them ~0.69, one in a single sticker of 2,000
    ~7.2."""
    df = min(max(documents, 0), catalogue)
    return math.log(1.0 + (catalogue - df + 0.5) / (df + 0.5))


_ANALYSIS = f"""
    SELECT set_config('pg_trgm.similarity_threshold', %(similarity)s, true);
    WITH words AS (
        SELECT w.word, w.position, plainto_tsquery('english', w.word) || plainto_tsquery('simple', w.word) AS forms
        FROM unnest(%(words)s::text[]) WITH ORDINALITY AS w (word, position)
    ), exact AS (
        SELECT w.*, (SELECT coalesce(sum(l.documents), 0) FROM {LEXICON} l WHERE l.forms @@ w.forms) AS documents
        FROM words w
    )
    SELECT e.position, e.forms::text, e.documents, x.forms::text, x.documents
    FROM exact e LEFT JOIN LATERAL (
        SELECT plainto_tsquery('simple', l.word) AS forms, l.documents
        FROM {LEXICON} l
        WHERE e.documents = 0 AND (l.word %% e.word OR (length(e.word) >= 3 AND l.word LIKE e.word || '%%'))
        ORDER BY l.word LIKE e.word || '%%' DESC, similarity(l.word, e.word) DESC, l.word
        LIMIT {MAX_EXPANSIONS}
    ) x ON true
    ORDER BY e.position, x.documents DESC NULLS LAST
"""  # noqa: S608 - table names and constants only; the words travel as parameters


def _analyse(words: list[str], catalogue: int) -> LexicalQuery:
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(_ANALYSIS, {"words": words, "similarity": str(settings.SEARCH_LEXICAL_TYPO_SIMILARITY)})
        rows = cursor.fetchall()
    found: dict[int, tuple[list[tuple[str, float]], int]] = {}  # position -> (alternatives, documents)
    for position, forms, documents, expansion, expansion_documents in rows:
        if documents:
            found[position] = ([(forms, 1.0)], documents)
        elif expansion is not None:
            alternatives, seen = found.get(position, ([], 0))
            found[position] = ([*alternatives, (expansion, EXPANSION_WEIGHT)], seen + expansion_documents)
    weights = {position: idf(documents, catalogue) for position, (_, documents) in found.items()}
    total = sum(weights.values()) or 1.0
    return LexicalQuery(
        tuple(
            tuple((forms, weight * weights[position] / total) for forms, weight in alternatives)
            for position, (alternatives, _) in sorted(found.items())
        ),
        tuple(documents for _, (_, documents) in sorted(found.items())),
    )


_analyses: LRU[tuple, LexicalQuery] = LRU(1024, ttl=ANALYSIS_TTL)


def forget_analyses(**_signal_kwargs) -> None:
    _analyses.clear()


index_changed.connect(forget_analyses, dispatch_uid="ranking.lexical.forget_analyses")


def analyse(text: str, *, catalogue: int) -> LexicalQuery:
    """The full-text reading of ``text`` (emoji already expanded) for a catalogue of ``catalogue`` stickers (no
    words when none is in any title or tag, nor close to one). Cached per (text, index version)."""
    words = query_words(text)
    if not words or catalogue <= 0:
        return LexicalQuery(())
    cache = result_cache.shared()
    version = cache.index_version.current() if cache is not None else None
    key = (tuple(words), version, catalogue, settings.SEARCH_LEXICAL_TYPO_SIMILARITY)
    return _analyses.get_or_compute(key, lambda: _analyse(words, catalogue))[0]
