"""search_service latency and HNSW recall versus catalogue size; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.search_latency [--sizes 1000,10000,100000,1000000] [--model auto]
        [--queries 200] [--max-build-minutes 15] [--fresh] [--drop] [--no-http] [--no-write]

Data (``--data``): ``uniform``, N random unit vectors of the model's dimension as image embeddings and, for
every other sticker, a second one as its title/tags embedding (the hard case for HNSW: no clusters); or
``seeded``, noisy copies of the demo stickers' real embeddings, queried with the real embeddings of their tag
words. Each row stores its blended vector as ``index_images`` does. The rows go through the real storage path
in the database ``bench_search[_seeded]`` on the embedded server: ``migrate`` creates search_service's table,
the first 1,000 rows are written by the Django model (``Sticker.objects.bulk_create``), the rest by binary
``COPY``; the HNSW indexes are built by ``stickers.vector_index.ensure_vector_indexes`` (timed) after each
size's load. The database grows from one size to the next and is kept unless ``--drop``; ``--fresh`` starts
it over.

Per size:
* SQL: ``ranking.selectors.search`` (the production query: one inner-product HNSW scan of the blended
  vectors, iterative scan in strict order, the exact score) with a query vector in hand: p50/p99; the same
  query as an exact scan (``exact=True``), and an exact numpy scan over the same vectors in memory.
* HTTP (largest size): ``GET /api/search/`` on search_service under gunicorn (its gunicorn.conf.py), one
  request at a time, distinct query texts: cached (each text asked once in an earlier pass) and uncached.
* Recall@10 of the ranking's first page against the exact top 10 of the same blended score; at the largest
  size, the trade-off curve over (m, ef_construction) builds and ef_search values (``--curve-configs``,
  ``--ef-values``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import secrets
import struct
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks import common

DB = "bench_search"
BLOCK = 10_000  # rows generated per deterministic block
ORM_ROWS = 1_000  # rows written through the Django model; the rest by COPY
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
EF_VALUES = (40, 100, 200, 400)
REDIS_URL = "redis://127.0.0.1:6379/14"
CACHED_QUERIES = ["cat in a park", "happy birthday", "red heart", "thumbs up", "pizza", "rocket", "sad face", "dog"]
DATA_TEXT = {
    "uniform": "uniformly random unit vectors, queries too (the hard case for HNSW: no neighbourhood structure).",
    "seeded": "each sticker a noisy copy (cos ~0.8 to its seed) of one of the 1,855 demo stickers' real image and "
    "title/tags embeddings, queries the real embeddings of their tag words (many stickers per concept).",
}


# --- deterministic data ------------------------------------------------------------------------------------
def unit_rows(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


class Data:
    """Where the vectors come from: ``uniform`` random unit vectors (the issue's set-up; HNSW's worst case),
    or ``seeded``: each sticker a noisy copy of a real sticker's embeddings (image and title/tags) from
    ``real_embeddings``, queries real query embeddings: a catalogue with many stickers per concept."""

    kind = "uniform"
    seeds: dict[str, np.ndarray] | None = None
    noise = 0.75  # noise norm / seed norm: cos(copy, seed) ~ 0.8

    @classmethod
    def block(cls, index: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
        if cls.kind == "uniform":
            rng = np.random.default_rng([dim, index])
            return unit_rows(rng, BLOCK, dim), unit_rows(rng, BLOCK, dim)
        rng = np.random.default_rng([dim, index, 1])
        pick = rng.integers(0, len(cls.seeds["image"]), BLOCK)
        scale = cls.noise / np.sqrt(dim)
        image = cls.seeds["image"][pick] + scale * rng.standard_normal((BLOCK, dim), dtype=np.float32)
        text = cls.seeds["text"][pick] + scale * rng.standard_normal((BLOCK, dim), dtype=np.float32)
        return _normalise(image), _normalise(text)

    @classmethod
    def queries(cls, count: int, dim: int) -> np.ndarray:
        rng = np.random.default_rng(12345)
        if cls.kind == "uniform":
            return unit_rows(rng, count, dim)
        pool = cls.seeds["query"]
        return pool[rng.choice(len(pool), size=min(count, len(pool)), replace=False)]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def block(index: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows [index*BLOCK, (index+1)*BLOCK): image vectors, and text vectors (used on even rows only)."""
    return Data.block(index, dim)


