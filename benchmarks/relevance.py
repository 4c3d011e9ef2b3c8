"""Relevance of search_service's ranking on held-out CLDR keywords of the demo stickers; writes its RESULTS.md section.

    .venv/bin/python -m benchmarks.relevance [--model auto] [--variant NAME:SETTING=VALUE,...]
        [--sweep SETTING=VALUE,VALUE,...] [--test] [--seed 22] [--fresh] [--drop] [--no-write]

The 1,846 demo stickers (``search_service/demo_stickers``) are indexed with their CLDR names as titles and part
of their CLDR keywords as tags; the other keywords are held out as queries, never indexed anywhere
(``benchmarks.relevance_split``: the split, the halves, relevance and the two groups). Rows are written by
``stickers.services.store_stickers`` (the service's own write path; image embeddings from the on-disk cache of
``benchmarks.data.image_embeddings``, keyed by model and file hash) into ``bench_relevance`` on the embedded
server, kept between runs (only changed rows are written again). Each query goes through
``ranking.services.search_stickers`` (the API's path: the model's text embedding, the ranking SQL, no query
adapter, result cache off), top 100.

Measures per half, group and variant: nDCG@10, MRR (first relevant sticker within the top 100) and P@10; hubness
of the validation queries' top 10s: skewness of the k-occurrence (how many queries' top 10 a sticker is in) and
the share of queries the most frequent sticker is in. Variants are settings of search_service (``--variant``,
default ``before:SEARCH_LEXICAL_WEIGHT=0`` and ``after:`` as configured; ``--sweep``: more values of one setting, on
the validation half only). The validation half is for every choice; the test half is only ranked with ``--test``
(once, for the reported figures).
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from benchmarks import common
from benchmarks.data import DEMO_DIR, image_embeddings
from benchmarks.feedback_simulation import ndcg10
from benchmarks.relevance_split import SEED, Query, Split, demo_split

if TYPE_CHECKING:
    from search_service.encoders.base import Encoder

DB = "bench_relevance"
DEPTH = 100  # results read per query (MRR's horizon)
GROUPS = ("present", "absent")
DEFAULT_VARIANTS = ["before:SEARCH_LEXICAL_WEIGHT=0", "after:"]
HUB_LIMIT = 0.05  # goal: no sticker in the top 10 of more than 5% of the queries


@dataclass(frozen=True)
class Variant:
    name: str
    settings: dict[str, str]
    validation_only: bool = False  # a --sweep value: for the choice, never ranked on the test half

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, _, assignments = text.partition(":")
        pairs = [item.split("=", 1) for item in assignments.split(",") if item]
        if not name or any(len(pair) != 2 for pair in pairs):
            raise SystemExit(f"--variant {text!r}: expected NAME:SETTING=VALUE,...")
        return cls(name, dict(pairs))

    @classmethod
    def sweep(cls, text: str) -> list[Variant]:
        setting, _, values = text.partition("=")
        if not setting or not values:
            raise SystemExit(f"--sweep {text!r}: expected SETTING=VALUE,VALUE,...")
        return [cls(f"{setting}={value}", {setting: value}, validation_only=True) for value in values.split(",")]

    def label(self) -> str:
        if self.settings:
            return f"{self.name} ({', '.join(f'{k}={v}' for k, v in self.settings.items())})"
        from django.conf import settings

        lexical = [key for key in dir(settings) if key.startswith("SEARCH_LEXICAL_")]
        return f"{self.name} (as configured: {', '.join(f'{k}={getattr(settings, k)}' for k in lexical)})"


@dataclass
class Scores:
    """One variant on one half: per query its measures and its top 10."""

    ndcg: dict[str, list[float]] = field(default_factory=lambda: {g: [] for g in GROUPS})
    mrr: dict[str, list[float]] = field(default_factory=lambda: {g: [] for g in GROUPS})
    p10: dict[str, list[float]] = field(default_factory=lambda: {g: [] for g in GROUPS})
    top10: list[list[str]] = field(default_factory=list)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="auto", help="default, vit-b-32 (random weights) or auto")
    parser.add_argument(
        "--variant",
        action="append",
        help="NAME:SETTING=VALUE,... (repeatable; settings of "
        "search_service for that ranking); default: " + " ".join(DEFAULT_VARIANTS),
    )
    parser.add_argument(
        "--sweep",
        action="append",
        default=[],
        help="SETTING=VALUE,VALUE,...: one more variant per value, ranked on the validation half only",
    )
    parser.add_argument("--test", action="store_true", help="rank the test half too (once, for the report)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args()


# --- the index ---------------------------------------------------------------------------------------------------
class CachedImageEncoder:
    """The loaded encoder, except that a batch's image embeddings are given (from the on-disk cache)."""

    def __init__(self, encoder: Encoder, image_vectors: np.ndarray) -> None:
        self.encoder, self.image_vectors = encoder, image_vectors
        self.model_id, self.dim = encoder.model_id, encoder.dim

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode_texts(texts)

    def encode_images(self, images: list) -> np.ndarray:
        assert len(images) == len(self.image_vectors)
        return self.image_vectors


