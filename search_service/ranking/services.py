"""Search and similar stickers as the API serves them: the model, the query adapter, replica routing, the result
cache and the metrics around the ranking of :mod:`.selectors`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from search_service.adapters import serving as adapter_serving
from search_service.core.db_router import on_replica
from search_service.core.metrics import RANKING_SECONDS
from search_service.encoders.loader import get_encoder
from search_service.stickers.selectors import check_model, get_sticker

from . import lexical, result_cache, selectors
from .selectors import Hit


@dataclass(frozen=True)
class Ranking:
    model: str  # id of the model that ranked the stickers
    hits: list[Hit]  # best first


@dataclass(frozen=True)
class SearchResult(Ranking):
    adapter_version: int  # the query adapter that moved the query vector (0: none, the model's own embedding)


def search_stickers(
    query: str, *, limit: int, offset: int = 0, boosts: Sequence[tuple[str, float]] = ()
) -> SearchResult:
    """The stickers best matching ``query`` (validated and trimmed), ranks ``offset`` to ``offset + limit``.

    Emoji in the query are read as their CLDR names. The query vector is the model's embedding of that text, moved
    by the query adapter this process serves; its words are matched in titles and tags (:mod:`.lexical`), and both
    scores fused in one ranking; the ranking reads from the replica when one is usable; the same search within
    SEARCH_RESULT_CACHE_TTL is answered from the result cache.
    ``boosts``: (filename, boost) pairs (:func:`.selectors.search`).
    Raises ResultWindowExceeded (before the text is encoded), ModelUnavailable, ModelMismatch, BlendOutdated and
    SearchTimeout.
    """
    selectors.check_result_window(offset, limit)
    encoder = get_encoder()
    model_id = encoder.model_id
    # The query adapter served now, if any (read like the ranking: from the replica when one is usable).
    adapter = on_replica(lambda: adapter_serving.current(model_id, encoder.dim))
    version = adapter_serving.version_of(adapter)
    boosts = tuple(boosts)
    text = lexical.expand_emoji(query)  # "🎂" is searched as "birthday cake"

    def read(vector: np.ndarray) -> list[Hit]:
        words = None
        if settings.SEARCH_LEXICAL_WEIGHT > 0:
            words = lexical.analyse(text, catalogue=selectors.catalogue_size(model_id))
        return selectors.search(vector, model_id=model_id, limit=limit, offset=offset, boosts=boosts, lexical=words)

    # selectors.search also refuses (ModelMismatch, BlendOutdated) while the index is not searchable as it is.
    def rank() -> list[Hit]:
        vector = adapter_serving.query_vector(text, adapter)
        with RANKING_SECONDS.time():
            return on_replica(lambda: read(vector))

    hits = result_cache.cached(("search", model_id, version, query, limit, offset, boosts), rank)
    return SearchResult(model=model_id, hits=hits, adapter_version=version)


def similar_stickers(filename: str, *, limit: int) -> Ranking:
    """The stickers whose images are nearest to ``filename``'s, itself excluded.

    Raises UnknownSticker, ModelUnavailable, ModelMismatch and SearchTimeout.
    """
    model_id = get_encoder().model_id

    def read() -> list[Hit]:
        check_model(model_id)
        sticker = get_sticker(filename)
        return selectors.similar(sticker, model_id=model_id, limit=limit)

    return Ranking(model=model_id, hits=on_replica(read))