def real_embeddings(encoder) -> dict[str, np.ndarray]:
    """The model's embeddings of the demo stickers (images; their title/tags texts) and of their tag words
    as queries, computed once per model and cached in benchmarks/.cache."""
    import hashlib as _hashlib
    import json

    from PIL import Image

    from search_service.stickers.metadata import metadata_text

    path = common.CACHE_DIR / f"real-embeddings-{_hashlib.sha256(encoder.model_id.encode()).hexdigest()[:12]}.npz"
    if path.exists():
        with np.load(path) as data:
            return {key: data[key] for key in ("image", "text", "query")}
    folder = common.SEARCH_DIR / "demo_stickers"
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    names = sorted(meta)
    print(f"embedding {len(names)} demo stickers once (cached in {path.name}) ...", flush=True)
    image = np.concatenate(
        [
            encoder.encode_images([Image.open(folder / name) for name in names[i : i + 32]])
            for i in range(0, len(names), 32)
        ]
    )
    text = encoder.encode_texts([metadata_text(meta[name]["title"], meta[name]["tags"]) for name in names])
    words = sorted({tag for name in names for tag in meta[name]["tags"]})
    query = np.concatenate([encoder.encode_texts(words[i : i + 256]) for i in range(0, len(words), 256)])
    common.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, image=image, text=text, query=query)
    return {"image": image, "text": text, "query": query}


