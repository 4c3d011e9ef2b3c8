"""The blended embedding: the search score of a sticker as one inner product.

For a unit query ``q`` and unit embeddings, ``(1 - w) cos(q, image) + w cos(q, text) = q . ((1 - w) image + w text)``.
Each sticker stores ``b = (1 - w) image + w text`` (``image`` alone when it has no title/tags) and the ``w`` it
was made with (``blend_weight``); search ranks by ``b <#> q`` on an inner-product HNSW index and the score is
``-(b <#> q)``, the exact blend, with no re-scoring. A changed ``SEARCH_TEXT_WEIGHT`` is never mixed with old
vectors: the search refuses (:class:`~stickers.errors.BlendOutdated`) until :func:`reblend` has run
(``python -m search_service reblend``).
"""

from __future__ import annotations

import logging
import time

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from .models import Sticker
from .signals import index_changed

logger = logging.getLogger(__name__)
TABLE = Sticker._meta.db_table


def blend(image: np.ndarray, text: np.ndarray | None, weight: float) -> np.ndarray:
    """``(1 - w) * image + w * text`` in float32 (the same arithmetic as :func:`blend_sql`)."""
    image = np.asarray(image, dtype=np.float32)
    if text is None:
        return image
    return np.float32(1.0 - weight) * image + np.float32(weight) * np.asarray(text, dtype=np.float32)


def blend_sql(weight_param: str = "w") -> str:
    """SQL for the blended vector of a row, with the weight as the parameter ``%(<weight_param>)s``."""
    w = f"%({weight_param})s"
    ones = "array_fill(({w})::real, ARRAY[vector_dims(image_embedding)])::vector"
    rest = "array_fill((1 - {w})::real, ARRAY[vector_dims(image_embedding)])::vector"
    return (
        f"CASE WHEN text_embedding IS NULL THEN image_embedding "
        f"ELSE image_embedding * {rest.format(w=w)} + text_embedding * {ones.format(w=w)} END"
    )


def outdated_count(weight: float | None = None) -> int:
    """Rows whose blended embedding was not made with ``weight`` (default SEARCH_TEXT_WEIGHT)."""
    weight = settings.SEARCH_TEXT_WEIGHT if weight is None else weight
    return Sticker.objects.exclude(blend_weight=weight).count()  # Django's exclude() also counts the nulls


def reblend(weight: float | None = None) -> int:
    """Blend every row with ``weight`` (default SEARCH_TEXT_WEIGHT) and rebuild the blended HNSW indexes.

    The blended indexes are dropped first (one build is much faster than rewriting every graph entry), the rows
    are rewritten in one transaction (searches see either the old vectors, refused as outdated, or all the new
    ones), and the indexes are built again. Returns the number of rows rewritten.
    """
    from .vector_index import drop_vector_indexes, rebuild_vector_indexes

    weight = float(settings.SEARCH_TEXT_WEIGHT if weight is None else weight)
    if not outdated_count(weight):
        return 0
    started = time.perf_counter()
    drop_vector_indexes("blended_embedding")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET blended_embedding = {blend_sql()}, blend_weight = %(w)s "  # noqa: S608
            "WHERE blend_weight IS NULL OR blend_weight <> %(w)s",
            {"w": weight},
        )
        rows = cursor.rowcount
    rebuild_vector_indexes("blended_embedding")
    index_changed.send(sender=Sticker)
    logger.info("Re-blended %d stickers with text weight %s in %.1f s", rows, weight, time.perf_counter() - started)
    return rows
