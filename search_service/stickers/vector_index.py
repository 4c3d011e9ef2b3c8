"""The HNSW indexes of the embedding columns: one pair per (model id, dimension).

The vector columns are untyped (``vector``, float32) because the dimension depends on the model. For each model
that has indexed stickers there is a partial expression index per column, on the vectors cast to ``halfvec``
(pgvector's float16: half the bytes per vector; the blended index of 100k stickers at dimension 384 and
m 16 is 117 MB instead of 205 MB, benchmarks/RESULTS.md "The vector scan's limits")::

    CREATE INDEX ... USING hnsw ((image_embedding::halfvec(D)) halfvec_cosine_ops) WHERE model_id = '<id>'
    CREATE INDEX ... USING hnsw ((blended_embedding::halfvec(D)) halfvec_ip_ops) WHERE model_id = '<id>'

The stored columns keep full precision (the blend and a re-index read them; an index can be rebuilt from them at
any precision). Every ranking computes its distances on the same halfvec expression, the exact scan included, so
the exact and HNSW paths order by the same numbers (the query is cast to halfvec too; pgvector computes the
products of the float16 components in float32).

The image index serves "similar stickers", the blended one (inner product, see ``stickers.blending``) search. Build
parameters: ``SEARCH_HNSW_M``, ``SEARCH_HNSW_EF_CONSTRUCTION`` (for indexes built after a change; ``python -m
search_service reblend --rebuild-indexes`` rebuilds). Queries use the same cast and predicate (:func:`column_expr`), so
the planner uses the index. The model id must reach PostgreSQL as a literal (psycopg2 interpolates parameters
client-side), otherwise the partial index's predicate cannot be proven. Each index carries a JSON comment ``{"model_id",
"dim", "column", "m", "ef_construction"}`` so stale ones (models no longer in the table) can be found and dropped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from typing import TYPE_CHECKING, cast

import numpy as np
from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import connection
from django.db.models import Q
from django.db.models.functions import Cast
from pgvector.django import HalfVectorField, HnswIndex, VectorField

from .models import Sticker

if TYPE_CHECKING:
    from django.db.backends.postgresql.schema import DatabaseSchemaEditor as PostgresSchemaEditor

logger = logging.getLogger(__name__)

COLUMNS = ("image_embedding", "blended_embedding")
_PREFIX = {"image_embedding": "stickers_img_hnsw_", "blended_embedding": "stickers_bld_hnsw_"}
_OPS = {"image_embedding": "cosine_ops", "blended_embedding": "ip_ops"}
# The indexed (and ranked) type, part of the index name (a change builds new indexes). "vector" only for the
# reverse of migration 0004 and the benchmark's before/after (benchmarks.vector_scan).
STORAGE = "halfvec"
_FIELD = {"halfvec": HalfVectorField, "vector": VectorField}
_ensured: set[tuple[str, str, int]] = set()  # (database alias, model id, dim) known to be indexed
_ensured_lock = threading.Lock()
_ADVISORY_KEY = 4_118_001  # serialises index creation across processes


def index_name(column: str, model_id: str, dim: int) -> str:
    # "vector" indexes keep the names they had before halfvec (migration 0004 and its reverse).
    key = f"{model_id}|{dim}" + ("" if STORAGE == "vector" else f"|{STORAGE}")
    return _PREFIX[column] + hashlib.sha256(key.encode()).hexdigest()[:16]


def vector_index(column: str, model_id: str, dim: int) -> HnswIndex:
    return HnswIndex(
        OpClass(Cast(column, _FIELD[STORAGE](dimensions=dim)), name=f"{STORAGE}_{_OPS[column]}"),
        name=index_name(column, model_id, dim),
        condition=Q(model_id=model_id),
        m=settings.SEARCH_HNSW_M,
        ef_construction=settings.SEARCH_HNSW_EF_CONSTRUCTION,
    )


def column_expr(column: str, dim: int, alias: str = "s") -> str:
    """The indexed expression, for raw SQL (``dim`` is an int, never user text)."""
    assert column in COLUMNS
    return f"({alias}.{column})::{STORAGE}({int(dim)})"


def query_expr(param: str, dim: int) -> str:
    """A query vector parameter (``%(param)s``, sent as pgvector text) cast like :func:`column_expr`."""
    return f"%({param})s::{STORAGE}({int(dim)})"


@functools.cache
def _literal_format(dim: int) -> str:
    return "[" + ",".join(["%.9g"] * dim) + "]"


def vector_literal(vector: np.ndarray) -> str:
    """A query vector as pgvector text, for :func:`query_expr`'s parameter: each float32 component with 9
    significant digits, which read back as the same float32. One format call: about a third of the time of
    ``pgvector.Vector``'s shortest-repr text of the float64 values (17 digits), and a shorter string to parse;
    the texts of recent vectors are kept (a repeated query's embedding comes back from the cache equal)."""
    return _literal(np.asarray(vector, dtype=np.float32).ravel().tobytes())


@functools.lru_cache(maxsize=1024)  # at dimension 384: about 7 KB per entry (key and text)
def _literal(data: bytes) -> str:
    values = np.frombuffer(data, dtype=np.float32)
    return _literal_format(len(values)) % tuple(values.tolist())


def built_ef_construction(model_id: str, dim: int) -> int:
    """The ``ef_construction`` that the blended index of ``model_id`` at ``dim`` was built with, from its comment;
    0 when there is no such index."""
    _valid, meta = _existing().get(index_name("blended_embedding", model_id, dim), (False, {}))
    return int(meta.get("ef_construction", 0))


def _existing() -> dict[str, tuple[bool, dict]]:
    """name -> (valid, comment) of this table's HNSW indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, i.indisvalid, obj_description(c.oid, 'pg_class')
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = %s::regclass AND (c.relname LIKE 'stickers\\_img\\_hnsw\\_%%'
                                                  OR c.relname LIKE 'stickers\\_bld\\_hnsw\\_%%')
            """,
            [Sticker._meta.db_table],
        )
        rows = cursor.fetchall()
    result = {}
    for name, valid, comment in rows:
        try:
            meta = json.loads(comment) if comment else {}
        except ValueError:
            meta = {}
        result[name] = (valid, meta)
    return result