def vectors_upto(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    blocks = [block(i, dim) for i in range((n + BLOCK - 1) // BLOCK)]
    image = np.concatenate([b[0] for b in blocks])[:n]
    text = np.concatenate([b[1] for b in blocks])[:n]
    return image, text


def has_text(row: int) -> bool:
    return row % 2 == 0


def filename(row: int) -> str:
    return f"bench-{row:07d}.png"


def row_of(name: str) -> int:
    return int(name[6:13])


# --- loading ----------------------------------------------------------------------------------------------------
def _pg_text(value: str) -> bytes:
    data = value.encode()
    return struct.pack("!i", len(data)) + data


def copy_rows(cursor, model_id: str, dim: int, start: int, stop: int, progress) -> None:
    """Binary COPY of rows [start, stop) into the Sticker table (all columns, as Django would write them)."""
    from django.conf import settings

    from search_service.stickers.models import Sticker

    columns = [
        "filename",
        "sha256",
        "width",
        "height",
        "title",
        "tags",
        "model_id",
        "image_embedding",
        "text_embedding",
        "blended_embedding",
        "blend_weight",
        "created",
        "updated",
    ]
    weight = settings.SEARCH_TEXT_WEIGHT
    weight_be = struct.pack("!id", 8, weight)
    now = struct.pack("!iq", 8, int(time.time() * 1_000_000) - PG_EPOCH_US)
    int256 = struct.pack("!ii", 4, 256)
    empty_varchar_array = struct.pack("!iiii", 12, 0, 0, 1043)  # ndim 0, no nulls, element type varchar
    model = _pg_text(model_id)
    vector_header = struct.pack("!ihh", 4 + 4 * dim, dim, 0)
    null = struct.pack("!i", -1)

    def chunks():
        yield b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
        for b in range(start // BLOCK, (stop + BLOCK - 1) // BLOCK):
            image, text = block(b, dim)
            blended = blended_rows(image, text, b * BLOCK, weight)
            image_be, text_be = image.astype(">f4").tobytes(), text.astype(">f4").tobytes()
            blended_be = blended.astype(">f4").tobytes()
            size = 4 * dim
            out = []
            for offset in range(BLOCK):
                row = b * BLOCK + offset
                if row < start or row >= stop:
                    continue
                name = filename(row)
                parts = [
                    struct.pack("!h", len(columns)),
                    _pg_text(name),
                    _pg_text(hashlib.sha256(name.encode()).hexdigest()),
                    int256,
                    int256,
                    _pg_text(f"bench sticker {row}" if has_text(row) else ""),
                    empty_varchar_array,
                    model,
                    vector_header,
                    image_be[offset * size : (offset + 1) * size],
                ]
                if has_text(row):
                    parts += [vector_header, text_be[offset * size : (offset + 1) * size]]
                else:
                    parts.append(null)
                parts += [vector_header, blended_be[offset * size : (offset + 1) * size], weight_be, now, now]
                out.append(b"".join(parts))
            yield b"".join(out)
            progress(min(stop, (b + 1) * BLOCK))
        yield struct.pack("!h", -1)

    class Stream(io.RawIOBase):
        def __init__(self):
            self._chunks, self._buffer = chunks(), b""

        def readable(self):
            return True

        def read(self, size=-1):
            while len(self._buffer) < max(size, 1):
                try:
                    self._buffer += next(self._chunks)
                except StopIteration:
                    break
            data, self._buffer = (self._buffer, b"") if size < 0 else (self._buffer[:size], self._buffer[size:])
            return data

    table = Sticker._meta.db_table
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)", Stream(), size=1 << 20)


def blended_rows(image: np.ndarray, text: np.ndarray, first_row: int, weight: float) -> np.ndarray:
    """The stored search vectors of rows first_row.. (``stickers.blending.blend``: image alone without text)."""
    from search_service.stickers.blending import blend

    return np.stack([blend(image[i], text[i] if has_text(first_row + i) else None, weight) for i in range(len(image))])


def orm_rows(model_id: str, dim: int, stop: int) -> None:
    from django.conf import settings

    from search_service.stickers.blending import blend
    from search_service.stickers.models import Sticker

    image, text = block(0, dim)
    w = settings.SEARCH_TEXT_WEIGHT
    Sticker.objects.bulk_create(
        [
            Sticker(
                filename=filename(row),
                sha256=hashlib.sha256(filename(row).encode()).hexdigest(),
                width=256,
                height=256,
                title=f"bench sticker {row}" if has_text(row) else "",
                tags=[],
                model_id=model_id,
                image_embedding=image[row],
                text_embedding=text[row] if has_text(row) else None,
                blended_embedding=blend(image[row], text[row] if has_text(row) else None, w),
                blend_weight=w,
            )
            for row in range(stop)
        ],
        batch_size=500,
    )


def count_rows(model_id: str) -> int:
    from search_service.stickers.models import Sticker

    return Sticker.objects.filter(model_id=model_id).count()


def watch_build(stop: threading.Event, samples: list) -> None:
    """Poll pg_stat_progress_create_index from another connection (for the extrapolation of long builds)."""
    import psycopg2
    from django.conf import settings

    database = settings.DATABASES["default"]["NAME"]
    connection = psycopg2.connect(common.db_url(database))
    connection.autocommit = True
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            while not stop.wait(5):
                cursor.execute(
                    "SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total "
                    "FROM pg_stat_progress_create_index WHERE datname = %s",
                    [database],
                )
                row = cursor.fetchone()
                if row:
                    samples.append((time.monotonic() - started, *row))
    finally:
        connection.close()


def load_and_index(model_id: str, dim: int, n: int, max_build_minutes: float) -> dict:
    """Grow the table to n rows and (re)build both HNSW indexes. Returns load/build facts for the report."""
    from django.db import connection

    from search_service.stickers import vector_index

    have = original = count_rows(model_id)
    facts = {"loaded": 0, "load_s": 0.0, "build_s": None, "built": True, "progress": []}
    if have > n:
        raise SystemExit(f"The database holds {have} rows, more than {n}: run with --fresh (sizes must grow).")
    existing = vector_index._existing()
    names = [vector_index.index_name(column, model_id, dim) for column in vector_index.COLUMNS]
    if have == n and all(existing.get(name, (False,))[0] for name in names):
        facts["build_s"] = _recorded_build(n)
        return facts
    with connection.cursor() as cursor:
        for name in names:  # bulk loads go faster without the indexes; they are rebuilt below
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    vector_index.forget_ensured()
    started = time.perf_counter()
    if have < ORM_ROWS:
        orm_rows(model_id, dim, min(ORM_ROWS, n))
        have = min(ORM_ROWS, n)
    if have < n:

        def progress(done: int) -> None:
            print(f"\r  COPY {done:,}/{n:,} rows", end="", flush=True)

        with connection.cursor() as cursor:
            copy_rows(cursor, model_id, dim, have, n, progress)
        print()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE stickers_sticker")
    facts["loaded"], facts["load_s"] = n - original, time.perf_counter() - started

    # The build: enough memory for the graph (else pgvector spills and slows down a lot), bounded in time.
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '3GB'")
        cursor.execute("SET statement_timeout = %s", [f"{int(max_build_minutes * 60)}s"])
    samples: list = []
    stop = threading.Event()
    watcher = threading.Thread(target=watch_build, args=(stop, samples), daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        vector_index.ensure_vector_indexes(model_id, dim)
        facts["build_s"] = time.perf_counter() - started
        _record_build(n, facts["build_s"])
    except Exception as exc:  # statement_timeout: report how far it got
        if "statement timeout" not in str(exc):
            raise
        facts["built"], facts["build_s"] = False, time.perf_counter() - started
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    finally:
        stop.set()
        watcher.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("RESET statement_timeout")
    facts["progress"] = samples
    return facts


def _record_build(n: int, seconds: float) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_build (n int PRIMARY KEY, seconds float)")
        cursor.execute(
            "INSERT INTO bench_build VALUES (%s, %s) ON CONFLICT (n) DO UPDATE SET seconds = %s", [n, seconds, seconds]
        )


def _recorded_build(n: int) -> float | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_build (n int PRIMARY KEY, seconds float)")
        cursor.execute("SELECT seconds FROM bench_build WHERE n = %s", [n])
        row = cursor.fetchone()
    return row[0] if row else None


# --- measurements ------------------------------------------------------------------------------------------------
def sql_latency(model_id: str, queries: np.ndarray, warmup: int, dim: int, *, exact: bool) -> list[float]:
    """Seconds per ``ranking.selectors.search`` (first page of 10), a different query vector each time."""
    from search_service.ranking import selectors

    # Warm-up: other query vectors than the timed ones (the same vector again would find its pages cached).
    for query in unit_rows(np.random.default_rng(999), warmup, dim):
        selectors.search(query, model_id=model_id, limit=10, exact=exact)
    times = []
    for query in queries:
        started = time.perf_counter()
        selectors.search(query, model_id=model_id, limit=10, exact=exact)
        times.append(time.perf_counter() - started)
    return times


def numpy_exact(blended: np.ndarray, queries: np.ndarray) -> tuple[list[float], float]:
    """An exact scan in numpy over the same vectors (in memory): seconds per query (B @ q + top 10), and the
    memory read rate of one pass over B (GB/s; the bound of any exact scan of these bytes on this machine)."""
    times = []
    for query in queries:
        started = time.perf_counter()
        scores = blended @ query
        top = np.argpartition(-scores, 10)[:10]
        top[np.argsort(-scores[top])]
        times.append(time.perf_counter() - started)
    reads = []
    for _ in range(5):
        started = time.perf_counter()
        np.add.reduce(blended, axis=0)
        reads.append(time.perf_counter() - started)
    return times, blended.nbytes / min(reads) / 1e9


def exact_top(blended: np.ndarray, query: np.ndarray, k: int = 10) -> set[int]:
    scores = blended @ query
    return set(np.argpartition(-scores, k)[:k].tolist())


def ranking_recall(model_id: str, blended: np.ndarray, queries: np.ndarray) -> float:
    """Recall@10 of the HNSW ranking's first page against the exact top 10 of the same (blended) score."""
    from search_service.ranking import selectors

    hits = 0
    for query in queries:
        got = {row_of(hit.filename) for hit in selectors.search(query, model_id=model_id, limit=10, exact=False)}
        hits += len(got & exact_top(blended, query))
    return hits / (10 * len(queries))


def build_blended(model_id: str, dim: int, m: int, ef_construction: int) -> float:
    """Drop the blended HNSW index and build it again with (m, ef_construction); seconds."""
    from django.conf import settings
    from django.db import connection

    from search_service.stickers import vector_index

    vector_index.drop_vector_indexes("blended_embedding")
    settings.SEARCH_HNSW_M, settings.SEARCH_HNSW_EF_CONSTRUCTION = m, ef_construction
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '3GB'")
    started = time.perf_counter()
    vector_index.ensure_vector_indexes(model_id, dim)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("RESET maintenance_work_mem")
    return seconds


def trade_off_curve(
    model_id: str,
    dim: int,
    blended: np.ndarray,
    queries: np.ndarray,
    recall_queries: np.ndarray,
    configs: list[tuple[int, int]],
    ef_values: list[int],
    warmup: int,
) -> list[tuple]:
    """(m, ef_construction, build s, ef_search, recall@10, p50 s, p99 s) for every build config and ef_search;
    the index is left built with the last config."""
    from django.conf import settings

    ef_default = settings.SEARCH_HNSW_EF_SEARCH
    rows = []
    try:
        for m, ef_construction in configs:
            seconds = build_blended(model_id, dim, m, ef_construction)
            print(f"  blended index m={m} ef_construction={ef_construction}: built in {seconds:.1f} s", flush=True)
            for ef in ef_values:
                settings.SEARCH_HNSW_EF_SEARCH = ef
                times = sql_latency(model_id, queries, warmup, dim, exact=False)
                recall = ranking_recall(model_id, blended, recall_queries)
                rows.append(
                    (
                        m,
                        ef_construction,
                        seconds,
                        ef,
                        recall,
                        common.percentile(times, 50),
                        common.percentile(times, 99),
                    )
                )
                print(
                    f"    ef_search {ef}: recall@10 {recall:.3f}, p50 {common.fmt_ms(rows[-1][5])} ms, "
                    f"p99 {common.fmt_ms(rows[-1][6])} ms",
                    flush=True,
                )
    finally:
        settings.SEARCH_HNSW_EF_SEARCH = ef_default
    return rows


def http_latency(database: str, env: dict[str, str], queries: int, log: Path) -> dict[str, list[float]]:
    import requests

    port = common.free_port()
    token = secrets.token_urlsafe(16)
    # Query embeddings shared by both workers through Redis (expiring soon after the run), so that a query asked
    # once is a cached one whichever worker answers it next.
    service_env = common.service_env(
        "search",
        database,
        **env,
        SEARCH_BIND=f"127.0.0.1:{port}",
        SEARCH_SERVICE_TOKEN=token,
        GUNICORN_ACCESS_LOG="",
        SEARCH_REDIS_URL=REDIS_URL,
        SEARCH_REDIS_TTL="600",
        SEARCH_RESULT_CACHE_TTL="0",
    )
    headers = {"Authorization": f"Bearer {token}"}
    result: dict[str, list[float]] = {"cached": [], "uncached": []}
    with common.Gunicorn(common.SEARCH_DIR, service_env, port, log).start(headers=headers) as server:
        session = requests.Session()
        url = f"{server.url}/api/search/"

        def get(query: str) -> float:
            started = time.perf_counter()
            response = session.get(url, params={"query": query, "limit": 10}, headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"search answered {response.status_code}: {response.text[:300]}")
            return elapsed

        nonce = secrets.token_hex(3)  # new texts on every run (Redis keeps them for a while)
        cached = [f"{CACHED_QUERIES[i % len(CACHED_QUERIES)]} {nonce} {i}" for i in range(queries)]
        # Every text is encoded once in a first pass (warming both workers, connections and plans); the timed pass
        # asks them again in the same order, so each was last asked `queries` requests earlier, never just before.
        for text in cached:
            get(text)
        result["cached"] = [get(text) for text in cached]
        result["uncached"] = [get(f"sticker query number {i} {nonce}") for i in range(queries)]
    return result


def extrapolate(samples: list, n: int, elapsed: float) -> str:
    """From pg_stat_progress_create_index samples of an unfinished build: tuples loaded per second."""
    loading = [s for s in samples if s[2] and s[3] and s[3] > 0]
    if not loading:
        return f"cancelled after {elapsed / 60:.0f} min with no progress reported"
    t, phase, done, total = loading[-1][:4]
    rate = done / max(t, 1)
    return (
        f"cancelled after {elapsed / 60:.0f} min in phase '{phase}': {done:,}/{total:,} tuples "
        f"({rate:.0f}/s); at that rate the first index alone needs ~{total / rate / 60:.0f} min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,2000,5000,10000,20000,100000")
    parser.add_argument("--model", default="auto", help="default, vit-b-32 (random weights) or auto")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per measurement")
    parser.add_argument("--exact-queries", type=int, default=50, help="timed queries of the exact scans")
    parser.add_argument("--recall-queries", type=int, default=100)
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="untimed searches before each SQL timing (other query vectors than the timed ones)",
    )
    parser.add_argument(
        "--curve-configs",
        default="16:64,16:128,24:128",
        help="HNSW m:ef_construction pairs of the trade-off curve at the largest size (the index "
        "is rebuilt with the configured SEARCH_HNSW_M/EF_CONSTRUCTION afterwards)",
    )
    parser.add_argument("--ef-values", default="20,40,60,100,200")
    parser.add_argument("--max-build-minutes", type=float, default=15.0)
    parser.add_argument(
        "--ef-construction",
        type=int,
        help="build the indexes with this ef_construction instead of SEARCH_HNSW_EF_CONSTRUCTION (a cheaper build "
        "at large sizes; the section states it)",
    )
    parser.add_argument(
        "--data",
        default="uniform",
        choices=["uniform", "seeded"],
        help="uniform random unit vectors, or noisy copies of real sticker embeddings",
    )
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn measurements")
    parser.add_argument(
        "--section",
        default="",
        help="a name for a separate RESULTS.md section (e.g. a second HNSW build), instead of the size table's",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if sizes != sorted(sizes):
        raise SystemExit("--sizes must grow")
    configs = [tuple(int(x) for x in pair.split(":")) for pair in args.curve_configs.split(",") if pair]
    ef_values = [int(x) for x in args.ef_values.split(",")]

    env = common.model_env(args.model)
    database = DB if args.data == "uniform" else f"{DB}_{args.data}"
    common.create_database(database, fresh=args.fresh)
    common.setup_search_django(database, env)
    from django.conf import settings

    from search_service.encoders.spec import resolve_model_spec

    spec = resolve_model_spec()  # the id gunicorn's workers will report, without loading the model here
    from search_service.encoders.loader import get_encoder

    dim = get_encoder().dim
    model_id = spec.model_id
    Data.kind = args.data
    if args.data == "seeded":
        Data.seeds = real_embeddings(get_encoder())
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    print(f"model {model_id} (dim {dim}); database {database}; data {args.data}; shared_buffers {shared_buffers}")
    queries = Data.queries(args.queries, dim)
    log = common.CACHE_DIR / "search_latency_gunicorn.log"
    common.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    w = settings.SEARCH_TEXT_WEIGHT
    if args.ef_construction:
        settings.SEARCH_HNSW_EF_CONSTRUCTION = args.ef_construction
    m_default, efc_default = settings.SEARCH_HNSW_M, settings.SEARCH_HNSW_EF_CONSTRUCTION

    rows, builds, loads, curve, crossover = [], [], [], [], None
    for n in sizes:
        print(f"\n== N = {n:,}")
        facts = load_and_index(model_id, dim, n, args.max_build_minutes)
        if facts["loaded"]:
            print(f"  loaded {facts['loaded']:,} rows in {facts['load_s']:.0f} s")
        if not facts["built"]:
            note = extrapolate(facts["progress"], n, facts["build_s"])
            print(f"  HNSW build {note}")
            builds.append((f"{n:,}", note))
            break
        build = "(built by an earlier run)" if facts["build_s"] is None else f"{facts['build_s']:.1f} s"
        if facts["build_s"] is not None and not facts["loaded"]:
            build += " (earlier run)"
        builds.append((f"{n:,}", build))
        loads.append(common.loadavg())
        image, text = vectors_upto(n, dim)
        blended = blended_rows(image, text, 0, w)
        del image, text
        hnsw = sql_latency(model_id, queries, args.warmup, dim, exact=False)
        exact = sql_latency(model_id, queries[: args.exact_queries], args.warmup // 4, dim, exact=True)
        numpy_times, read_rate = numpy_exact(blended, queries[: args.exact_queries])
        recall = ranking_recall(model_id, blended, queries[: args.recall_queries])
        if common.percentile(exact, 50) <= common.percentile(hnsw, 50):
            crossover = n
        print(
            f"  HNSW p50 {common.fmt_ms(common.percentile(hnsw, 50))} ms p99 "
            f"{common.fmt_ms(common.percentile(hnsw, 99))} ms recall@10 {recall:.3f}; exact pgvector p50 "
            f"{common.fmt_ms(common.percentile(exact, 50))} ms; numpy exact p50 "
            f"{common.fmt_ms(common.percentile(numpy_times, 50))} ms (one read of the {blended.nbytes / 1e6:.0f} MB "
            f"of vectors: {read_rate:.1f} GB/s)",
            flush=True,
        )
        if n == sizes[-1] and configs:
            curve = trade_off_curve(
                model_id,
                dim,
                blended,
                queries,
                queries[: args.recall_queries],
                [c for c in configs if c != (m_default, efc_default)] + [(m_default, efc_default)],
                ef_values,
                args.warmup,
            )
            loads.append(common.loadavg())
        del blended
        http = (
            {"cached": [], "uncached": []}
            if args.no_http or n != sizes[-1]
            else http_latency(database, env, args.queries, log)
        )
        loads.append(common.loadavg())

        def p(values, q):
            return common.fmt_ms(common.percentile(values, q)) if values else "-"

        rows.append(
            (
                f"{n:,}",
                p(exact, 50),
                p(hnsw, 50),
                p(hnsw, 99),
                f"{recall:.3f}",
                p(numpy_times, 50),
                f"{read_rate:.1f}",
                p(http["cached"], 50),
                p(http["cached"], 99),
                p(http["uncached"], 50),
                p(http["uncached"], 99),
            )
        )
        if http["cached"]:
            print(
                f"  HTTP cached p50 {rows[-1][7]} p99 {rows[-1][8]}; uncached p50 {rows[-1][9]} p99 {rows[-1][10]} ms"
            )

    curve_rows = [
        (m, efc, f"{build_s:.1f}", ef, f"{recall:.3f}", common.fmt_ms(p50), common.fmt_ms(p99))
        for m, efc, build_s, ef, recall, p50, p99 in curve
    ]
    lines = [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.search_latency --sizes {args.sizes} --model {args.model} --data "
        f"{args.data} --warmup {args.warmup} --curve-configs {args.curve_configs} --ef-values {args.ef_values}"
        f"{' --recall-queries ' + str(args.recall_queries) if args.recall_queries != 100 else ''}"
        f"{' --no-http' if args.no_http else ''}{' --section ' + args.section if args.section else ''}"
        f"{' --ef-construction ' + str(args.ef_construction) if args.ef_construction else ''}`: "
        f"{common.model_label(env)}, dimension {dim}; {DATA_TEXT[args.data]} Every other sticker has a title/tags "
        f"vector; each row stores its blended vector (text weight {w}) as `index_images` does. PostgreSQL "
        f"{common.server_url()} with shared_buffers={shared_buffers}. Production ranking: one inner-product HNSW "
        f"scan of the blended vectors (m={m_default}, ef_construction={efc_default}, ef_search="
        f"{settings.SEARCH_HNSW_EF_SEARCH}, iterative scan in strict order), the exact score. {args.queries} timed "
        f"queries per HNSW cell, {args.exact_queries} per exact cell, a different query vector each time, after "
        f"{args.warmup} untimed searches with other vectors. Milliseconds. The machine is shared with other "
        "agents' jobs (load average above).",
        "",
        "Latency and recall per catalogue size. Exact pgvector = the same query as an exact scan "
        "(`selectors.search(exact=True)`: sequential scan and top-N sort, recall 1.0); HNSW = the production path; "
        "numpy exact = `B @ q` + top 10 over the same vectors already in memory; read GB/s = one pass of numpy over "
        "those vectors (the memory bound of any exact scan here). HTTP (largest size only) = `GET /api/search/` on "
        "gunicorn (2 workers x 4 threads, result cache off), one request at a time, distinct query texts; cached = "
        "each text asked once in an earlier pass (its embedding from the worker's LRU or Redis), uncached = new "
        "texts (the text tower runs).",
        "",
        *common.table(
            [
                "N",
                "exact pgvector p50",
                "HNSW p50",
                "HNSW p99",
                "HNSW recall@10",
                "numpy exact p50",
                "read GB/s",
                "HTTP cached p50",
                "HTTP cached p99",
                "HTTP uncached p50",
                "HTTP uncached p99",
            ],
            rows,
        ),
        "",
        f"Exact scan at least as fast as HNSW (p50) up to N = {crossover:,}."
        if crossover
        else "The exact scan was slower than HNSW at every size measured.",
        "",
        *(
            [
                f"Trade-off curve at N = {sizes[-1]:,}: the blended index built with each (m, ef_construction) (build "
                "time of that one index), then the production query at each ef_search: recall@10 against the exact "
                f"blended top 10 ({args.recall_queries} queries) and SQL latency.",
                "",
                *common.table(
                    ["m", "ef_construction", "build s", "ef_search", "recall@10", "SQL p50", "SQL p99"], curve_rows
                ),
                "",
            ]
            if curve_rows
            else []
        ),
        "HNSW build of both indexes (image cosine for similar stickers, blended inner product for search) at the "
        "configured m/ef_construction, maintenance_work_mem=3GB, CREATE INDEX CONCURRENTLY through "
        "`ensure_vector_indexes`:",
        "",
        *common.table(["N", "build time"], builds),
    ]
    suffix = "" if shared_buffers == "128MB" else f", shared_buffers={shared_buffers}"
    section = f"-{args.section}" if args.section else ""
    common.write_section(
        f"search-latency-{args.data}{suffix.replace(', shared_buffers=', '-sb')}{section}",
        f"search_service latency and recall vs N ({args.data} data{suffix}{', ' + args.section if section else ''})",
        lines,
        write=not args.no_write,
    )
    if args.drop:
        from django.db import connections

        connections.close_all()
        common.drop_database(database)
        print(f"dropped {database}")


if __name__ == "__main__":
    main()
