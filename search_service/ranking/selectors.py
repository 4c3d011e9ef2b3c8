"""Ranking stickers for a text query or for another sticker.

Search score (all vectors unit length, ``w = SEARCH_TEXT_WEIGHT``, ``beta = SEARCH_LEXICAL_WEIGHT``)::

    vector = (1 - w) * cos(query, image) + w * cos(query, title_and_tags)   if the sticker has a title or tags
    vector = cos(query, image)                                              otherwise
           = query . blended        (blended = (1 - w) image + w text, stored per sticker: stickers.blending)
    score  = vector + beta * lexical

``query . blended`` is computed on both vectors cast to ``halfvec`` (float16 components, products summed in
float32: ``stickers.vector_index``), on the exact path as on the HNSW one, so both order by the same numbers;
a score differs from the float32 product by at most about 2^-10 (each factor rounded to 11 bits, sum |q_i b_i| <= 1).

``lexical`` (0..1, :mod:`.lexical`) is the idf-weighted share of the query's words found in the sticker's title
and tags (``search_tsv``), counted for the stickers holding a rare word (one held by at most
SEARCH_LEXICAL_MAX_MATCHES stickers: the GIN index finds them all) and for the first SEARCH_LEXICAL_NEAREST stickers
of the vector stream (where a common word counts too); every other sticker's ``lexical`` is 0. Both sets are the
same for every page. Plus, for stickers listed in
the request's boosts, a boost clamped to ``[-SEARCH_BOOST_MAX, SEARCH_BOOST_MAX]``.

One scan gives the exact score: ``ORDER BY blended <#> q`` on the inner-product HNSW index, with pgvector's
iterative scan in ``strict_order`` and an ``hnsw.ef_search`` that follows the catalogue's size
(:func:`ef_search_for`, never raised with the page): the index yields one stream of stickers in non-decreasing
distance whatever the LIMIT, so a page is a slice of that stream and pages of any size concatenate to one ranking
(up to ``offset + limit <= MAX_RESULT_WINDOW``). Catalogues of at most SEARCH_EXACT_MAX_STICKERS stickers are ranked
by an exact scan (ties by id). With boosts, the first ``offset + limit + len(boosts)`` stickers of that stream and
the boosted stickers (wherever they are) are re-sorted by score + boost (ties by id): the top ``offset + limit`` of
that union equals the top of the whole boosted ranking, so pages stay stable for the same boosts. The full text
joins the same union: the stream is read at least SEARCH_LEXICAL_NEAREST deep if a word is common, the rare
words' holders (computed in the same statement, GIN index on ``search_tsv``) are added to the candidates and
everything is sorted by the fused score; a sticker outside the union has no lexical score and no boost, so at least
``offset + limit`` candidates of the stream score at least as high: the union's top is the top of the whole fused
ranking, for any page size. When every query word is rare, every sticker with a lexical score is among the rare
words' holders, so the stream is read only ``offset + limit + len(boosts)`` deep (the same argument holds).

Every statement carries its settings (``set_config(..., true)`` in the same string: one round trip), among them
``statement_timeout`` = SEARCH_STATEMENT_TIMEOUT_MS, so an abandoned query stops in PostgreSQL too, and the
checks that refuse a mixed index (another model's rows: ``ModelMismatch``; rows blended with another weight:
``BlendOutdated``) ride in the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import OperationalError, connections
from psycopg2 import errors as pg_errors

from search_service.core.db_router import read_alias
from search_service.stickers.errors import BlendOutdated, ModelMismatch
from search_service.stickers.models import Sticker
from search_service.stickers.selectors import index_model_ids
from search_service.stickers.signals import index_changed
from search_service.stickers.vector_index import built_ef_construction, column_expr, query_expr, vector_literal
from servicekit.caching import LRU

from .errors import MAX_RESULT_WINDOW, ResultWindowExceeded, SearchTimeout
from .lexical import LexicalQuery

TABLE = Sticker._meta.db_table
MAX_EF_SEARCH = 1000  # pgvector's upper bound
SIZE_TTL = 60.0  # seconds a catalogue size (exact scan or HNSW) is reused by this process


@dataclass(frozen=True)
class Hit:
    filename: str
    score: float
    title: str


# --- exact scan or HNSW ---------------------------------------------------------------------------------------
_sizes: LRU[str, int] = LRU(64, ttl=SIZE_TTL)
_builds: LRU[tuple[str, int], int] = LRU(64, ttl=SIZE_TTL)


def forget_sizes(**_signal_kwargs) -> None:
    _sizes.clear()
    _builds.clear()


index_changed.connect(forget_sizes, dispatch_uid="ranking.selectors.forget_sizes")


def catalogue_size(model_id: str) -> int:
    """Stickers of ``model_id``, counted at most once a minute per process (and after this process's writes)."""
    return _sizes.get_or_compute(model_id, lambda: Sticker.objects.filter(model_id=model_id).count())[0]


# (largest catalogue, hnsw.ef_search) per size band, from benchmarks/RESULTS.md "The vector scan's limits (seeded
# data)" and its re-runs (halfvec, m 32): the smallest of the measured values whose first page reached recall@10
# >= 0.98 at the band's largest size (10k, ef_construction 200: 100 gave 0.989; 100k, ef_construction 400, section
# "... (seeded data, 100k-efc)": 200 gave 0.996, 100 0.971). Larger catalogues: pgvector's maximum (1M,
# ef_construction 400: 0.960, section "... (seeded data, 1M-efc400)").
EF_SEARCH_BANDS: tuple[tuple[int, int], ...] = ((10_000, 100), (100_000, 200))
# Indexes built with a sparser graph (ef_construction < 400, the default before; e.g. not yet rebuilt after an
# upgrade) keep the bands measured on them: at 100k, ef_search 200 gave 0.968 to 0.987 there, 400 0.987 to 0.998.
DENSE_EF_CONSTRUCTION = 400
SPARSE_EF_SEARCH_BANDS: tuple[tuple[int, int], ...] = ((10_000, 100), (100_000, 400))


def ef_search_for(size: int, ef_construction: int = DENSE_EF_CONSTRUCTION) -> int:
    """``hnsw.ef_search`` for a catalogue of ``size`` stickers whose index was built with ``ef_construction``:
    SEARCH_HNSW_EF_SEARCH when set (> 0), else the band's value (:data:`EF_SEARCH_BANDS`, or
    :data:`SPARSE_EF_SEARCH_BANDS` for a sparser or unknown build; past the last band, pgvector's maximum). The same
    for every page of a catalogue, so pages stay slices of one stream."""
    if settings.SEARCH_HNSW_EF_SEARCH:
        return int(settings.SEARCH_HNSW_EF_SEARCH)
    bands = EF_SEARCH_BANDS if ef_construction >= DENSE_EF_CONSTRUCTION else SPARSE_EF_SEARCH_BANDS
    return next((ef for largest, ef in bands if size <= largest), MAX_EF_SEARCH)


def _ef_search(size: int, model_id: str, dim: int, *, exact: bool) -> int:
    """:func:`ef_search_for` this catalogue and the build of its blended HNSW index (its ``ef_construction``, 0 for
    none, read at most once a minute per process); an exact scan reads no index."""
    if exact:
        return ef_search_for(size)
    built, _hit = _builds.get_or_compute((model_id, dim), lambda: built_ef_construction(model_id, dim))
    return ef_search_for(size, built)


def _settings_prelude(*, exact: bool, ef_search: int) -> tuple[str, dict]:
    """The statement setting this query's knobs, sent in the same string as the query.

    PostgreSQL runs a multi-statement string as one implicit transaction, so the ``is_local`` settings apply to
    that query only: one round trip, no BEGIN/COMMIT, safe behind a transaction pooler. Exact: no index scans
    (the HNSW index cannot serve the ordering, a sequential scan and a top-N sort do). HNSW: no sequential scans
    or sorts, so the planner takes the index whatever the LIMIT (its stream is what makes pages stable).
    """
    knobs = {
        "ef_search": str(ef_search),
        "iterative": "strict_order",
        "timeout": str(settings.SEARCH_STATEMENT_TIMEOUT_MS),
        "indexscan": "off" if exact else "on",
        "seqscan": "on" if exact else "off",
        "sort": "on" if exact else "off",
    }
    statement = (
        "SELECT set_config('hnsw.ef_search', %(ef_search)s, true), "
        "set_config('hnsw.iterative_scan', %(iterative)s, true), "
        "set_config('statement_timeout', %(timeout)s, true), "
        "set_config('enable_indexscan', %(indexscan)s, true), "
        "set_config('enable_seqscan', %(seqscan)s, true), "
        "set_config('enable_sort', %(sort)s, true);"
    )
    return statement, knobs


def _run(sql: str, params: dict) -> list[tuple]:
    try:
        with connections[read_alias()].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    except OperationalError as exc:
        if isinstance(exc.__cause__, pg_errors.QueryCanceled):
            raise SearchTimeout(settings.SEARCH_STATEMENT_TIMEOUT_MS) from exc
        raise


def check_result_window(offset: int, limit: int) -> None:
    if offset + limit > MAX_RESULT_WINDOW:
        raise ResultWindowExceeded(offset, limit, MAX_RESULT_WINDOW)


def clamp_boosts(boosts: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """One boost per filename (the last one given), clamped to [-SEARCH_BOOST_MAX, SEARCH_BOOST_MAX]."""
    cap = settings.SEARCH_BOOST_MAX
    merged = {filename: min(max(float(boost), -cap), cap) for filename, boost in boosts}
    return sorted(merged.items())


def _lexical_score(words: Sequence[Sequence[tuple[str, float]]], params: dict) -> str:
    """SQL for a sticker's lexical score: per query word, the weight of its best alternative found in
    ``s.search_tsv`` (0 if none), summed. Adds the tsqueries and weights to ``params``."""
    terms = []
    for i, alternatives in enumerate(words):
        cases = []
        for j, (tsquery, weight) in enumerate(sorted(alternatives, key=lambda a: -a[1])):
            params[f"lq{i}_{j}"], params[f"lw{i}_{j}"] = tsquery, weight
            cases.append(f"WHEN s.search_tsv @@ %(lq{i}_{j})s::tsquery THEN %(lw{i}_{j})s::float8")
        terms.append(f"(CASE {' '.join(cases)} ELSE 0 END)")
    return " + ".join(terms)


def search(
    query_vector: np.ndarray,
    *,
    model_id: str,
    limit: int,
    offset: int = 0,
    boosts: Sequence[tuple[str, float]] = (),
    lexical: LexicalQuery | None = None,
    exact: bool | None = None,
) -> list[Hit]:
    """The best stickers for a query embedding (see the module docstring for the score and the pages).

    ``lexical``: the query's words (:func:`.lexical.analyse`), fused when SEARCH_LEXICAL_WEIGHT > 0.
    ``exact``: force the exact scan (True) or the HNSW scan (False); default by catalogue size.
    Raises :class:`ResultWindowExceeded`, :class:`ModelMismatch`, :class:`BlendOutdated`, :class:`SearchTimeout`.
    """
    check_result_window(offset, limit)
    w = float(settings.SEARCH_TEXT_WEIGHT)
    dim = int(query_vector.shape[0])
    size = catalogue_size(model_id)
    if exact is None:
        exact = size <= settings.SEARCH_EXACT_MAX_STICKERS
    boosts = clamp_boosts(boosts)
    beta = float(settings.SEARCH_LEXICAL_WEIGHT)
    fused = lexical if lexical is not None and beta > 0 else LexicalQuery(())
    words = fused.words
    distance = f"({column_expr('blended_embedding', dim)} <#> {query_expr('q', dim)})"
    tie = ", s.id" if exact else ""  # the HNSW stream's order is kept as it is (strict order)
    params: dict = {}
    depth = offset + limit + len(boosts)
    # SQL assembled from constants, the int dimension and parameter names only; values travel as parameters.
    if not boosts and not words:
        page = f"""
            SELECT s.id, s.filename, s.title, -{distance} AS score FROM {TABLE} s WHERE s.model_id = %(model)s
            ORDER BY {distance}{tie} LIMIT %(limit)s OFFSET %(offset)s"""  # noqa: S608
    else:
        # Each candidate's vector (and lexical) score is read with the row that brings it in (scan, rare-word match,
        # boost); only the page's rows are joined again for their filename and title.
        # The lexical score of a scanned sticker counts within the stream's first SEARCH_LEXICAL_NEAREST only (the
        # same stickers whatever the page), so that a deeper page's scan gives no sticker a score it lacked before.
        lex = _lexical_score(words, params) if words else "0::float8"
        ctes = [
            "scan AS (SELECT t.id, t.vector, CASE WHEN row_number() OVER () <= %(nearest)s THEN t.lex ELSE 0 END "  # noqa: S608
            f"AS lex FROM (SELECT s.id, -{distance} AS vector, {lex} AS lex FROM {TABLE} s "
            f"WHERE s.model_id = %(model)s ORDER BY {distance}{tie} LIMIT %(depth)s) t)"
        ]
        sources, joins, score = ["SELECT id, vector, lex FROM scan"], [], ["c.vector"]
        params["nearest"] = settings.SEARCH_LEXICAL_NEAREST if words else 0
        if words:
            score.append("%(beta)s * c.lex")
            params["beta"] = beta
            rare = fused.rare(settings.SEARCH_LEXICAL_MAX_MATCHES)
            if not fused.all_rare(settings.SEARCH_LEXICAL_MAX_MATCHES):
                # A common word scores in the stream's first SEARCH_LEXICAL_NEAREST only; with rare words alone,
                # every sticker that has a lexical score is among their holders, so the page's depth suffices.
                depth = max(depth, settings.SEARCH_LEXICAL_NEAREST)
            if rare:
                ctes.append(
                    f"matched AS (SELECT s.id, -{distance} AS vector, {lex} AS lex FROM {TABLE} s "  # noqa: S608
                    "WHERE s.model_id = %(model)s AND s.search_tsv @@ %(rare)s::tsquery)"
                )
                sources.append("SELECT id, vector, lex FROM matched")
                params["rare"] = rare
        if boosts:
            ctes.append(
                f"boosted AS (SELECT s.id, -{distance} AS vector, b.boost "  # noqa: S608
                "FROM unnest(%(names)s::text[], %(boosts)s::float8[]) AS b (filename, boost) "
                f"JOIN {TABLE} s ON s.filename = b.filename AND s.model_id = %(model)s)"
            )
            sources.append("SELECT id, vector, 0::float8 FROM boosted")
            joins.append("LEFT JOIN boosted b ON b.id = c.id")
            score.append("coalesce(b.boost, 0)")
        page = f"""
            WITH {", ".join(ctes)}, candidates AS (
                SELECT id, max(vector) AS vector, max(lex) AS lex FROM ({" UNION ALL ".join(sources)}) u GROUP BY id
            ), ranked AS (
                SELECT c.id, {" + ".join(score)} AS score FROM candidates c {" ".join(joins)}
                ORDER BY score DESC, c.id LIMIT %(limit)s OFFSET %(offset)s
            )
            SELECT s.id, s.filename, s.title, r.score FROM ranked r JOIN {TABLE} s ON s.id = r.id
            ORDER BY r.score DESC, r.id"""  # noqa: S608
    # One row even when nothing matches (LEFT JOIN from the one-row checks), carrying both index checks.
    sql = f"""
        SELECT EXISTS (SELECT 1 FROM {TABLE} o WHERE o.model_id < %(model)s OR o.model_id > %(model)s),
               EXISTS (SELECT 1 FROM {TABLE} o WHERE o.model_id = %(model)s
                       AND (o.blend_weight IS NULL OR o.blend_weight < %(w)s OR o.blend_weight > %(w)s)),
               r.filename, r.title, r.score
        FROM (VALUES (1)) AS one (x)
        LEFT JOIN (SELECT p.*, row_number() OVER () AS position FROM ({page}) p) r ON true
        ORDER BY r.position
    """  # noqa: S608
    prelude, knobs = _settings_prelude(exact=exact, ef_search=_ef_search(size, model_id, dim, exact=exact))
    params |= {
        "q": vector_literal(query_vector),
        "model": model_id,
        "w": w,
        "limit": limit,
        "offset": offset,
        "depth": depth,
        "names": [name for name, _ in boosts],
        "boosts": [boost for _, boost in boosts],
        **knobs,
    }
    rows = _run(prelude + sql, params)
    if rows and rows[0][0]:
        raise ModelMismatch(model_id, [m for m in index_model_ids() if m != model_id])
    if rows and rows[0][1]:
        raise BlendOutdated(w)
    return [Hit(filename, float(score), title) for _, _, filename, title, score in rows if filename is not None]


def similar(sticker: Sticker, *, model_id: str, limit: int) -> list[Hit]:
    """The stickers whose image embeddings are nearest to ``sticker``'s, itself excluded."""
    reference = np.asarray(sticker.image_embedding, dtype=np.float32)
    dim = int(reference.shape[0])
    image = column_expr("image_embedding", dim)
    query = query_expr("q", dim)
    k = limit + 1  # itself is (nearly always) the first row
    size = catalogue_size(model_id)
    exact = size <= settings.SEARCH_EXACT_MAX_STICKERS
    sql = f"""
        SELECT s.id, s.filename, s.title, 1 - ({image} <=> {query}) AS score
        FROM {TABLE} s WHERE s.model_id = %(model)s
        ORDER BY {image} <=> {query}{", s.id" if exact else ""}
        LIMIT %(k)s
    """  # noqa: S608
    ef_search = min(max(_ef_search(size, model_id, dim, exact=exact), k), MAX_EF_SEARCH)
    prelude, knobs = _settings_prelude(exact=exact, ef_search=ef_search)
    rows = _run(prelude + sql, {"q": vector_literal(reference), "model": model_id, "k": k, **knobs})
    return [Hit(filename, float(score), title) for id_, filename, title, score in rows if id_ != sticker.id][:limit]
