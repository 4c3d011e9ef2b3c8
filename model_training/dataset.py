"""The training set of a head: items (from ``sources``), their prompts and concepts, and their cached features
(``features``); the group split and the concept filter that keep held-out concepts out of training."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import features, sources


@dataclass
class Dataset:
    items: list[sources.Item]
    image_feats: list[np.ndarray]  # one (N, 1280) matrix per variant
    prompt_ids: list[list[int]]  # per item, indices into texts
    texts: list[str]
    text_feats: np.ndarray  # (T, 384), normalised
    concepts: np.ndarray  # (N,) int: items with the same concept are positives of each other
    category_ids: np.ndarray  # (N,) int: index into texts of the item's category, -1 when it has none


def text_table(items: Sequence[sources.Item]) -> tuple[list[str], list[list[int]], np.ndarray, np.ndarray]:
    """(texts, prompt ids per item, category text id per item or -1, concept id per item) of a training set."""
    index: dict[str, int] = {}
    prompt_ids = [[index.setdefault(p, len(index)) for p in it.prompts()] for it in items]
    category_ids = np.array([index.setdefault(it.category, len(index)) if it.category else -1 for it in items])
    keys = {k: i for i, k in enumerate(sorted({concept_key(it) for it in items}))}
    concepts = np.array([keys[concept_key(it)] for it in items])
    return list(index), prompt_ids, category_ids, concepts


def concept_key(item: sources.Item) -> str:
    return item.emoji or "name:" + sources.concept_id(item.name)


def make_dataset(
    towers: features.Towers,
    cache: Path,
    items: Sequence[sources.Item],
    variants: int,
    loader=sources.load_image,
    kinds: Sequence[str] = ("pooled",),
) -> Dataset:
    """The training set of ``items``: per variant, the features of ``kinds`` side by side (see features.py)."""
    items = list(items)
    image_feats = [
        features.side_by_side(
            [features.training_feature_matrix(towers, cache, items, v, loader=loader, kind=k) for k in kinds]
        )
        for v in range(variants)
    ]
    texts, prompt_ids, category_ids, concepts = text_table(items)
    text_feats = features.text_feature_matrix(towers, cache, texts)
    return Dataset(items, image_feats, prompt_ids, texts, text_feats, concepts, category_ids)


def split_groups(items: Sequence[sources.Item], seed: int = 0) -> tuple[list[sources.Item], list[sources.Item]]:
    """Two halves by group (man/woman/person variants of one emoji stay together)."""
    groups = sorted({it.group for it in items})
    random.Random(seed).shuffle(groups)
    half = set(groups[: len(groups) // 2])
    return [it for it in items if it.group in half], [it for it in items if it.group not in half]


def without_concepts(train: Sequence[sources.Item], test: Sequence[sources.Item]) -> list[sources.Item]:
    """Training items that share no emoji group, no emoji and no normalised concept with any test item (no
    concept leaks; "flag-for-flag-united-states" meets "flag: United States", "thumbsup" meets "thumbs up")."""
    groups = {it.group for it in test}
    concepts = {sources.concept_id(it.name) for it in test} | {
        sources.concept_id(it.key) for it in test if it.source != "noto"
    }
    concepts.discard("")
    emoji = {it.emoji for it in test if it.emoji}
    return [
        it
        for it in train
        if it.group not in groups
        and it.emoji not in emoji
        and sources.concept_id(it.name) not in concepts
        and sources.concept_id(it.key) not in concepts
    ]


def collect_items(
    noto: bool,
    iconify_dir: Path,
    icon_sets: Sequence[str] = sources.EMOJI_ICON_SETS + sources.NOTO_ICON_SETS,
) -> list[sources.Item]:
    cldr = sources.load_cldr()
    items = sources.noto_items(cldr) if noto else []
    for package in sources.find_iconify_packages(iconify_dir, icon_sets):
        items += sources.iconify_items(package, cldr)
    return sources.share_categories(items)
