"""Autocomplete (``GET /api/suggest/``) on a query log of 1,000,000 rows; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.suggest [--rows 1000000] [--repeats 1000] [--pg-url URL] [--no-write]
                                           [--keep] [--reuse]

Fills the query log of a scratch sticker_service database (``bench_suggest`` on ``--pg-url``, default the
embedded server ``BENCH_PG_URL``; stock PostgreSQL works too: the index needs no extension) with ``--rows``
distinct queries of 1-4 words from a 3,000-word vocabulary (made up, seeded), uses Zipf-like
(``max(1, 50000 / rank^0.75)``) and distinct clients 1..uses (about a quarter of the rows clear the 3-client
privacy floor); then VACUUM ANALYZE and CHECKPOINT. Prefixes are cut from queries drawn at random (1-6
characters, each length equally often) and timed after one untimed pass over them: the selector
(``searches.selectors.suggestions``, one SQL query), the same SQL inside PostgreSQL (EXPLAIN ANALYZE), and the
whole request in-process through Django's test client (validation, query, JSON; no network). p50/p99 over
``--repeats`` prefixes. ``--keep`` keeps the database, ``--reuse`` times a kept one without filling it again.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time

from benchmarks import common
from testkit.live_process import admin_sql, with_database

DATABASE = "bench_suggest"
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def words(rng: random.Random, n: int) -> list[str]:
    found: set[str] = set()
    while len(found) < n:
        found.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))))
    return sorted(found)


def set_up(args: argparse.Namespace) -> str:
    """The scratch database (new unless ``--reuse``), migrated, and Django for sticker_service on it; filled with
    ``--rows`` queries unless a kept one has them. Returns how it was filled, for the section."""
    if not args.reuse:
        admin_sql(args.pg_url, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', "postgres")
        admin_sql(args.pg_url, f'CREATE DATABASE "{DATABASE}"', "postgres")
    url = with_database(args.pg_url, DATABASE)
    common.setup_sticker_django(DATABASE, migrate=True, STICKER_DATABASE_URL=url, THROTTLE_RATE_SUGGEST="")
    from sticker_service.searches.models import Query

    started = time.perf_counter()
    if args.reuse and Query.objects.count() == args.rows:
        return "filled by an earlier run (--reuse)"
    fill(args.rows, random.Random(15))
    return f"filled in {time.perf_counter() - started:.0f} s"


def fill(rows: int, rng: random.Random) -> None:
    from django.db import connection

    vocabulary = words(rng, 3000)
    texts: set[str] = set()
    while len(texts) < rows:
        texts.add(" ".join(rng.choice(vocabulary) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
    ordered = list(texts)
    rng.shuffle(ordered)  # rank (popularity) independent of the text
    buffer = io.StringIO()
    for rank, text in enumerate(ordered, start=1):
        uses = max(1, int(50000 / rank**0.75))
        clients = rng.randint(1, uses)
        buffer.write(f"{text}\t{uses}\t{clients}\tf\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE searches_query CASCADE")
        cursor.copy_expert(
            "COPY searches_query (text, usage_count, distinct_clients, hidden, first_searched_at, last_searched_at) "
            "FROM STDIN",
            buffer,
        )
    connection.close()
    import psycopg2

    raw = psycopg2.connect(os.environ["STICKER_DATABASE_URL"])
    raw.autocommit = True
    with raw.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE searches_query")
        cursor.execute("CHECKPOINT")  # the fill's writes are flushed before anything is timed
    raw.close()


def _scan_nodes(plan: dict) -> str:
    """The scan nodes of a plan, e.g. ``Index Only Scan on query_suggest_prefix``."""
    found = []
    if "Scan" in plan["Node Type"]:
        found.append(f"{plan['Node Type']} on {plan.get('Index Name') or plan.get('Relation Name')}")
    for child in plan.get("Plans", []):
        found.append(_scan_nodes(child))
    return ", ".join(found)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1000)
    parser.add_argument("--pg-url", default=common.server_url())
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the bench_suggest database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept bench_suggest database of --rows rows")
    return parser.parse_args()


def database_facts() -> dict[str, str | int]:
    """Rows, rows above the privacy floor, the server's version and the prefix index's size."""
    from django.db import connection

    from sticker_service.searches.models import MIN_DISTINCT_CLIENTS, Query

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('query_suggest_prefix'))")
        index_size = cursor.fetchone()[0]
    return {
        "total": Query.objects.count(),
        "eligible": Query.objects.filter(distinct_clients__gte=MIN_DISTINCT_CLIENTS, hidden=False).count(),
        "version": version,
        "index_size": index_size,
    }


def prefixes(repeats: int) -> list[str]:
    """1-6 characters (each length equally often) cut from queries drawn at random from the log."""
    from sticker_service.searches.models import Query

    sample = list(Query.objects.order_by("?").values_list("text", flat=True)[:repeats])
    return [text[: 1 + i % 6] for i, text in enumerate(sample)]


def in_postgres(prefixes: list[str]) -> tuple[list[float], set[str]]:
    """The selector's SQL timed inside PostgreSQL (EXPLAIN ANALYZE; no client round trip), and the plans' scans."""
    from django.db import connection

    from sticker_service.searches.selectors import suggestions_query

    server, plans = [], set()
    for prefix in prefixes:
        sql, params = suggestions_query(prefix, limit=8).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = plan[0] if isinstance(plan, list) else plan
        server.append(plan["Execution Time"] / 1000)
        plans.add(_scan_nodes(plan["Plan"]))
    return server, plans


def measure(prefixes: list[str], loads: list[str]) -> tuple[list[tuple], float, set[str], float]:
    """Table rows (selector, SQL in PostgreSQL, whole request; the selector by prefix length), the selector's p50,
    the plans seen and the mean number of suggestions, timed after one warm-up pass."""
    from django.test import Client

    from sticker_service.searches.selectors import suggestions

    for prefix in prefixes:  # one warm-up pass: an autocomplete index in use is cached
        suggestions(prefix, limit=8)
    loads.append(common.loadavg())
    found: list[int] = []
    selector = common.timed(lambda p: found.append(len(suggestions(p, limit=8))), prefixes)
    client = Client()

    def request(prefix: str) -> None:
        response = client.get("/api/suggest/", {"prefix": prefix, "limit": 8})
        assert response.status_code == 200, response.content[:300]

    requests_ = common.timed(request, prefixes)
    server, plans = in_postgres(prefixes)
    loads.append(common.loadavg())
    by_length = {}
    for length in range(1, 7):
        picked = [t for i, t in enumerate(selector) if len(prefixes[i]) == length]
        if picked:
            by_length[length] = picked
    rows = [
        p50_p99("selector (Django ORM + psycopg2 round trip), all prefixes", selector),
        p50_p99("the same SQL inside PostgreSQL (EXPLAIN ANALYZE execution time), all prefixes", server),
        p50_p99("GET /api/suggest/ in-process (validation, query, JSON), all prefixes", requests_),
        *(p50_p99(f"selector, {length}-character prefixes", values) for length, values in by_length.items()),
    ]
    return rows, common.percentile(selector, 50), plans, sum(found) / len(found)


def p50_p99(what: str, values: list[float]) -> tuple:
    return (
        what,
        len(values),
        common.fmt_ms(common.percentile(values, 50)),
        common.fmt_ms(common.percentile(values, 99)),
    )


def main() -> None:
    args = arguments()
    filled = set_up(args)
    facts = database_facts()
    cut = prefixes(args.repeats)
    loads: list[str] = []
    rows, p50, plans, mean_found = measure(cut, loads)
    goal = "met" if p50 <= 0.005 else "MISSED"
    lines = [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.suggest --rows {args.rows} --repeats {args.repeats}` on {facts['version']}: "
        f"{facts['total']:,} query rows ({facts['eligible']:,} above the privacy floor; partial prefix index "
        f"`query_suggest_prefix` {facts['index_size']}; {filled}), limit 8, {len(cut)} prefixes "
        "of 1-6 characters cut from random logged queries, timed after one warm-up pass "
        f"(mean {mean_found:.1f} suggestions each); "
        f"milliseconds. Plans seen: {'; '.join(sorted(plans))}.",
        "",
        *common.table(["what", "calls", "p50 ms", "p99 ms"], rows),
        "",
        f"Goal p50 <= 5 ms (selector) at 1,000,000 rows: {goal} ({common.fmt_ms(p50)} ms).",
    ]
    common.write_section("suggest", "Autocomplete at 1,000,000 queries", lines, write=not args.no_write)
    from django.db import connection

    connection.close()
    if not args.keep:
        admin_sql(args.pg_url, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', "postgres")


if __name__ == "__main__":
    main()
