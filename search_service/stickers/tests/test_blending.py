"""Every write path stores the blended vector (the search score as one inner product) and its weight."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from search_service.stickers.blending import blend, blend_sql, outdated_count, reblend
from search_service.stickers.models import Sticker
from search_service.stickers.services import add_sticker, update_metadata
from testkit.images import png

pytestmark = pytest.mark.django_db


def _stored(filename: str) -> Sticker:
    """The row, its vectors as float32 arrays (the driver hands out Python floats parsed from text)."""
    sticker = Sticker.objects.get(filename=filename)
    for column in ("image_embedding", "text_embedding", "blended_embedding"):
        value = getattr(sticker, column)
        setattr(sticker, column, None if value is None else np.asarray(value, dtype=np.float32))
    return sticker


def test_upload_and_metadata_changes_store_the_blend(encoder, settings):
    add_sticker("plain.png", png(1))
    add_sticker("titled.png", png(2), title="red ball", tags=["ball"])
    plain, titled = _stored("plain.png"), _stored("titled.png")
    np.testing.assert_array_equal(plain.blended_embedding, plain.image_embedding)
    np.testing.assert_array_equal(
        titled.blended_embedding, blend(titled.image_embedding, titled.text_embedding, settings.SEARCH_TEXT_WEIGHT)
    )
    assert {plain.blend_weight, titled.blend_weight} == {settings.SEARCH_TEXT_WEIGHT}
    update_metadata([(Sticker.objects.defer("image_embedding").get(filename="plain.png"), "blue box", [])])
    plain = _stored("plain.png")
    assert plain.text_embedding is not None
    np.testing.assert_array_equal(
        plain.blended_embedding, blend(plain.image_embedding, plain.text_embedding, settings.SEARCH_TEXT_WEIGHT)
    )
    query = encoder.encode_texts(["blue box"])[0]
    expected = 0.3 * float(query @ plain.image_embedding) + 0.7 * float(query @ plain.text_embedding)
    assert float(query @ plain.blended_embedding) == pytest.approx(expected, abs=1e-6)


def test_the_sql_blend_is_the_numpy_blend_bit_for_bit(settings):
    rng = np.random.default_rng(3)
    image, text = rng.standard_normal((2, 64)).astype(np.float32)
    for weight in (0.0, 0.3, 0.7, 1.0):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT ({blend_sql()})::real[] FROM (SELECT %(i)s::vector AS image_embedding, "  # noqa: S608
                "%(t)s::vector AS text_embedding) AS row",
                {"w": weight, "i": image.tolist(), "t": text.tolist()},
            )
            from_sql = np.asarray(cursor.fetchone()[0], dtype=np.float32)
        np.testing.assert_array_equal(from_sql, blend(image, text, weight))


def test_reblend_rewrites_only_what_another_weight_made(encoder, settings):
    add_sticker("a.png", png(1), title="a")
    add_sticker("b.png", png(2), title="b")
    assert outdated_count() == 0 and reblend() == 0
    settings.SEARCH_TEXT_WEIGHT = 0.25
    assert outdated_count() == 2
    assert reblend() == 2 and outdated_count() == 0
    a = _stored("a.png")
    np.testing.assert_array_equal(a.blended_embedding, blend(a.image_embedding, a.text_embedding, 0.25))