def index_demo(split: Split, batch: int = 64) -> int:
    """Bring ``bench_relevance`` to the demo stickers with the split's tags through ``store_stickers``: rows missing
    or differing (content, title, tags, model) are written, others kept, strangers deleted. Rows written."""
    from django.conf import settings
    from tqdm import tqdm

    from search_service.encoders.loader import get_encoder
    from search_service.stickers.images import decode_image
    from search_service.stickers.models import Sticker
    from search_service.stickers.services import StickerInput, store_stickers
    from search_service.stickers.vector_index import ensure_vector_indexes

    encoder = get_encoder()
    names = sorted(split.titles)
    vectors = dict(zip(names, image_embeddings(encoder, [DEMO_DIR / name for name in names]), strict=True))
    have = {row[0]: row[1:] for row in Sticker.objects.values_list("filename", "title", "tags", "model_id")}
    Sticker.objects.exclude(filename__in=names).delete()
    todo = [name for name in names if have.get(name) != (split.titles[name], split.tags[name], encoder.model_id)]
    for start in tqdm(range(0, len(todo), batch), desc="indexing demo stickers", disable=not todo):
        chunk = todo[start : start + batch]
        items = [
            StickerInput(
                filename=name,
                image=decode_image((DEMO_DIR / name).read_bytes(), max_pixels=settings.SEARCH_MAX_IMAGE_PIXELS),
                data=None,
                title=split.titles[name],
                tags=split.tags[name],
            )
            for name in chunk
        ]
        chunk_vectors = np.stack([vectors[name] for name in chunk])
        store_stickers(items, encoder=CachedImageEncoder(encoder, chunk_vectors), reindex=True, ensure_index=False)
    ensure_vector_indexes(encoder.model_id, encoder.dim)
    return len(todo)


# --- ranking and measures ----------------------------------------------------------------------------------------
def rank(queries: list[Query], variant: Variant, desc: str) -> Scores:
    """Every query through ``search_stickers`` with the variant's settings."""
    from django.conf import settings
    from django.test import override_settings
    from tqdm import tqdm

    from search_service.ranking.services import search_stickers

    overrides = {key: type(getattr(settings, key, value))(value) for key, value in variant.settings.items()}
    scores = Scores()
    with override_settings(SEARCH_RESULT_CACHE_TTL=0.0, **overrides):
        for query in tqdm(queries, desc=desc):
            ranked = [hit.filename for hit in search_stickers(query.text, limit=DEPTH).hits]
            first = next((i for i, name in enumerate(ranked) if name in query.relevant), None)
            scores.ndcg[query.group].append(ndcg10(ranked, set(query.relevant)))
            scores.mrr[query.group].append(0.0 if first is None else 1.0 / (first + 1))
            scores.p10[query.group].append(len(set(ranked[:10]) & query.relevant) / 10)
            scores.top10.append(ranked[:10])
    return scores


@dataclass(frozen=True)
class Hubness:
    skewness: float
    top_share: float  # share of the queries whose top 10 holds the most frequent sticker
    over_limit: int  # stickers in the top 10 of more than HUB_LIMIT of the queries
    hubs: list[tuple[str, int]]


def hubness(top10: list[list[str]], catalogue: int) -> Hubness:
    """k-occurrence (k = 10) over every sticker of the catalogue (zero for those in no top 10)."""
    counts = Counter(name for ranked in top10 for name in ranked)
    occurrences = np.array(list(counts.values()) + [0] * (catalogue - len(counts)), dtype=float)
    centred = occurrences - occurrences.mean()
    skewness = float((centred**3).mean() / (centred**2).mean() ** 1.5)
    queries = len(top10)
    return Hubness(
        skewness,
        max(counts.values()) / queries,
        sum(1 for count in counts.values() if count > HUB_LIMIT * queries),
        counts.most_common(3),
    )


# --- the section -------------------------------------------------------------------------------------------------
def mean(values: list[float]) -> str:
    return f"{np.mean(values):.3f}" if values else "-"


