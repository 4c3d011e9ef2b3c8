"""Stable pages on real-sized data: pages of 7, 20 and 100 concatenate to one ranking; writes its section.

    .venv/bin/python -m benchmarks.stable_pages --dataset demo [--queries 20] [--no-write]
    .venv/bin/python -m benchmarks.stable_pages --dataset seeded [--queries 10] [--no-write]

``demo``: the demo stickers as the default model embeds them (image and title/tags, the vectors
``search_latency.py --data seeded`` starts from; real filenames, titles and tags), in a fresh database
``bench_pages_demo``; queries = the embeddings of their tag words. ``seeded``: the catalogue
``search_latency.py --data seeded`` left in ``bench_search_seeded`` (100k stickers after its usual run), same
queries.

For each query, on the HNSW path and on the exact path (``ranking.selectors.search(exact=...)``): the ranking up
to the result window (1,000) fetched in pages of 100, of 20 and of 7, and in one call of 1,000; all four must be
equal. Also recall@10 / @100 of the HNSW ranking against the exact one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import catalogue, common
from benchmarks.data import demo_stickers

PAGE_SIZES = (100, 20, 7)  # the first one is the ranking the others are compared with


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["demo", "seeded"], required=True)
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args()


def set_up(dataset: str, queries: int) -> tuple[str, int, np.ndarray]:
    """(model id, catalogue size, query vectors): the demo stickers loaded into a fresh database and indexed, or
    the catalogue search_latency.py --data seeded left."""
    # Pages are compared, not timed: no statement timeout, so that a deep page on a loaded machine is not an error.
    env = {**common.model_env("auto"), "SEARCH_STATEMENT_TIMEOUT_MS": "0"}
    database = "bench_pages_demo" if dataset == "demo" else "bench_search_seeded"
    common.create_database(database, fresh=dataset == "demo")
    common.setup_search_django(database, env)
    from search_service.encoders.loader import get_encoder
    from search_service.stickers.models import Sticker
    from search_service.stickers.vector_index import ensure_vector_indexes

    encoder = get_encoder()
    demo = demo_stickers(encoder)
    if dataset == "demo":
        catalogue.load_demo(demo, encoder.model_id)
        ensure_vector_indexes(encoder.model_id, encoder.dim)
    count = Sticker.objects.count()
    if not count:
        raise SystemExit(f"{database} is empty: run search_latency.py --data seeded first")
    rng = np.random.default_rng(4321)
    return encoder.model_id, count, demo.query[rng.choice(len(demo.query), size=queries, replace=False)]


def ranking(query: np.ndarray, model_id: str, size: int, total: int, exact: bool) -> list[str]:
    """The first ``total`` filenames of the ranking, fetched in pages of ``size``."""
    from search_service.ranking import selectors

    names: list[str] = []
    for offset in range(0, total, size):
        names += [
            hit.filename
            for hit in selectors.search(
                query, model_id=model_id, limit=min(size, total - offset), offset=offset, exact=exact
            )
        ]
    return names


def compare_pages(model_id: str, queries: np.ndarray, total: int, exact: bool) -> tuple[list[list[str]], int, float]:
    """Per query, the ranking in pages of 100 (returned), checked against pages of 20, of 7 and one call: the
    rankings, how many queries had all four equal, seconds."""
    wholes, same, started = [], 0, time.perf_counter()
    for index, query in enumerate(queries):
        whole, *others = [ranking(query, model_id, size, total, exact) for size in (*PAGE_SIZES, total)]
        equal = len(whole) == total and all(other == whole for other in others)
        same += equal
        wholes.append(whole)
        print(f"  {'exact' if exact else 'HNSW'} query {index + 1}: pages {'equal' if equal else 'DIFFER'}", flush=True)
    return wholes, same, time.perf_counter() - started


def measure(model_id: str, queries: np.ndarray, total: int) -> list[list[str]]:
    """Table rows: HNSW and exact, with the HNSW ranking's recall@10 / @100 against the exact one."""
    hnsw, hnsw_same, hnsw_s = compare_pages(model_id, queries, total, exact=False)
    exact, exact_same, exact_s = compare_pages(model_id, queries, total, exact=True)
    pairs = list(zip(hnsw, exact, strict=True))
    at10 = np.mean([len(set(h[:10]) & set(e[:10])) / 10 for h, e in pairs])
    at100 = np.mean([len(set(h[:100]) & set(e[:100])) / 100 for h, e in pairs])
    return [
        ["HNSW", f"{hnsw_same}/{len(queries)}", f"{hnsw_s:.0f}", f"{at10:.3f} / {at100:.3f}"],
        ["exact", f"{exact_same}/{len(queries)}", f"{exact_s:.0f}", "1.000 / 1.000"],
    ]


def section_lines(
    args: argparse.Namespace, count: int, total: int, rows: list[list[str]], loads: list[str]
) -> list[str]:
    from django.conf import settings

    label = {
        "demo": f"the {count:,} demo stickers (default model's image and title/tags embeddings)",
        "seeded": f"{count:,} seeded stickers (search_latency.py --data seeded)",
    }[args.dataset]
    return [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.stable_pages --dataset {args.dataset} --queries {args.queries}`: {label}; "
        f"{args.queries} queries (real tag-word embeddings). Per query, the ranking up to {total:,} fetched in pages "
        f"of 100, of 20, of 7 and in one call; 'equal' = all four identical. HNSW: ef_search="
        f"{settings.SEARCH_HNSW_EF_SEARCH or 'by catalogue size'}, iterative scan in strict order; "
        "exact: sequential scan + sort. "
        "No statement timeout (pages are compared, not timed).",
        "",
        *common.table(["path", "queries with equal pages", "seconds", "recall@10 / @100 vs exact"], rows),
    ]


def main() -> None:
    args = arguments()
    model_id, count, queries = set_up(args.dataset, args.queries)
    from search_service.ranking.selectors import MAX_RESULT_WINDOW

    total = min(MAX_RESULT_WINDOW, count)
    loads = [common.loadavg()]
    rows = measure(model_id, queries, total)
    loads.append(common.loadavg())
    lines = section_lines(args, count, total, rows, loads)
    common.write_section(
        f"stable-pages-{args.dataset}", f"Stable pages ({args.dataset})", lines, write=not args.no_write
    )


if __name__ == "__main__":
    main()
