"""Stable pages on real-sized data: pages of 7, 20 and 100 concatenate to one ranking; writes its section.

    .venv/bin/python -m benchmarks.stable_pages --dataset demo [--queries 20] [--no-write]
    .venv/bin/python -m benchmarks.stable_pages --dataset seeded [--queries 10] [--no-write]

``demo``: the 1,855 demo stickers as the default model embeds them (image and title/tags, the vectors
``search_latency.py --data seeded`` starts from), in a fresh database ``bench_pages_demo``; queries = the
embeddings of their tag words. ``seeded``: the catalogue ``search_latency.py --data seeded`` left in
``bench_search_seeded`` (100k stickers after its usual run), same queries.

For each query, on the HNSW path and on the exact path (``ranking.selectors.search(exact=...)``): the ranking up
to the result window (1,000) fetched in pages of 100, of 20 and of 7, and in one call of 1,000; all four must be
equal. Also recall@10 / @100 of the HNSW ranking against the exact one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import common, search_latency


def load_demo(model_id: str, seeds: dict[str, np.ndarray]) -> int:
    from django.conf import settings

    from search_service.stickers.blending import blend
    from search_service.stickers.models import Sticker
    from search_service.stickers.vector_index import ensure_vector_indexes

    if not Sticker.objects.exists():
        w = settings.SEARCH_TEXT_WEIGHT
        Sticker.objects.bulk_create(
            [
                Sticker(
                    filename=f"demo-{i:05d}.png",
                    sha256=f"{i:064x}",
                    width=1,
                    height=1,
                    title="t",
                    model_id=model_id,
                    image_embedding=image,
                    text_embedding=text,
                    blended_embedding=blend(image, text, w),
                    blend_weight=w,
                )
                for i, (image, text) in enumerate(zip(seeds["image"], seeds["text"], strict=True))
            ],
            batch_size=500,
        )
    ensure_vector_indexes(model_id, seeds["image"].shape[1])
    return Sticker.objects.count()


def ranking(query: np.ndarray, model_id: str, size: int, total: int, exact: bool) -> list[str]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["demo", "seeded"], required=True)
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    # Pages are compared, not timed: no statement timeout, so that a deep page on a loaded machine is not an error.
    env = {**common.model_env("auto"), "SEARCH_STATEMENT_TIMEOUT_MS": "0"}
    database = "bench_pages_demo" if args.dataset == "demo" else "bench_search_seeded"
    common.create_database(database, fresh=args.dataset == "demo")
    common.setup_search_django(database, env)
    from search_service.encoders.loader import get_encoder
    from search_service.ranking.selectors import MAX_RESULT_WINDOW
    from search_service.stickers.models import Sticker

    encoder = get_encoder()
    seeds = search_latency.real_embeddings(encoder)
    model_id = encoder.model_id
    count = load_demo(model_id, seeds) if args.dataset == "demo" else Sticker.objects.count()
    if not count:
        raise SystemExit(f"{database} is empty: run search_latency.py --data seeded first")
    from django.conf import settings

    rng = np.random.default_rng(4321)
    queries = seeds["query"][rng.choice(len(seeds["query"]), size=args.queries, replace=False)]
    total = min(MAX_RESULT_WINDOW, count)
    loads, rows = [common.loadavg()], []
    wholes: dict[bool, list[list[str]]] = {False: [], True: []}
    for exact in (False, True):
        same, started = 0, time.perf_counter()
        for index, query in enumerate(queries):
            whole = ranking(query, model_id, 100, total, exact)
            others = [ranking(query, model_id, size, total, exact) for size in (20, 7, total)]
            equal = len(whole) == total and all(other == whole for other in others)
            same += equal
            wholes[exact].append(whole)
            print(
                f"  {'exact' if exact else 'HNSW'} query {index + 1}: pages {'equal' if equal else 'DIFFER'}",
                flush=True,
            )
        rows.append(["exact" if exact else "HNSW", f"{same}/{len(queries)}", f"{time.perf_counter() - started:.0f}"])
    loads.append(common.loadavg())
    pairs = list(zip(wholes[False], wholes[True], strict=True))
    at10 = np.mean([len(set(h[:10]) & set(e[:10])) / 10 for h, e in pairs])
    at100 = np.mean([len(set(h[:100]) & set(e[:100])) / 100 for h, e in pairs])
    rows[0].append(f"{at10:.3f} / {at100:.3f}")
    rows[1].append("1.000 / 1.000")
    label = {
        "demo": f"the {count:,} demo stickers (default model's image and title/tags embeddings)",
        "seeded": f"{count:,} seeded stickers (search_latency.py --data seeded)",
    }[args.dataset]
    lines = [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.stable_pages --dataset {args.dataset} --queries {args.queries}`: {label}; "
        f"{args.queries} queries (real tag-word embeddings). Per query, the ranking up to {total:,} fetched in pages "
        f"of 100, of 20, of 7 and in one call; 'equal' = all four identical. HNSW: ef_search="
        f"{settings.SEARCH_HNSW_EF_SEARCH}, iterative scan in strict order; exact: sequential scan + sort. "
        "No statement timeout (pages are compared, not timed).",
        "",
        *common.table(["path", "queries with equal pages", "seconds", "recall@10 / @100 vs exact"], rows),
    ]
    common.write_section(
        f"stable-pages-{args.dataset}", f"Stable pages ({args.dataset})", lines, write=not args.no_write
    )


if __name__ == "__main__":
    main()