def score_rows(half: str, variants: list[Variant], results: dict[tuple[str, str], Scores]) -> list[tuple]:
    rows = []
    for group in GROUPS:
        for variant in variants:
            if (half, variant.name) not in results:
                continue
            s = results[(half, variant.name)]
            rows.append(
                (
                    half,
                    group,
                    variant.name,
                    len(s.ndcg[group]),
                    mean(s.ndcg[group]),
                    mean(s.mrr[group]),
                    mean(s.p10[group]),
                )
            )
    return rows


def section_lines(args: argparse.Namespace, facts: dict, variants: list[Variant], results: dict) -> list[str]:
    halves = ["validation", "test"] if args.test else ["validation"]
    hub_rows = []
    for variant in variants:
        hub = hubness(results[("validation", variant.name)].top10, facts["catalogue"])
        hubs = ", ".join(f"{name} {count}" for name, count in hub.hubs)
        hub_rows.append((variant.name, f"{hub.skewness:.2f}", f"{hub.top_share:.1%}", hub.over_limit, hubs))
    command = (
        " ".join(
            ["`.venv/bin/python -m benchmarks.relevance", f"--model {args.model}", f"--seed {args.seed}"]
            + [
                f"--variant {v.name}:{','.join(f'{k}={x}' for k, x in v.settings.items())}"
                for v in variants
                if not v.validation_only
            ]
            + [f"--sweep {text}" for text in args.sweep]
            + (["--test"] if args.test else [])
        )
        + "`"
    )
    return [
        common.machine_line(facts["loads"]),
        "",
        f"{command}: {facts['model']}; the {facts['catalogue']:,} demo stickers, CLDR names as titles; of the "
        f"{facts['keywords']:,} distinct CLDR keywords (case-folded) half are indexed as tags and half held out as "
        f"queries (seed {args.seed}; never both), the queries split at random into a validation half (every choice, "
        "including the fusion's settings) and a test half (ranked only with `--test`, once, for the reported figures). "
        "Relevant: the stickers "
        "whose full CLDR keyword list holds the query. Words present: every word of the query is in some relevant "
        "sticker's indexed title or tags; absent: some word of it is in none (the meaning must find those). "
        "Each query through "
        "`search_stickers` (text embedding, the ranking SQL on the exact scan of this catalogue size; result cache "
        "off, no query adapter), top 100; MRR within it. Rankings: "
        + "; ".join(v.label() for v in variants if not v.validation_only)
        + (
            "; on the validation half only (the choice of a setting), "
            + ", ".join(v.name for v in variants if v.validation_only)
            if any(v.validation_only for v in variants)
            else ""
        )
        + ".",
        "",
        *common.table(
            ["half", "words", "ranking", "queries", "nDCG@10", "MRR", "P@10"],
            [row for half in halves for row in score_rows(half, variants, results)],
        ),
        "",
        f"Hubness over the {facts['validation']} validation queries' top 10s: skewness of the k-occurrence (over all "
        f"stickers), share of queries whose top 10 holds the most frequent sticker (goal <= {HUB_LIMIT:.0%}), "
        f"stickers above {HUB_LIMIT:.0%}, the three most frequent (queries).",
        "",
        *common.table(
            ["ranking", "k-occurrence skew", "top sticker's share", f"stickers > {HUB_LIMIT:.0%}", "most frequent"],
            hub_rows,
        ),
    ]


def main() -> None:
    args = arguments()
    variants = [Variant.parse(text) for text in args.variant or DEFAULT_VARIANTS]
    variants += [variant for text in args.sweep for variant in Variant.sweep(text)]
    split = demo_split(args.seed)
    env = common.model_env(args.model)
    common.create_database(DB, fresh=args.fresh)
    common.setup_search_django(DB, env)
    written = index_demo(split)
    print(f"{written} rows written; {len(split.validation)} validation and {len(split.test)} test queries")
    loads, results = [common.loadavg()], {}
    for half in ["validation", "test"] if args.test else ["validation"]:
        for variant in variants:
            if half == "validation" or not variant.validation_only:
                results[(half, variant.name)] = rank(split.half(half), variant, f"{half} {variant.name}")
                loads.append(common.loadavg())
    facts = {
        "loads": loads,
        "model": common.model_label(env),
        "catalogue": len(split.titles),
        "keywords": split.keywords,
        "validation": len(split.validation),
    }
    common.write_section(
        "relevance",
        "Relevance on held-out CLDR keywords (demo stickers)",
        section_lines(args, facts, variants, results),
        write=not args.no_write,
    )
    if args.drop:
        from django.db import connections

        connections.close_all()
        common.drop_database(DB)


if __name__ == "__main__":
    main()
