"""benchmarks/relevance.py's held-out keyword split: a keyword is indexed as a tag or asked as a query, never both;
the validation and test halves share no query; the split is the same on every run."""

from __future__ import annotations

import pytest

from benchmarks import relevance_split
from benchmarks.relevance_split import make_split
from model_training import sources

pytestmark = pytest.mark.repository

TITLES = {"a.png": "cat face", "b.png": "dog", "c.png": "cat", "d.png": "tiger"}
KEYWORDS = {
    "a.png": ["cat face", "Cat", "pet", "whiskers", "face"],
    "b.png": ["dog", "pet", "Face", "puppy", "woof"],
    "c.png": ["cat", "pet", "whiskers", "meow"],
    "d.png": ["tiger", "big cat", "stripes", "whiskers"],
}


def assert_never_both(split: relevance_split.Split) -> None:
    queries = [query.text for query in split.validation + split.test]
    indexed = {tag.casefold() for tags in split.tags.values() for tag in tags}
    titles = {title.casefold() for title in split.titles.values()}
    assert len(queries) == len(set(queries))
    assert not set(queries) & indexed, "a held-out keyword is indexed as a tag"
    assert not set(queries) & titles, "a held-out keyword is a title"
    assert not {q.text for q in split.validation} & {q.text for q in split.test}


@pytest.mark.parametrize("seed", range(20))
def test_a_keyword_is_held_out_everywhere_or_nowhere(seed):
    split = make_split(TITLES, KEYWORDS, seed=seed)
    assert_never_both(split)
    for query in split.validation + split.test:
        assert query.relevant == {name for name, listed in KEYWORDS.items() if query.text in map(str.casefold, listed)}
    assert "cat" not in {q.text for q in split.validation + split.test}  # the title of c.png


def test_groups_follow_the_indexed_words():
    """'big cat' held out: its words are in no relevant sticker's title or tags (d.png: tiger); 'face' held out:
    the word is in a.png's title."""
    asked = [q for seed in range(50) for q in make_split(TITLES, KEYWORDS, seed=seed).validation if q.text == "big cat"]
    assert asked
    assert all(query.relevant == {"d.png"} and query.group == "absent" for query in asked)
    face = [q for seed in range(50) for q in make_split(TITLES, KEYWORDS, seed=seed).validation if q.text == "face"]
    assert face
    assert all(query.relevant == {"a.png", "b.png"} and query.group == "present" for query in face)  # a's title


@pytest.mark.skipif(
    not (sources.CLDR_DIR / "annotations" / "en.xml").exists(), reason="no CLDR annotations (unicode-cldr-core)"
)
def test_the_demo_split_never_indexes_a_query_and_is_the_same_every_run():
    split = relevance_split.demo_split()
    assert_never_both(split)
    assert split == relevance_split.demo_split()
    assert min(len(split.validation), len(split.test)) > 300
    assert {q.group for q in split.validation} == {"present", "absent"}
