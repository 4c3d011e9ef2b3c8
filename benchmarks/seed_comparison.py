"""Our search against the seed's approach at N = 10k and 40k, side by side; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.seed_comparison [--sizes 10000,40000] [--model auto] [--rounds 20]
        [--keep] [--no-write]

The seed kept each image's embedding as a pickled numpy array in a database row and, for every query, read
all rows, unpickled every embedding and scored them all. Emulated here (generously: the rows are read with
one psycopg2 ``fetchall``, the scores computed with one numpy matrix product, not a Python loop) from a table
``seed_image(filename, embedding bytea)`` in the database ``bench_seed``. Ours: ``ranking.selectors.search``
(the production query: one inner-product HNSW scan of the blended vectors) over the same image vectors (and
title/tags vectors) in search_service's table, loaded and indexed by ``benchmarks.catalogue`` as in
``search_latency.py``. Both get the query vector in hand (text encoding is the same for both and left out).

Each round times one seed query, then 10 of ours, so both see the same machine load; every timed search (seed's
and ours) gets a query vector of its own (never one just searched); medians over the rounds.
``bench_seed`` is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import io
import pickle
import time
from typing import Any

import numpy as np

from benchmarks import catalogue, common
from benchmarks.data import BLOCK, Catalogue, add_data_option, exact_top, filename, row_of, warmup_queries

DB = "bench_seed"


def load_seed_table(cursor: Any, data: Catalogue, start: int, stop: int) -> None:
    """Pickled float32 arrays, one row per image, rows [start, stop) of the shared deterministic data."""
    cursor.execute("CREATE TABLE IF NOT EXISTS seed_image (id serial PRIMARY KEY, filename text, embedding bytea)")
    buffer = io.StringIO()
    for b in range(start // BLOCK, (stop + BLOCK - 1) // BLOCK):
        image, _text = data.block(b)
        for offset in range(BLOCK):
            row = b * BLOCK + offset
            if start <= row < stop:
                blob = pickle.dumps(image[offset].copy(), protocol=pickle.HIGHEST_PROTOCOL)
                buffer.write(f"{filename(row)}\t\\\\x{blob.hex()}\n")
    buffer.seek(0)
    cursor.copy_expert("COPY seed_image (filename, embedding) FROM STDIN", buffer)
    cursor.execute("VACUUM ANALYZE seed_image")


def seed_rows(cursor: Any) -> int:
    cursor.execute("SELECT to_regclass('seed_image') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return 0
    cursor.execute("SELECT count(*) FROM seed_image")
    return cursor.fetchone()[0]


def seed_search(cursor: Any, query: np.ndarray, limit: int = 10) -> list[str]:
    """The seed's approach: every embedding from the database, unpickled and scored, per query."""
    cursor.execute("SELECT filename, embedding FROM seed_image")
    rows = cursor.fetchall()
    names = [name for name, _ in rows]
    matrix = np.stack([pickle.loads(bytes(blob)) for _, blob in rows])  # noqa: S301 - our own benchmark data
    scores = matrix @ query / np.linalg.norm(matrix, axis=1)
    top = np.argsort(-scores)[:limit]
    return [names[i] for i in top]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,40000")
    parser.add_argument("--model", default="auto")
    parser.add_argument("--rounds", type=int, default=20)
    add_data_option(parser)
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run")
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args()


def set_up(args: argparse.Namespace) -> tuple[dict[str, str], str, str, Catalogue, np.ndarray]:
    """(model settings, database, model id, data, query vectors: 11 per round)."""
    env = common.model_env(args.model)
    database = DB if args.data == "uniform" else f"{DB}_{args.data}"
    common.create_database(database)
    common.setup_search_django(database, env)
    from search_service.encoders.loader import get_encoder

    encoder = get_encoder()
    data = Catalogue.of(args.data, encoder)
    queries = data.queries(args.rounds * 11)
    if len(queries) < args.rounds * 11:
        raise SystemExit(f"only {len(queries)} query vectors for {args.rounds} rounds of 11")
    return env, database, encoder.model_id, data, queries


