"""The held-out keyword split of ``benchmarks.relevance`` (no database, no model): which CLDR keywords of the demo
stickers are indexed as tags, which are held out as queries, the validation and test halves of the queries, the
stickers relevant to each and its group.

* Full keyword list of a sticker: its emoji's CLDR keywords (``model_training.sources.load_cldr``, Debian's
  ``unicode-cldr-core``), found by the sticker's title (its CLDR name).
* Every distinct keyword (case-folded) is either indexed (a tag of every sticker whose list holds it, except the
  sticker whose title it is, as ``model_training.demo`` writes the tags) or held out (a query, a tag of no
  sticker): never both. Which, is drawn once per keyword from ``seed`` in sorted order; a keyword that is some
  sticker's title is always indexed (by that title).
* Relevant to a query: the stickers whose full keyword list holds it.
* Group ``present``: every word of the query is a word of some relevant sticker's indexed title or tags; else
  ``absent`` (some word of the query is in none of them: the meaning must find those). Keywords without a word
  character ("+") are not asked.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from model_training import sources

DEMO_METADATA = Path(__file__).resolve().parents[1] / "search_service" / "demo_stickers" / "metadata.json"
SEED = 22
HELD_OUT_SHARE = 0.5  # of the distinct keywords


@dataclass(frozen=True)
class Query:
    text: str
    relevant: frozenset[str]  # filenames
    group: str  # "present" or "absent"


@dataclass(frozen=True)
class Split:
    titles: dict[str, str]  # filename -> title (its CLDR name)
    tags: dict[str, list[str]]  # filename -> indexed tags
    validation: list[Query]
    test: list[Query]
    keywords: int  # distinct keywords (case-folded), held out or indexed

    def half(self, name: str) -> list[Query]:
        return {"validation": self.validation, "test": self.test}[name]


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def full_keywords(cldr_dir: Path = sources.CLDR_DIR) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(filename -> title, filename -> its emoji's CLDR keywords) of the demo stickers."""
    if not (cldr_dir / "annotations" / "en.xml").exists():
        raise SystemExit(f"No CLDR annotations in {cldr_dir}: install Debian's unicode-cldr-core (apt-get install).")
    by_name = {annotation.name: annotation for annotation in sources.load_cldr(cldr_dir).values()}
    meta = json.loads(DEMO_METADATA.read_text(encoding="utf-8"))
    titles = {name: entry["title"] for name, entry in meta.items()}
    missing = sorted(title for title in titles.values() if title not in by_name)
    if missing:
        raise SystemExit(f"{len(missing)} demo titles are not CLDR names of these annotations, e.g. {missing[:3]}")
    return titles, {name: list(by_name[title].keywords) for name, title in titles.items()}


def held_out_keywords(titles: dict[str, str], keywords: dict[str, list[str]], seed: int = SEED) -> set[str]:
    """The case-folded keywords held out as queries: each distinct keyword drawn once, in sorted order, except the
    keywords that are some sticker's title (indexed by that title, they cannot be held out)."""
    rng = random.Random(seed)
    distinct = sorted({keyword.casefold() for listed in keywords.values() for keyword in listed})
    named = {title.casefold() for title in titles.values()}
    return {keyword for keyword in distinct if rng.random() < HELD_OUT_SHARE and keyword not in named}


def make_split(titles: dict[str, str], keywords: dict[str, list[str]], seed: int = SEED) -> Split:
    held_out = held_out_keywords(titles, keywords, seed)
    tags = {
        name: [k for k in listed if k.casefold() not in held_out and k.casefold() != titles[name].casefold()]
        for name, listed in keywords.items()
    }
    indexed_words = {name: words(" ".join([titles[name], *tags[name]])) for name in titles}
    holders: dict[str, set[str]] = {}
    for name, listed in keywords.items():
        for keyword in listed:
            holders.setdefault(keyword.casefold(), set()).add(name)
    queries = []
    for text in sorted(held_out):
        if not words(text):  # "+", "=": no word to search for
            continue
        relevant = frozenset(holders[text])
        present = any(words(text) <= indexed_words[name] for name in relevant)
        queries.append(Query(text, relevant, "present" if present else "absent"))
    random.Random(seed + 1).shuffle(queries)
    middle = len(queries) // 2
    halves = sorted(queries[:middle], key=_text), sorted(queries[middle:], key=_text)
    return Split(titles, tags, *halves, keywords=len(holders))


def _text(query: Query) -> str:
    return query.text


def demo_split(seed: int = SEED) -> Split:
    return make_split(*full_keywords(), seed=seed)
