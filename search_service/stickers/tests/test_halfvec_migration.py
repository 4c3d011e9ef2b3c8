"""stickers 0004: the HNSW indexes are rebuilt on halfvec casts, and its reverse brings back the vector ones."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from search_service.stickers.models import Sticker
from search_service.stickers.vector_index import forget_ensured

MODEL, DIM = "migration-model", 8


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def hnsw_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE '%%USING hnsw%%'",
            [Sticker._meta.db_table],
        )
        return dict(cursor.fetchall())


def name(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:16]


@pytest.mark.django_db(transaction=True)
def test_the_indexes_move_to_halfvec_and_back():
    vector = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    Sticker.objects.create(
        filename="m.png",
        sha256="0" * 64,
        width=1,
        height=1,
        model_id=MODEL,
        image_embedding=vector,
        blended_embedding=vector,
        blend_weight=0.7,
    )
    try:
        migrate(("stickers", "0003_full_text"))
        old = hnsw_indexes()  # the names and definitions of the indexes before issue 25
        assert set(old) == {name("stickers_img_hnsw_", f"{MODEL}|{DIM}"), name("stickers_bld_hnsw_", f"{MODEL}|{DIM}")}
        assert all(f"::vector({DIM})" in definition for definition in old.values()), old
        migrate(("stickers", "0004_halfvec_indexes"))
        new = hnsw_indexes()
        img = name("stickers_img_hnsw_", f"{MODEL}|{DIM}|halfvec")
        bld = name("stickers_bld_hnsw_", f"{MODEL}|{DIM}|halfvec")
        assert set(new) == {img, bld}
        assert (
            f"::halfvec({DIM})) halfvec_cosine_ops" in new[img] and f"WHERE ((model_id)::text = '{MODEL}'" in new[img]
        )
        assert f"::halfvec({DIM})) halfvec_ip_ops" in new[bld], new
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("stickers")[0])
        forget_ensured()
