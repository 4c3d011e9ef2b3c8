"""The title/tags blend weight for benchmarks/quality.py: ``score = (1 - w) * image_cos + w * text_cos`` as
search_service ranks, on the held-out Noto halves. Keyword queries (every CLDR keyword of a half; relevant = the
pictures tagged with it; full title/tags) and names with their words hidden (each CLDR name finds its picture,
whose text keeps only the tags that share no word with the name). ``w`` is picked on half A (validation head)
and only then reported on half B (test head).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_training import evaluation, features, sources
from search_service.default_model import build
from search_service.stickers.metadata import metadata_text  # the text search_service embeds per sticker

WEIGHTS = [round(0.1 * i, 1) for i in range(11)]
Scores = dict[str, float]


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def name_queries(towers: features.Towers, cache: Path, items: Sequence[sources.Item]) -> np.ndarray:
    return features.text_feature_matrix(towers, cache, [it.name for it in items])


def metadata_matrix(towers: features.Towers, cache: Path, items: Sequence[sources.Item]) -> np.ndarray:
    """Title/tags vectors, embedded from exactly the text search_service embeds for a sticker."""
    return features.text_feature_matrix(towers, cache, [metadata_text(it.name, list(it.keywords)) for it in items])


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def tags_only_matrix(
    towers: features.Towers, cache: Path, items: Sequence[sources.Item]
) -> tuple[np.ndarray, np.ndarray]:
    """Each picture's text without its title and without every tag that shares a word with the title."""
    texts = [metadata_text("", [k for k in it.keywords if not words(k) & words(it.name)]) for it in items]
    has = np.array([bool(t) for t in texts])
    vecs = np.zeros((len(items), build.EMBED_DIM), np.float32)
    if has.any():
        vecs[has] = features.text_feature_matrix(towers, cache, [t for t in texts if t])
    return vecs, has


def keyword_queries(items: Sequence[sources.Item]) -> tuple[list[str], list[list[int]]]:
    """keyword -> indices of the items tagged with it (case-insensitive)."""
    out: dict[str, set[int]] = {}
    spelling: dict[str, str] = {}
    for i, it in enumerate(items):
        for kw in it.keywords:
            spelling.setdefault(kw.casefold(), kw)
            out.setdefault(kw.casefold(), set()).add(i)
    return [spelling[k] for k in sorted(out)], [sorted(out[k]) for k in sorted(out)]


def keyword_scores(sims: np.ndarray, relevant: list[list[int]]) -> Scores:
    order = np.argsort(-sims, axis=1, kind="stable")
    hits, aps = [], []
    for row, rel in zip(order, relevant, strict=True):
        is_rel = np.isin(row, rel)
        hits.append(bool(is_rel[:10].any()))
        positions = np.flatnonzero(is_rel) + 1
        aps.append(float((np.arange(1, len(positions) + 1) / positions).mean()))
    return {"hit@10": float(np.mean(hits)), "mAP": float(np.mean(aps)), "queries": len(relevant)}


def blend(image_sims: np.ndarray, text_sims: np.ndarray, w: float, has_text: np.ndarray | None = None) -> np.ndarray:
    """search_service's score; stickers without title/tags (has_text False) keep the image score."""
    mixed = (1 - w) * image_sims + w * text_sims
    return mixed if has_text is None else np.where(has_text[None, :], mixed, image_sims)


def name_scores(sims: np.ndarray) -> Scores:
    """Query i's picture is item i: R@10 and mean reciprocal rank."""
    target = sims.diagonal()[:, None]
    ranks = (sims > target).sum(1) + 1 + ((sims == target).sum(1) - 1) / 2  # ties count half
    return {"R@10": float((ranks <= 10).mean()), "MRR": float((1 / ranks).mean())}


def blend_objective(kw: Scores, names: Scores) -> float:
    """What w is picked for: keyword queries (words in the tags) and descriptions not in the tags alike."""
    return (kw["mAP"] + names["MRR"]) / 2


