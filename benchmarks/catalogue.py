"""Benchmark catalogues in search_service's own table: generated rows are written by binary COPY (``write_rows``:
the same columns ``stickers.services.store_stickers`` stores, blended by ``stickers.blending.blend``; PostgreSQL
still computes ``search_tsv`` and runs the lexicon triggers), the demo stickers as ``Sticker`` models with
``bulk_create``; the HNSW indexes are dropped before a bulk load and built after it by ``stickers.vector_index``
(timed, bounded by a statement timeout). Needs Django set up for search_service (``common.setup_search_django``).
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from benchmarks import common
from benchmarks.data import BLOCK, Catalogue, DemoStickers, blended_rows, filename, has_text

if TYPE_CHECKING:  # models are imported once Django is set up
    from search_service.stickers.models import Sticker

BATCH = 1_000  # rows per INSERT of bulk_create
ProgressSample = tuple[float, str, int, int, int, int]  # seconds, phase, tuples done/total, blocks done/total


def sticker_row(
    name: str, model_id: str, image: np.ndarray, text: np.ndarray | None, *, title: str = "", tags: Sequence[str] = ()
) -> Sticker:
    """An unsaved row as the index stores one: both embeddings and their blend with SEARCH_TEXT_WEIGHT."""
    from django.conf import settings

    from search_service.stickers.blending import blend
    from search_service.stickers.models import Sticker

    weight = settings.SEARCH_TEXT_WEIGHT
    return Sticker(
        filename=name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        width=256,
        height=256,
        title=title,
        tags=list(tags),
        model_id=model_id,
        image_embedding=image,
        text_embedding=text,
        blended_embedding=blend(image, text, weight),
        blend_weight=weight,
    )


COLUMNS = "filename, sha256, width, height, title, tags, model_id, image_embedding, text_embedding, "
COLUMNS += "blended_embedding, blend_weight, created, updated"
VARCHAR_OID = 1043  # the element type of ``tags`` (varchar(100)[]) in binary COPY's array format
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


def _tags(tags: Sequence[str]) -> bytes:
    if not tags:
        body = struct.pack(">iii", 0, 0, VARCHAR_OID)
    else:
        body = struct.pack(">iiiii", 1, 0, VARCHAR_OID, len(tags), 1) + b"".join(_text(tag) for tag in tags)
    return struct.pack(">i", len(body)) + body


def _vectors(matrix: np.ndarray) -> list[bytes]:
    """pgvector's binary form of each row (int16 dim, int16 unused, big-endian float32s), with its length."""
    dim = matrix.shape[1]
    head = struct.pack(">ihh", 4 + 4 * dim, dim, 0)
    return [head + row.tobytes() for row in np.ascontiguousarray(matrix, dtype=">f4")]


def copy_block(catalogue: Catalogue, model_id: str, block: int, start: int, stop: int) -> bytes:
    """Rows [start, stop) of data block ``block`` in binary COPY format (header and trailer included)."""
    from django.conf import settings

    weight = settings.SEARCH_TEXT_WEIGHT
    image, text = catalogue.block(block)
    metadata = catalogue.metadata(block)
    first = block * BLOCK
    rows = range(max(start, first), min(stop, first + BLOCK))
    texts = [has_text(row) for row in rows]
    local = [row - first for row in rows]
    blended = blended_rows(image[local], text[local], rows.start, weight)
    image_bytes, text_bytes, blended_bytes = _vectors(image[local]), _vectors(text[local]), _vectors(blended)
    now = struct.pack(">iq", 8, (datetime.now(UTC) - POSTGRES_EPOCH) // timedelta(microseconds=1))
    fixed = struct.pack(">ii", 4, 256) * 2  # width, height
    null = struct.pack(">i", -1)
    weight_bytes = struct.pack(">id", 8, weight)
    out = [b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)]
    for k, (row, with_text) in enumerate(zip(rows, texts, strict=True)):
        name = filename(row)
        title, tags = metadata[local[k]] if with_text else ("", [])
        out += [
            struct.pack(">h", 13),
            _text(name),
            _text(hashlib.sha256(name.encode()).hexdigest()),
            fixed,
            _text(title),
            _tags(tags),
            _text(model_id),
            image_bytes[k],
            text_bytes[k] if with_text else null,
            blended_bytes[k],
            weight_bytes,
            now,
            now,
        ]
    out.append(struct.pack(">h", -1))
    return b"".join(out)


