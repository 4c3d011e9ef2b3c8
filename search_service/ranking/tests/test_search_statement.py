"""The ranking runs as one statement string: its knobs apply to that query, the index checks ride along."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from search_service.ranking import selectors
from search_service.stickers.errors import BlendOutdated, ModelMismatch
from search_service.stickers.models import Sticker
from search_service.stickers.vector_index import drop_vector_indexes, ensure_vector_indexes

pytestmark = pytest.mark.django_db
MODEL, DIM, COUNT = "knob-test-model", 16, 80


def _unit(rng, n):
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def stickers(settings):
    rng = np.random.default_rng(0)
    Sticker.objects.bulk_create(
        [
            Sticker(
                filename=f"k{i:02d}.png",
                sha256=f"{i:064x}",
                width=1,
                height=1,
                model_id=MODEL,
                image_embedding=v,
                blended_embedding=v,
                blend_weight=settings.SEARCH_TEXT_WEIGHT,
            )
            for i, v in enumerate(_unit(rng, COUNT))
        ]
    )
    ensure_vector_indexes(MODEL, DIM)
    return _unit(rng, 1)[0]


def test_pages_deeper_than_ef_search_come_from_the_iterative_scan(settings, stickers):
    settings.SEARCH_HNSW_EF_SEARCH = 10
    first = selectors.search(stickers, model_id=MODEL, limit=40, exact=False)
    page = selectors.search(stickers, model_id=MODEL, limit=20, offset=40, exact=False)
    # Without the iterative scan an HNSW scan returns at most ef_search rows.
    assert len(first) == 40 and len(page) == 20
    assert not {hit.filename for hit in first} & {hit.filename for hit in page}
    scores = [hit.score for hit in first + page]
    assert scores == sorted(scores, reverse=True)  # strict order


@pytest.mark.django_db(transaction=True)  # autocommit, as in production (no test transaction around it)
def test_the_knobs_do_not_outlive_the_statement(settings, stickers):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    assert selectors.search(stickers, model_id=MODEL, limit=5, exact=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), current_setting('hnsw.iterative_scan'), "
            "current_setting('enable_seqscan')"
        )
        assert cursor.fetchone() == (before, "off", "on")


def test_an_empty_page_still_carries_the_index_checks(stickers, settings):
    assert selectors.search(stickers, model_id=MODEL, limit=10, offset=COUNT) == []
    Sticker.objects.filter(filename="k00.png").update(blend_weight=0.123)
    with pytest.raises(BlendOutdated):
        selectors.search(stickers, model_id=MODEL, limit=10, offset=COUNT)
    Sticker.objects.filter(filename="k00.png").update(blend_weight=settings.SEARCH_TEXT_WEIGHT)
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


def sent_ef_search(run) -> str:
    selectors.forget_sizes()
    with CaptureQueriesContext(connection) as captured:
        run()
    return re.findall(r"set_config\('hnsw.ef_search', '(\d+)'", captured.captured_queries[-1]["sql"])[0]


def test_ef_search_follows_the_catalogue_size_unless_set(settings, stickers, monkeypatch):
    settings.SEARCH_HNSW_EF_SEARCH = 0
    monkeypatch.setattr(selectors, "EF_SEARCH_BANDS", ((COUNT - 1, 11), (COUNT, 23)))
    reference = Sticker.objects.get(filename="k00.png")

    search = lambda: selectors.search(stickers, model_id=MODEL, limit=5, exact=False)  # noqa: E731
    assert sent_ef_search(search) == "23"  # COUNT stickers: the second band
    assert sent_ef_search(lambda: selectors.similar(reference, model_id=MODEL, limit=30)) == "31"  # at least k
    Sticker.objects.filter(filename="k01.png").delete()
    assert sent_ef_search(search) == "11"
    Sticker.objects.filter(filename__in=["k02.png", "k03.png"]).delete()
    monkeypatch.setattr(selectors, "EF_SEARCH_BANDS", ((COUNT - 5, 11),))
    assert sent_ef_search(search) == "1000"  # past the last band: pgvector's maximum
    settings.SEARCH_HNSW_EF_SEARCH = 30  # a fixed value wins whatever the size
    assert sent_ef_search(search) == "30"


def test_the_ef_search_bands_grow_with_the_catalogue(settings):
    settings.SEARCH_HNSW_EF_SEARCH = 0
    sizes = [1, *(largest for largest, _ in selectors.EF_SEARCH_BANDS), 10**9]
    values = [selectors.ef_search_for(size) for size in sizes]
    assert values == sorted(values) and values[-1] == selectors.MAX_EF_SEARCH
    for largest, ef in selectors.EF_SEARCH_BANDS:
        assert selectors.ef_search_for(largest) == ef and selectors.ef_search_for(largest + 1) >= ef


def test_an_index_built_with_a_sparser_graph_keeps_the_bands_measured_on_such_builds(settings, stickers, monkeypatch):
    settings.SEARCH_HNSW_EF_SEARCH = 0
    monkeypatch.setattr(selectors, "EF_SEARCH_BANDS", ((COUNT, 23),))
    monkeypatch.setattr(selectors, "SPARSE_EF_SEARCH_BANDS", ((COUNT, 47),))
    search = lambda: selectors.search(stickers, model_id=MODEL, limit=5, exact=False)  # noqa: E731
    assert settings.SEARCH_HNSW_EF_CONSTRUCTION >= selectors.DENSE_EF_CONSTRUCTION
    assert sent_ef_search(search) == "23"
    # Built before the denser default (or with a sparser setting): the index's own comment says so.
    drop_vector_indexes()
    settings.SEARCH_HNSW_EF_CONSTRUCTION = 200
    ensure_vector_indexes(MODEL, DIM)
    assert sent_ef_search(search) == "47"
    settings.SEARCH_HNSW_EF_CONSTRUCTION = 400  # rebuilt with the denser graph
    drop_vector_indexes()
    ensure_vector_indexes(MODEL, DIM)
    assert sent_ef_search(search) == "23"
