"""The per-model HNSW indexes exist, are used by the planner, and are dropped with their model."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings
from django.db import connection

from search_service.ranking import selectors
from search_service.stickers.models import Sticker
from search_service.stickers.services import add_sticker
from search_service.stickers.vector_index import (
    _existing,
    drop_stale_vector_indexes,
    ensure_vector_indexes,
    index_name,
    vector_literal,
)
from testkit.images import png

pytestmark = pytest.mark.django_db


def explain(sql_runner) -> str:
    """The plan of the last query the runner sends (EXPLAIN instead of executing it)."""
    captured = []
    original = connection.cursor

    class ExplainingCursor:
        def __init__(self, cursor):
            self.cursor = cursor

        def execute(self, sql, params=None):
            prelude, _, query = sql.rpartition(";")  # ranking sends "SELECT set_config(...); <query>"
            if query.lstrip().upper().startswith(("SELECT EXISTS", "SELECT S.")):
                self.cursor.execute(prelude + (";" if prelude else "") + "EXPLAIN " + query, params)
                captured.append("\n".join(row[0] for row in self.cursor.fetchall()))
                columns = 5 if query.lstrip().upper().startswith("SELECT EXISTS") else 4
                self.cursor.execute(f"SELECT {', '.join(['NULL'] * columns)} LIMIT 0")
            else:
                self.cursor.execute(sql, params)

        def __getattr__(self, name):
            return getattr(self.cursor, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.cursor.close()

    connection.cursor = lambda: ExplainingCursor(original())
    try:
        sql_runner()
    finally:
        connection.cursor = original
    return captured[-1]


def test_search_and_similar_use_the_hnsw_indexes_past_the_exact_scan_size(encoder, settings):
    for i in range(3):
        add_sticker(f"s{i}.png", png(i), title=f"t{i}")
    model, dim = encoder.model_id, encoder.dim
    query = encoder.encode_texts(["a red ball"])[0]
    sticker = Sticker.objects.get(filename="s0.png")
    settings.SEARCH_EXACT_MAX_STICKERS = 2
    selectors.forget_sizes()
    for limit, offset in [(5, 0), (100, 900), (1, 999)]:  # the index's stream whatever the page
        plan = explain(
            lambda limit=limit, offset=offset: selectors.search(query, model_id=model, limit=limit, offset=offset)
        )
        assert index_name("blended_embedding", model, dim) in plan, plan
    assert (
        explain(lambda: selectors.search(query, model_id=model, limit=5, boosts=[("s1.png", 0.1)])).count(
            index_name("blended_embedding", model, dim)
        )
        == 1
    )
    plan = explain(lambda: selectors.similar(sticker, model_id=model, limit=5))
    assert index_name("image_embedding", model, dim) in plan, plan
    settings.SEARCH_EXACT_MAX_STICKERS = 3  # small catalogue: an exact scan
    selectors.forget_sizes()
    for plan in (
        explain(lambda: selectors.search(query, model_id=model, limit=5)),
        explain(lambda: selectors.similar(sticker, model_id=model, limit=5)),
    ):
        assert "_hnsw_" not in plan and "Sort Key" in plan, plan


def test_indexes_are_made_once_per_model_and_dropped_with_it(encoder):
    assert set(ensure_vector_indexes("model-a", 8)) == {
        index_name("image_embedding", "model-a", 8),
        index_name("blended_embedding", "model-a", 8),
    }
    assert ensure_vector_indexes("model-a", 8) == []
    existing = _existing()
    assert existing[index_name("image_embedding", "model-a", 8)] == (
        True,
        {
            "model_id": "model-a",
            "dim": 8,
            "column": "image_embedding",
            "type": "halfvec",
            "m": settings.SEARCH_HNSW_M,
            "ef_construction": settings.SEARCH_HNSW_EF_CONSTRUCTION,
        },
    )
    Sticker.objects.create(
        filename="x.png",
        sha256="0" * 64,
        width=1,
        height=1,
        model_id="model-a",
        image_embedding=np.ones(8, dtype=np.float32),
    )
    assert drop_stale_vector_indexes() == []  # model-a still has a sticker
    Sticker.objects.all().delete()
    assert set(drop_stale_vector_indexes()) == {
        index_name("image_embedding", "model-a", 8),
        index_name("blended_embedding", "model-a", 8),
    }
    assert not _existing()


def test_a_query_vector_travels_to_postgresql_as_the_same_float32_components():
    rng = np.random.default_rng(7)
    vector = np.concatenate([rng.standard_normal(380), [1e-38, -3.4e38, 0.0, 1 / 3]]).astype(np.float32)
    literal = vector_literal(vector)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::vector::text", [literal])
        stored = np.array(cursor.fetchone()[0].strip("[]").split(","), dtype=np.float32)
    assert np.array_equal(stored, vector)
    assert np.array_equal(np.array(literal.strip("[]").split(","), dtype=np.float32), vector)