@dataclass
class Half:
    """One Noto half's matrices: image embeddings (by a head), title/tags and tags-only texts, keyword and name
    queries."""

    image: np.ndarray
    meta: np.ndarray
    tags: np.ndarray
    has_tags: np.ndarray
    keyword_queries: np.ndarray
    keyword_relevant: list[list[int]]
    names: np.ndarray

    @classmethod
    def of(cls, pool: evaluation.Pool, head: evaluation.Head, idx: Sequence[int]) -> Half:
        towers, cache = pool.towers, pool.cache
        items = [pool.items[i] for i in idx]
        keywords, relevant = keyword_queries(items)
        tags, has_tags = tags_only_matrix(towers, cache, items)
        return cls(
            head.embed(pool, idx),
            metadata_matrix(towers, cache, items),
            tags,
            has_tags,
            features.text_feature_matrix(towers, cache, keywords),
            relevant,
            name_queries(towers, cache, items),
        )

    def scores(self, w: float) -> tuple[Scores, Scores]:
        """Keyword and name scores at weight w."""
        kq, nq = self.keyword_queries, self.names
        return (
            keyword_scores(blend(kq @ self.image.T, kq @ self.meta.T, w), self.keyword_relevant),
            name_scores(blend(nq @ self.image.T, nq @ self.tags.T, w, self.has_tags)),
        )


@dataclass
class BlendResult:
    best_w: float
    pick: dict[float, tuple[Scores, Scores]]  # half A, validation: (keyword, name) scores per w
    report: dict[float, tuple[Scores, Scores]]  # half B, test


def measure_blend(pool: evaluation.Pool, val_head: evaluation.Head, test_head: evaluation.Head) -> BlendResult:
    half_a, half_b = Half.of(pool, val_head, pool.noto_a), Half.of(pool, test_head, pool.noto_b)
    pick = {w: half_a.scores(w) for w in WEIGHTS}
    best_w = max(WEIGHTS, key=lambda w: blend_objective(*pick[w]))
    return BlendResult(best_w, pick, {w: half_b.scores(w) for w in WEIGHTS})


def blend_lines(result: BlendResult) -> list[str]:
    best_w, report = result.best_w, result.report
    lines = [
        f"Blend (shipped recipe), `score = (1 - w) * image_cos + w * text_cos(title/tags)` as search_service "
        "ranks. Keywords: every CLDR keyword of a Noto half is a query, relevant = the pictures tagged with it, "
        f"full title/tags ({report[0.0][0]['queries']} queries on B). Names, words hidden: each CLDR name is a "
        "query for its picture, whose text keeps only the tags that share no word with the name (none left: "
        "image only). w is picked on half A (validation head) for the mean of keyword mAP and name MRR: "
        f"**w = {best_w}**, then reported on half B (test head).",
        "",
        "| half B (test) | keyword hit@10 | keyword mAP | name, words hidden: R@10 | MRR | goal |",
        "|---|---|---|---|---|---|",
    ]
    for w, label in (
        (0.0, "image only (w = 0)"),
        (best_w, f"**blend, w = {best_w} (chosen)**"),
        (1.0, "title/tags text only (w = 1)"),
    ):
        kw, names = report[w]
        goal = "keyword hit@10 >= 85%" if label.startswith("**") else ""
        lines.append(
            f"| {label} | {pct(kw['hit@10'])} | {pct(kw['mAP'])} | {pct(names['R@10'])} | {names['MRR']:.3f} | {goal} |"
        )

    def cell(kw: Scores, names: Scores) -> str:
        return f"{pct(kw['hit@10'])} / {pct(kw['mAP'])} / {pct(names['R@10'])}"

    return [
        *lines,
        "",
        "Blend weight sweep (keyword hit@10 / keyword mAP / name-with-words-hidden R@10):",
        "",
        "| w | " + " | ".join(str(w) for w in WEIGHTS) + " |",
        "|---|" + "---|" * len(WEIGHTS),
        "| half A, validation (picks w) | " + " | ".join(cell(*result.pick[w]) for w in WEIGHTS) + " |",
        "| half B, test (reported) | " + " | ".join(cell(*report[w]) for w in WEIGHTS) + " |",
    ]
