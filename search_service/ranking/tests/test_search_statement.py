"""The ranking runs as one statement string: its HNSW knobs apply to that query, the model check rides along."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from ranking import selectors
from stickers.errors import ModelMismatch
from stickers.models import Sticker
from stickers.vector_index import ensure_vector_indexes

pytestmark = pytest.mark.django_db
MODEL, DIM, COUNT = "knob-test-model", 16, 80


def _unit(rng, n):
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def stickers():
    rng = np.random.default_rng(0)
    Sticker.objects.bulk_create(
        [
            Sticker(filename=f"k{i:02d}.png", sha256=f"{i:064x}", width=1, height=1, model_id=MODEL, image_embedding=v)
            for i, v in enumerate(_unit(rng, COUNT))
        ]
    )
    ensure_vector_indexes(MODEL, DIM)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # small table: make the planner use the HNSW index
    return _unit(rng, 1)[0]


def test_ef_search_is_raised_to_the_candidate_count_for_that_query(settings, stickers):
    settings.SEARCH_HNSW_EF_SEARCH, settings.SEARCH_CANDIDATES = 10, 70
    hits = selectors.search(stickers, model_id=MODEL, limit=70, text_weight=0.0)
    # An HNSW scan returns at most ef_search rows: pgvector's default (40) or the setting (10) would cut this.
    assert len(hits) == 70
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_deep_pages_scan_past_ef_search(settings, stickers):
    settings.SEARCH_HNSW_EF_SEARCH, settings.SEARCH_CANDIDATES = 10, 10
    first = selectors.search(stickers, model_id=MODEL, limit=40, text_weight=0.0)
    page = selectors.search(stickers, model_id=MODEL, limit=20, offset=40, text_weight=0.0)
    assert len(first) == 40 and len(page) == 20
    assert not {hit.filename for hit in first} & {hit.filename for hit in page}


def test_an_empty_page_still_carries_the_model_check(stickers):
    assert selectors.search(stickers, model_id=MODEL, limit=10, offset=COUNT) == []
    Sticker.objects.create(
        filename="other.png",
        sha256="f" * 64,
        width=1,
        height=1,
        model_id="another-model",
        image_embedding=np.ones(DIM, dtype=np.float32),
    )
    with pytest.raises(ModelMismatch) as caught:
        selectors.search(stickers, model_id=MODEL, limit=10, offset=COUNT)
    assert caught.value.index_models == ["another-model"]