class _advisory_lock:
    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_ADVISORY_KEY])

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_KEY])


def ensure_vector_indexes(model_id: str, dim: int) -> list[str]:
    """Create the two HNSW indexes for (model_id, dim) unless they exist; returns the names created.

    Concurrently (no write lock) when not inside a transaction. Cheap after the first call per process.
    """
    key = (connection.alias, model_id, int(dim))
    if key in _ensured:
        return []
    created: list[str] = []
    concurrently = not connection.in_atomic_block
    with _ensured_lock, _advisory_lock():
        existing = _existing()
        for column in COLUMNS:
            index = vector_index(column, model_id, dim)
            state = existing.get(index.name)
            if state and state[0]:
                continue
            with connection.schema_editor(atomic=not concurrently) as editor:
                editor = cast("PostgresSchemaEditor", editor)  # pgvector: always PostgreSQL's
                if state:  # an invalid leftover of an interrupted concurrent build
                    editor.remove_index(Sticker, index, concurrently=concurrently)
                editor.add_index(Sticker, index, concurrently=concurrently)
                comment = json.dumps(
                    {
                        "model_id": model_id,
                        "dim": int(dim),
                        "column": column,
                        "type": STORAGE,
                        "m": settings.SEARCH_HNSW_M,
                        "ef_construction": settings.SEARCH_HNSW_EF_CONSTRUCTION,
                    }
                )
                editor.execute(f"COMMENT ON INDEX {editor.quote_name(index.name)} IS %s", [comment])
            created.append(index.name)
            logger.info("Created HNSW index %s on %s for %s (dim %d)", index.name, column, model_id, dim)
    _ensured.add(key)
    return created


def drop_stale_vector_indexes() -> list[str]:
    """Drop the HNSW indexes of models that no longer have any sticker (after a reindex)."""
    dropped = []
    concurrently = not connection.in_atomic_block
    with _ensured_lock, _advisory_lock():
        for name, (_valid, meta) in _existing().items():
            model_id = meta.get("model_id")
            if model_id is not None and Sticker.objects.filter(model_id=model_id).exists():
                continue
            with connection.schema_editor(atomic=not concurrently) as editor:
                # Django's private helper (PostgreSQL's schema editor); not in django-stubs.
                editor.execute(editor._delete_index_sql(Sticker, name, concurrently=concurrently))  # type: ignore[attr-defined]
            dropped.append(name)
            logger.info("Dropped HNSW index %s (model %s has no stickers left)", name, model_id)
        _ensured.clear()
    return dropped


def drop_vector_indexes(column: str | None = None) -> list[str]:
    """Drop the HNSW indexes of ``column`` (all columns when None), of every model: before a bulk rewrite."""
    dropped = []
    concurrently = not connection.in_atomic_block
    with _ensured_lock, _advisory_lock():
        for name, (_valid, meta) in _existing().items():
            if column is not None and not name.startswith(_PREFIX[column]):
                continue
            with connection.schema_editor(atomic=not concurrently) as editor:
                # Django's private helper (PostgreSQL's schema editor); not in django-stubs.
                editor.execute(editor._delete_index_sql(Sticker, name, concurrently=concurrently))  # type: ignore[attr-defined]
            dropped.append(name)
            logger.info("Dropped HNSW index %s (%s)", name, meta.get("column", column))
        _ensured.clear()
    return dropped


def rebuild_vector_indexes(column: str | None = None) -> None:
    """Build again the HNSW indexes of ``column`` (all when None) for every (model, dimension) in the table."""
    drop_vector_indexes(column)
    for model_id in Sticker.objects.order_by().values_list("model_id", flat=True).distinct():
        sample = Sticker.objects.filter(model_id=model_id).only("image_embedding").first()
        if sample is not None:
            ensure_vector_indexes(model_id, len(sample.image_embedding))


def forget_ensured() -> None:
    """Forget which indexes this process created (tests: the test transaction rolled them back)."""
    _ensured.clear()