def compare(model_id: str, data: Catalogue, n: int, queries: np.ndarray) -> tuple[list[float], list[float], float]:
    """At N = n: seconds per seed query, per search of ours, and our recall@10 against the exact top 10."""
    from django.conf import settings
    from django.db import connection

    from search_service.ranking import selectors

    blended = data.blended_upto(n, settings.SEARCH_TEXT_WEIGHT)
    seed_times, our_times, found = [], [], 0
    warmup = warmup_queries(2, data.dim)
    with connection.cursor() as cursor:
        seed_search(cursor, warmup[0])  # warm-up: table in the buffer cache
        selectors.search(warmup[1], model_id=model_id, limit=10)
        for round_ in range(len(queries) // 11):
            group = queries[round_ * 11 : (round_ + 1) * 11]
            started = time.perf_counter()
            seed_search(cursor, group[0])
            seed_times.append(time.perf_counter() - started)
            for query in group[1:]:
                started = time.perf_counter()
                hits = selectors.search(query, model_id=model_id, limit=10)
                our_times.append(time.perf_counter() - started)
                found += len({row_of(hit.filename) for hit in hits} & exact_top(blended, query))
    return seed_times, our_times, found / (10 * len(our_times))


def measure(model_id: str, data: Catalogue, sizes: list[int], queries: np.ndarray) -> tuple[list[tuple], list[str]]:
    """Table rows per size (both tables grown to N first) and load averages."""
    from django.db import connection

    loads, rows = [], []
    for n in sizes:
        print(f"== N = {n:,}")
        catalogue.load_and_index(data, model_id, n, max_build_minutes=30)
        with connection.cursor() as cursor:
            have = seed_rows(cursor)
            if have < n:
                load_seed_table(cursor, data, have, n)
        loads.append(common.loadavg())
        seed_times, our_times, recall = compare(model_id, data, n, queries)
        loads.append(common.loadavg())
        seed, ours = common.median(seed_times), common.median(our_times)
        rows.append(
            (
                f"{n:,}",
                common.fmt_ms(seed),
                common.fmt_ms(ours),
                common.fmt_ms(common.percentile(our_times, 99)),
                f"{seed / ours:.1f}x",
                f"{recall:.3f}",
            )
        )
        print(rows[-1])
    return rows, loads


def section_lines(
    args: argparse.Namespace, env: dict[str, str], data: Catalogue, rows: list[tuple], loads: list[str]
) -> list[str]:
    return [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.seed_comparison --sizes {args.sizes} --rounds {args.rounds} --data "
        f"{args.data}`: {common.model_label(env)}, dimension {data.dim}; {data.describe()} Query "
        "vector in hand (cached text embedding). Seed = read all rows, unpickle, score (generously vectorised); "
        "ours = "
        "`ranking.selectors.search` as production calls it (one inner-product HNSW scan of the blended vectors, "
        "the exact score; every other sticker has a title/tags vector). One seed query then 10 of ours per round, "
        "each with a query vector of its own; medians, milliseconds. Recall@10 = share of the exact top 10 of the "
        "blended score (numpy over all N vectors) that ours returns.",
        "",
        *common.table(["N", "seed p50", "ours p50", "ours p99", "speed-up", "recall@10"], rows),
    ]


def main() -> None:
    args = arguments()
    env, database, model_id, data, queries = set_up(args)
    rows, loads = measure(model_id, data, sorted(int(size) for size in args.sizes.split(",")), queries)
    lines = section_lines(args, env, data, rows, loads)
    common.write_section(
        f"seed-comparison-{args.data}",
        f"Against the seed's approach ({args.data} data)",
        lines,
        write=not args.no_write,
    )
    if not args.keep:
        from django.db import connections

        connections.close_all()
        common.drop_database(database)


if __name__ == "__main__":
    main()