def write_rows(catalogue: Catalogue, model_id: str, start: int, stop: int, progress: Callable[[int], None]) -> None:
    """Rows [start, stop) of a generated catalogue, one binary COPY (and transaction) per data block: a load can
    stop anywhere and go on from the rows already there."""
    from django.db import connection, transaction

    for block in range(start // BLOCK, (stop + BLOCK - 1) // BLOCK):
        data = copy_block(catalogue, model_id, block, start, stop)
        with transaction.atomic(), connection.cursor() as cursor:
            sql = f"COPY stickers_sticker ({COLUMNS}) FROM STDIN WITH (FORMAT binary)"
            cursor.cursor.copy_expert(sql, io.BytesIO(data))
        progress(min(stop, (block + 1) * BLOCK))


def load_demo(demo: DemoStickers, model_id: str) -> np.ndarray:
    """The demo stickers as the only rows (real filenames, titles and tags); their blended vectors in id order."""
    from search_service.stickers.models import Sticker

    rows = [
        sticker_row(name, model_id, image, text, title=demo.meta[name]["title"], tags=demo.meta[name]["tags"])
        for name, image, text in zip(demo.names, demo.image, demo.text, strict=True)
    ]
    Sticker.objects.all().delete()
    Sticker.objects.bulk_create(rows, batch_size=BATCH)
    return np.asarray([row.blended_embedding for row in rows], dtype=np.float32)


def count_rows(model_id: str) -> int:
    from search_service.stickers.models import Sticker

    return Sticker.objects.filter(model_id=model_id).count()


# --- loading and indexing a generated catalogue -------------------------------------------------------------------
@dataclass
class LoadFacts:
    """What one growth of the table took: rows loaded and seconds; the HNSW build's seconds (None: built by an
    earlier run, time unknown), whether it finished, and its progress samples (for an unfinished build)."""

    loaded: int = 0
    load_s: float = 0.0
    build_s: float | None = None
    built: bool = True
    progress: list[ProgressSample] = field(default_factory=list)

    def build_cell(self) -> str:
        if self.build_s is None:
            return "(built by an earlier run)"
        return f"{self.build_s:.1f} s" + ("" if self.loaded else " (earlier run)")


def load_and_index(catalogue: Catalogue, model_id: str, n: int, max_build_minutes: float) -> LoadFacts:
    """Grow the table to n rows of ``catalogue`` and (re)build both HNSW indexes."""
    from django.db import connection

    from search_service.stickers import vector_index

    have = count_rows(model_id)
    if have > n:
        raise SystemExit(f"The database holds {have} rows, more than {n}: run with --fresh (sizes must grow).")
    existing = vector_index._existing()
    names = [vector_index.index_name(column, model_id, catalogue.dim) for column in vector_index.COLUMNS]
    if have == n and all(existing.get(name, (False,))[0] for name in names):
        return LoadFacts(build_s=_recorded_build(n))
    vector_index.drop_vector_indexes()  # a bulk load goes faster without the indexes; they are built below
    started = time.perf_counter()
    if have < n:
        write_rows(
            catalogue, model_id, have, n, lambda done: print(f"\r  wrote {done:,}/{n:,} rows", end="", flush=True)
        )
        print()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE stickers_sticker")
    facts = LoadFacts(loaded=n - have, load_s=time.perf_counter() - started)
    facts.build_s, facts.built, facts.progress = build_indexes(model_id, catalogue.dim, max_build_minutes)
    if facts.built:
        _record_build(n, facts.build_s)
    return facts


def build_indexes(model_id: str, dim: int, max_build_minutes: float) -> tuple[float, bool, list[ProgressSample]]:
    """Build both HNSW indexes with enough memory for the graph (else pgvector spills and slows down a lot),
    bounded in time: (seconds, finished, progress samples). An unfinished build's indexes are dropped."""
    from django.db import connection

    from search_service.stickers import vector_index

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '3GB'")
        cursor.execute("SET statement_timeout = %s", [f"{int(max_build_minutes * 60)}s"])
    samples: list[ProgressSample] = []
    stop = threading.Event()
    watcher = threading.Thread(target=watch_build, args=(stop, samples), daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        vector_index.ensure_vector_indexes(model_id, dim)
        for notice in connection.connection.notices:  # pgvector says when the graph outgrew maintenance_work_mem
            print(f"  PostgreSQL: {notice.strip()}")
        return time.perf_counter() - started, True, samples
    except Exception as exc:  # statement_timeout: report how far it got
        if "statement timeout" not in str(exc):
            raise
        vector_index.drop_vector_indexes()
        return time.perf_counter() - started, False, samples
    finally:
        stop.set()
        watcher.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("RESET statement_timeout")


def storage_cells(model_id: str, dim: int) -> tuple[str, str, str]:
    """MB of the blended and image HNSW indexes and of the sticker table (heap and TOAST, without indexes)."""
    from django.db import connection

    from search_service.stickers import vector_index

    names = [vector_index.index_name(column, model_id, dim) for column in ("blended_embedding", "image_embedding")]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(%s::regclass), pg_relation_size(%s::regclass), "
            "pg_table_size('stickers_sticker'::regclass)",
            names,
        )
        sizes = cursor.fetchone()
    return tuple(f"{size / 1e6:.1f}" for size in sizes)  # type: ignore[return-value]


def watch_build(stop: threading.Event, samples: list[ProgressSample]) -> None:
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


def extrapolate(samples: list[ProgressSample], elapsed: float) -> str:
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
