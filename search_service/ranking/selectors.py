"""Ranking stickers for a text query or for another sticker, on the HNSW indexes.

Search score (cosine similarities, all vectors unit length)::

    score = (1 - w) * cos(query, image) + w * cos(query, title_and_tags)   if the sticker has a title or tags
    score = cos(query, image)                                              otherwise

with ``w = SEARCH_TEXT_WEIGHT``. Candidates: the top ``K = max(SEARCH_CANDIDATES, offset + limit)`` by image
similarity and the top ``K`` by title/tags similarity, each an HNSW index scan; their union is re-scored
exactly, sorted (ties by age), and cut to ``offset``/``limit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connections
from pgvector import Vector

from config.db_router import read_alias
from stickers.errors import ModelMismatch
from stickers.models import Sticker
from stickers.selectors import index_model_ids
from stickers.vector_index import column_expr

TABLE = Sticker._meta.db_table
MAX_EF_SEARCH = 1000  # pgvector's upper bound


@dataclass(frozen=True)
class Hit:
    filename: str
    score: float
    title: str


def _search_params(k: int) -> tuple[str, dict]:
    """A statement setting the HNSW knobs for the query sent in the same string: ef_search >= K (else fewer
    than K rows come back), and for deeper pages pgvector's (>= 0.8) iterative scan past ef_search.

    Sent with the query in one string, PostgreSQL runs both as one implicit transaction, so the ``is_local``
    settings apply to that query only: one round trip and no BEGIN/COMMIT, and safe behind a transaction
    pooler (the settings never outlive the statement string, whatever connection it lands on).
    """
    ef_search = min(max(settings.SEARCH_HNSW_EF_SEARCH, k), MAX_EF_SEARCH)
    iterative = "relaxed_order" if k > ef_search else "off"
    statement = (
        "SELECT set_config('hnsw.ef_search', %(ef_search)s, true), "
        "set_config('hnsw.iterative_scan', %(iterative_scan)s, true);"
    )
    return statement, {"ef_search": str(ef_search), "iterative_scan": iterative}


def search(
    query_vector: np.ndarray, *, model_id: str, limit: int, offset: int = 0, text_weight: float | None = None
) -> list[Hit]:
    """The best stickers for a query embedding (see the module docstring for the score).

    Raises :class:`ModelMismatch` when the index also holds another model's embeddings: the check rides in
    the same statement (an ``EXISTS`` on the model-id btree), so a search is one round trip to PostgreSQL.
    """
    w = settings.SEARCH_TEXT_WEIGHT if text_weight is None else float(text_weight)
    dim = int(query_vector.shape[0])
    k = max(settings.SEARCH_CANDIDATES, offset + limit)
    image, text = column_expr("image_embedding", dim), column_expr("text_embedding", dim)
    query = f"%(q)s::vector({dim})"
    image_score = f"(1 - ({image} <=> {query}))"
    text_score = f"(1 - ({text} <=> {query}))"
    # SQL assembled from constants and the int dimension only; values travel as parameters.
    text_candidates = (
        f"""
        UNION
        (SELECT s.id FROM {TABLE} s WHERE s.model_id = %(model)s AND s.text_embedding IS NOT NULL
         ORDER BY {text} <=> {query} LIMIT %(k)s)"""  # noqa: S608
        if w > 0
        else ""
    )
    # One row even when nothing matches (LEFT JOIN from a one-row table), carrying the model check.
    sql = f"""
        WITH candidates AS (
            (SELECT s.id FROM {TABLE} s WHERE s.model_id = %(model)s ORDER BY {image} <=> {query} LIMIT %(k)s)
            {text_candidates}
        ), ranked AS (
            SELECT s.id, s.filename, s.title,
                   CASE WHEN s.text_embedding IS NULL THEN {image_score}
                        ELSE (1 - %(w)s) * {image_score} + %(w)s * {text_score} END AS score
            FROM candidates c JOIN {TABLE} s ON s.id = c.id
            ORDER BY score DESC, s.id
            LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT EXISTS (SELECT 1 FROM {TABLE} o WHERE o.model_id < %(model)s OR o.model_id > %(model)s),
               r.filename, r.title, r.score
        FROM (VALUES (1)) AS one (x) LEFT JOIN ranked r ON true
        ORDER BY r.score DESC, r.id
    """  # noqa: S608
    prelude, knobs = _search_params(k)
    params = {
        "q": Vector._to_db(query_vector),
        "model": model_id,
        "k": k,
        "w": w,
        "limit": limit,
        "offset": offset,
        **knobs,
    }
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(prelude + sql, params)
        rows = cursor.fetchall()
    if rows and rows[0][0]:
        raise ModelMismatch(model_id, [m for m in index_model_ids() if m != model_id])
    return [Hit(filename, float(score), title) for _, filename, title, score in rows if filename is not None]


def similar(sticker: Sticker, *, model_id: str, limit: int) -> list[Hit]:
    """The stickers whose image embeddings are nearest to ``sticker``'s, itself excluded."""
    reference = np.asarray(sticker.image_embedding, dtype=np.float32)
    dim = int(reference.shape[0])
    image = column_expr("image_embedding", dim)
    query = f"%(q)s::vector({dim})"
    sql = f"""
        SELECT s.id, s.filename, s.title, 1 - ({image} <=> {query}) AS score
        FROM {TABLE} s WHERE s.model_id = %(model)s
        ORDER BY {image} <=> {query}
        LIMIT %(k)s
    """  # noqa: S608
    k = limit + 1  # itself is (nearly always) the first row
    prelude, knobs = _search_params(k)
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(prelude + sql, {"q": Vector._to_db(reference), "model": model_id, "k": k, **knobs})
        rows = cursor.fetchall()
    return [Hit(filename, float(score), title) for id_, filename, title, score in rows if id_ != sticker.id][:limit]
