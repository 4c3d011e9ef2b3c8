"""Our search against the seed's approach at N = 10k and 40k, side by side; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.seed_comparison [--sizes 10000,40000] [--model auto] [--rounds 20]
        [--keep] [--no-write]

The seed kept each image's embedding as a pickled numpy array in a database row and, for every query, read
all rows, unpickled every embedding and scored them all. Emulated here (generously: the rows are read with
one psycopg2 ``fetchall``, the scores computed with one numpy matrix product, not a Python loop) from a table
``seed_image(filename, embedding bytea)`` in the database ``bench_seed``. Ours: ``ranking.selectors.search``
(the production query: one inner-product HNSW scan of the blended vectors) over the same image vectors (and
title/tags vectors) in search_service's table, loaded and indexed as in ``search_latency.py``. Both get the
query vector in hand (text encoding is the same for both and left out).

Each round times one seed query, then 10 of ours, so both see the same machine load; every timed search (seed's
and ours) gets a query vector of its own (never one just searched); medians over the rounds.
``bench_seed`` is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import io
import pickle
import time

import numpy as np

from benchmarks import common, search_latency

DB = "bench_seed"


def load_seed_table(cursor, dim: int, start: int, stop: int) -> None:
    """Pickled float32 arrays, one row per image, rows [start, stop) of the shared deterministic data."""
    cursor.execute("CREATE TABLE IF NOT EXISTS seed_image (id serial PRIMARY KEY, filename text, embedding bytea)")
    buffer = io.StringIO()
    for b in range(start // search_latency.BLOCK, (stop + search_latency.BLOCK - 1) // search_latency.BLOCK):
        image, _text = search_latency.block(b, dim)
        for offset in range(search_latency.BLOCK):
            row = b * search_latency.BLOCK + offset
            if start <= row < stop:
                blob = pickle.dumps(image[offset].copy(), protocol=pickle.HIGHEST_PROTOCOL)
                buffer.write(f"{search_latency.filename(row)}\t\\\\x{blob.hex()}\n")
    buffer.seek(0)
    cursor.copy_expert("COPY seed_image (filename, embedding) FROM STDIN", buffer)
    cursor.execute("VACUUM ANALYZE seed_image")


def seed_search(cursor, query: np.ndarray, limit: int = 10) -> list[str]:
    """The seed's approach: every embedding from the database, unpickled and scored, per query."""
    cursor.execute("SELECT filename, embedding FROM seed_image")
    rows = cursor.fetchall()
    names = [name for name, _ in rows]
    matrix = np.stack([pickle.loads(bytes(blob)) for _, blob in rows])  # noqa: S301 - our own benchmark data
    scores = matrix @ query / np.linalg.norm(matrix, axis=1)
    top = np.argsort(-scores)[:limit]
    return [names[i] for i in top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,40000")
    parser.add_argument("--model", default="auto")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--data",
        default="uniform",
        choices=["uniform", "seeded"],
        help="as search_latency.py: uniform random vectors, or noisy copies of real embeddings",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    env = common.model_env(args.model)
    database = DB if args.data == "uniform" else f"{DB}_{args.data}"
    common.create_database(database)
    common.setup_search_django(database, env)
    from django.conf import settings
    from django.db import connection

    from search_service.encoders.loader import get_encoder
    from search_service.ranking import selectors

    encoder = get_encoder()
    model_id, dim = encoder.model_id, encoder.dim
    search_latency.Data.kind = args.data
    if args.data == "seeded":
        search_latency.Data.seeds = search_latency.real_embeddings(encoder)
    queries = search_latency.Data.queries(args.rounds * 11, dim)
    if len(queries) < args.rounds * 11:
        raise SystemExit(f"only {len(queries)} query vectors for {args.rounds} rounds of 11")
    loads, rows = [], []
    for n in sizes:
        print(f"== N = {n:,}")
        search_latency.load_and_index(model_id, dim, n, max_build_minutes=30)
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('seed_image') IS NOT NULL")
            have = 0
            if cursor.fetchone()[0]:
                cursor.execute("SELECT count(*) FROM seed_image")
                have = cursor.fetchone()[0]
            if have < n:
                load_seed_table(cursor, dim, have, n)
        loads.append(common.loadavg())
        image, text = search_latency.vectors_upto(n, dim)
        blended = search_latency.blended_rows(image, text, 0, settings.SEARCH_TEXT_WEIGHT)
        del image, text
        seed_times, our_times, found = [], [], 0
        warmup = search_latency.unit_rows(np.random.default_rng(999), 2, dim)  # not among the timed vectors
        with connection.cursor() as cursor:
            seed_search(cursor, warmup[0])  # warm-up: table in the buffer cache
            selectors.search(warmup[1], model_id=model_id, limit=10)
            for round_ in range(args.rounds):
                group = queries[round_ * 11 : (round_ + 1) * 11]
                started = time.perf_counter()
                seed_search(cursor, group[0])
                seed_times.append(time.perf_counter() - started)
                for query in group[1:]:
                    started = time.perf_counter()
                    hits = selectors.search(query, model_id=model_id, limit=10)
                    our_times.append(time.perf_counter() - started)
                    found += len(
                        {search_latency.row_of(hit.filename) for hit in hits} & search_latency.exact_top(blended, query)
                    )
        loads.append(common.loadavg())
        seed, ours = common.median(seed_times), common.median(our_times)
        our_p99 = common.percentile(our_times, 99)
        recall = found / (10 * len(our_times))
        rows.append(
            (
                f"{n:,}",
                common.fmt_ms(seed),
                common.fmt_ms(ours),
                common.fmt_ms(our_p99),
                f"{seed / ours:.1f}x",
                f"{recall:.3f}",
            )
        )
        print(rows[-1])

    lines = [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.seed_comparison --sizes {args.sizes} --rounds {args.rounds} --data "
        f"{args.data}`: {common.model_label(env)}, dimension {dim}; {search_latency.DATA_TEXT[args.data]} Query "
        "vector in hand (cached text embedding). Seed = read all rows, unpickle, score (generously vectorised); "
        "ours = "
        "`ranking.selectors.search` as production calls it (one inner-product HNSW scan of the blended vectors, "
        "the exact score; every other sticker has a title/tags vector). One seed query then 10 of ours per round, "
        "each with a query vector of its own; medians, milliseconds. Recall@10 = share of the exact top 10 of the "
        "blended score (numpy over all N vectors) that ours returns.",
        "",
        *common.table(["N", "seed p50", "ours p50", "ours p99", "speed-up", "recall@10"], rows),
    ]
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
