"""The vector scan's physical limits side by side, in one run; writes its RESULTS.md section.

    .venv/bin/python -m benchmarks.vector_scan [--sizes 1000,10000,100000]
        [--configs vector:16:200,halfvec:16:200,halfvec:32:200] [--ef-values 40,80,160,400] [--in-memory-only]
        [--usearch-threads 1] [--no-write]

Seeded data (``benchmarks.data``: noisy copies of the demo stickers' real embeddings, queried with the real
embeddings of their tag words), rows 0..N in one database per size (``bench_vec_<N/1000>k_seeded``, kept for the next
run). Per size, each ``storage:m:ef_construction`` config builds the blended inner-product HNSW index alone (the
production expression index of ``stickers.vector_index`` with that storage type; timed, its size read from
PostgreSQL), then the production query (``ranking.selectors.search``, first page of 10, iterative scan in strict
order) runs at each ``--ef-values`` ef_search: recall@10 against the exact top 10 of the full-precision blended
score, and SQL p50/p99. Beside it, over the same vectors: the exact pgvector scan (``exact=True``, halfvec),
numpy's exact scan in memory, and usearch (an in-memory HNSW library, float16 vectors, the same m and
ef_construction as the last config) at the same ef values: the floor of a graph search without a database.
``--in-memory-only``: numpy and usearch alone (no database), e.g. at 1M beside ``search_latency.py``'s pgvector rows.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from benchmarks import catalogue, common
from benchmarks.data import Catalogue, exact_top
from benchmarks.search_latency import ms, numpy_exact, ranking_recall, sql_latency


@dataclass(frozen=True)
class Config:
    storage: str
    m: int
    ef_construction: int

    @classmethod
    def parse(cls, text: str) -> Config:
        storage, m, ef_construction = text.split(":")
        return cls(storage, int(m), int(ef_construction))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--configs", default="vector:16:200,halfvec:16:200,halfvec:32:200")
    parser.add_argument("--ef-values", default="40,80,160,400")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per cell")
    parser.add_argument("--exact-queries", type=int, default=50)
    parser.add_argument("--recall-queries", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--in-memory-only", action="store_true", help="numpy and usearch only, no database")
    parser.add_argument("--usearch-threads", type=int, default=1, help="threads of usearch's build (search: one)")
    parser.add_argument("--section", default="", help="a name for a separate RESULTS.md section (e.g. a re-run)")
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args()


def load(database: str, n: int, env: dict[str, str]) -> tuple[str, Catalogue]:
    """Django on ``database`` (created if needed) holding rows 0..n of the seeded catalogue, without indexes."""
    from django.conf import settings
    from django.db import connection, connections

    from search_service.encoders.loader import get_encoder
    from search_service.encoders.spec import resolve_model_spec

    common.create_database(database)
    if not settings.configured:
        common.setup_search_django(database, env)
    else:
        connections.close_all()
        settings.DATABASES["default"]["NAME"] = database
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
    model_id = resolve_model_spec().model_id
    data = Catalogue.of("seeded", get_encoder())
    from search_service.stickers import vector_index

    vector_index.drop_vector_indexes()
    have = catalogue.count_rows(model_id)
    if have < n:
        catalogue.write_rows(data, model_id, have, n, lambda done: print(f"\r  wrote {done:,}/{n:,}", end=""))
        print()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE stickers_sticker")
    return model_id, data


def build(config: Config, model_id: str, dim: int) -> tuple[float, int]:
    """Build the blended index alone with ``config``: (seconds, bytes)."""
    from django.conf import settings
    from django.db import connection

    from search_service.stickers import vector_index
    from search_service.stickers.models import Sticker

    vector_index.STORAGE = config.storage
    settings.SEARCH_HNSW_M, settings.SEARCH_HNSW_EF_CONSTRUCTION = config.m, config.ef_construction
    index = vector_index.vector_index("blended_embedding", model_id, dim)
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '3GB'")
    started = time.perf_counter()
    with connection.schema_editor() as editor:
        editor.add_index(Sticker, index)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("SELECT pg_relation_size(%s::regclass)", [index.name])
        size = cursor.fetchone()[0]
    return seconds, size


def usearch_rows(
    blended: np.ndarray, queries: np.ndarray, recall_queries: np.ndarray, config: Config, efs: list[int], threads: int
):
    from usearch.index import Index

    index = Index(
        ndim=blended.shape[1], metric="ip", dtype="f16", connectivity=config.m, expansion_add=config.ef_construction
    )
    started = time.perf_counter()
    index.add(np.arange(len(blended)), blended, threads=threads)
    seconds = time.perf_counter() - started
    rows = []
    for ef in efs:
        index.expansion_search = ef
        for query in queries[:20]:
            index.search(query, 10)
        times = []
        for query in queries:
            t = time.perf_counter()
            index.search(query, 10)
            times.append(time.perf_counter() - t)
        hits = sum(len(set(index.search(q, 10).keys.tolist()) & exact_top(blended, q)) for q in recall_queries)
        rows.append((ef, hits / (10 * len(recall_queries)), times))
    return seconds, index.memory_usage, rows


Row = tuple[object, ...]  # one line of the section's table


def pgvector_rows(args: argparse.Namespace, n: int, model_id: str, data: Catalogue, blended: np.ndarray) -> list[Row]:
    """Each config's index at each ef_search (recall, SQL p50/p99), then the exact scan in PostgreSQL."""
    from django.conf import settings

    from search_service.ranking import selectors
    from search_service.stickers import vector_index

    queries = data.queries(args.queries)
    settings.SEARCH_EXACT_MAX_STICKERS = 0  # the HNSW path at every size (the 1k row is pgvector's floor)
    selectors.forget_sizes()
    rows: list[Row] = []
    for config in [Config.parse(text) for text in args.configs.split(",")]:
        seconds, size = build(config, model_id, data.dim)
        print(f"  {config}: built in {seconds:.1f} s, {size / 1e6:.1f} MB", flush=True)
        for ef in efs(args):
            settings.SEARCH_HNSW_EF_SEARCH = ef
            times = sql_latency(model_id, queries, args.warmup, exact=False)
            recall = ranking_recall(model_id, blended, queries[: args.recall_queries])
            print(f"    ef_search {ef}: recall@10 {recall:.3f} p50 {ms(times, 50)} p99 {ms(times, 99)}", flush=True)
            build_cells = (config.m, config.ef_construction, f"{seconds:.1f}", f"{size / 1e6:.1f}")
            rows.append((f"{n:,}", f"pgvector {config.storage}", *build_cells, ef, f"{recall:.3f}", *p50_p99(times)))
        vector_index.drop_vector_indexes()
    exact = sql_latency(model_id, queries[: args.exact_queries], args.warmup // 4, exact=True)
    print(f"  exact pgvector p50 {ms(exact, 50)}", flush=True)
    none = ("-",) * 5
    return [*rows, (f"{n:,}", "pgvector exact scan (halfvec)", *none, "1.000 (halfvec order)", *p50_p99(exact))]


def in_memory_rows(args: argparse.Namespace, n: int, data: Catalogue, blended: np.ndarray) -> list[Row]:
    """numpy's exact scan and usearch (the last config's m and ef_construction) over the same vectors."""
    queries = data.queries(args.queries)
    numpy_times, rate = numpy_exact(blended, queries[: args.exact_queries])
    none = ("-",) * 3
    rows: list[Row] = [
        (
            f"{n:,}",
            f"numpy exact (float32, {rate:.1f} GB/s)",
            *none,
            f"{blended.nbytes / 1e6:.1f}",
            "-",
            "1.000",
            *p50_p99(numpy_times),
        )
    ]
    last = Config.parse(args.configs.split(",")[-1])
    seconds, memory, searches = usearch_rows(
        blended, queries, queries[: args.recall_queries], last, efs(args), args.usearch_threads
    )
    for ef, recall, times in searches:
        build_cells = (last.m, last.ef_construction, f"{seconds:.1f}", f"{memory / 1e6:.1f}")
        rows.append((f"{n:,}", "usearch f16 (in memory)", *build_cells, ef, f"{recall:.3f}", *p50_p99(times)))
    print(
        f"  numpy p50 {ms(numpy_times, 50)}; usearch "
        + ", ".join(f"ef {ef}: {recall:.3f} {ms(times, 50)}" for ef, recall, times in searches),
        flush=True,
    )
    return rows


def efs(args: argparse.Namespace) -> list[int]:
    return [int(x) for x in args.ef_values.split(",")]


def p50_p99(times: list[float]) -> tuple[str, str]:
    return ms(times, 50), ms(times, 99)


def section_lines(args: argparse.Namespace, env: dict[str, str], table: list[Row], loads: list[str]) -> list[str]:
    return [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.vector_scan --sizes {args.sizes} --configs {args.configs} --ef-values "
        f"{args.ef_values}{' --in-memory-only' if args.in_memory_only else ''}"
        f"{f' --usearch-threads {args.usearch_threads}' if args.usearch_threads != 1 else ''}"
        f"{' --section ' + args.section if args.section else ''}`: {common.model_label(env)}; "
        + ("numpy and usearch only, no database (no pgvector rows); " if args.in_memory_only else "")
        + "seeded data, rows 0..N (one database per size). Each "
        "pgvector row: the blended inner-product index alone, built with that storage type, m and "
        "ef_construction (build seconds, index MB), then the production query (`selectors.search`, first page of "
        "10, iterative scan in strict order, forced onto HNSW at every size) at that ef_search: recall@10 against "
        f"the exact full-precision top 10 ({args.recall_queries} queries), SQL p50/p99 over {args.queries} "
        f"different query vectors after {args.warmup} warm-up searches with others (shared_buffers 128MB: a larger "
        "index is read partly from the OS page cache). "
        f"Exact rows over {args.exact_queries} queries; usearch: built with {args.usearch_threads} thread(s), searched "
        "with one, vectors in memory (its MB), the same "
        "m/ef_construction as the last pgvector config, its expansion_search = ef_search. Milliseconds. Other jobs "
        "on the machine show in the load average above.",
        "",
        *common.table(
            ["N", "scan", "m", "ef_construction", "build s", "MB", "ef_search", "recall@10", "p50", "p99"], table
        ),
    ]


def main() -> None:
    args = arguments()
    env = common.model_env("auto")
    table: list[Row] = []
    loads = [common.loadavg()]
    for n in [int(x) for x in args.sizes.split(",")]:
        print(f"\n== N = {n:,}", flush=True)
        if args.in_memory_only:
            from search_service.encoders.loader import get_encoder

            if not settings.configured:
                common.setup_search_django("bench_unused", env, migrate=False)
            data = Catalogue.of("seeded", get_encoder())
        else:
            model_id, data = load(f"bench_vec_{n // 1000}k_seeded", n, env)
        blended = data.blended_upto(n, settings.SEARCH_TEXT_WEIGHT)
        if not args.in_memory_only:
            table += pgvector_rows(args, n, model_id, data, blended)
        table += in_memory_rows(args, n, data, blended)
        loads.append(common.loadavg())
    common.write_section(
        "vector-scan-seeded" + (f"-{args.section}" if args.section else ""),
        "The vector scan's limits (seeded data" + (f", {args.section})" if args.section else ")"),
        section_lines(args, env, table, loads),
        write=not args.no_write,
    )


if __name__ == "__main__":
    main()
