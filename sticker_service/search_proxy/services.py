"""Searching through search_service: the stickers for a text (with the lift its votes give) or like a sticker,
with their public URLs; a search that answered counts one use of its query in the query log."""

from __future__ import annotations

from dataclasses import dataclass

from sticker_service.catalog.selectors import sticker_url
from sticker_service.catalog.services import record_seen_stickers
from sticker_service.core import search_client
from sticker_service.feedback.boosts import query_boosts
from sticker_service.search_proxy.errors import (
    MAX_RESULT_WINDOW,
    ResultWindowExceeded,
    SearchRefused,
    SearchUnavailable,
    UnknownSticker,
)
from sticker_service.searches.normalize import normalize_query
from sticker_service.searches.services import record_query_use


def check_result_window(offset: int, limit: int) -> None:
    """:class:`ResultWindowExceeded` past the window (search_service refuses the same with the same code)."""
    if offset + limit > MAX_RESULT_WINDOW:
        raise ResultWindowExceeded(
            f"offset + limit = {offset + limit} is past the result window of {MAX_RESULT_WINDOW} stickers; "
            "refine the query instead of paging deeper.",
            details={"offset": offset, "limit": limit, "max_result_window": MAX_RESULT_WINDOW},
        )


@dataclass(frozen=True)
class StickerHit:
    filename: str
    url: str
    score: float
    title: str


@dataclass(frozen=True)
class SearchResult:
    model: str
    stickers: list[StickerHit]


def _unavailable(exc: search_client.SearchServiceUnavailable) -> SearchUnavailable:
    return SearchUnavailable(details={"dependency": "search_service", "reason": exc.reason})


def _upstream_error(exc: search_client.SearchServiceError) -> ResultWindowExceeded | SearchRefused | SearchUnavailable:
    """A 4xx from search_service: the caller's fault stays a 4xx, a configuration problem is a 503."""
    upstream = {
        "dependency": "search_service",
        "upstream_status": exc.status,
        "upstream_code": exc.code,
        "upstream_message": exc.message,
    }
    if exc.status == 400 and exc.code == "result_window_exceeded":
        return ResultWindowExceeded(exc.message, details={**exc.details, **upstream})
    if exc.status == 400:
        return SearchRefused(
            exc.message or "search_service refused the request.",
            details={**upstream, "fields": exc.details.get("fields", {})},
        )
    if exc.code == "model_mismatch":
        return SearchUnavailable(
            "The search index was built with another model; search is unavailable until it is reindexed.",
            details=upstream,
        )
    return SearchUnavailable(details=upstream)


def _hits(ranking: search_client.Ranking) -> list[StickerHit]:
    return [
        StickerHit(filename=hit.filename, url=sticker_url(hit.filename), score=hit.score, title=hit.title)
        for hit in ranking.hits
    ]


def search_stickers(*, query: str, limit: int, offset: int, client_key: str | None = None) -> SearchResult:
    """Stickers matching ``query`` (already validated and trimmed); counts one use of its normal form.

    search_service is asked for the normal form, with the boosts the query's votes give (feedback.boosts).
    Only searches that answered count as a use (``client_key``: the searcher's hash, for the distinct-client
    count). Raises :class:`ResultWindowExceeded`, :class:`SearchRefused` or :class:`SearchUnavailable`.
    """
    check_result_window(offset, limit)
    normal = normalize_query(query)
    try:
        ranking = search_client.search(normal, limit=limit, offset=offset, boosts=query_boosts(normal))
    except search_client.SearchServiceUnavailable as exc:
        raise _unavailable(exc) from exc
    except search_client.SearchServiceError as exc:
        raise _upstream_error(exc) from exc
    record_query_use(normal, client_key=client_key)
    record_seen_stickers((hit.filename, hit.title) for hit in ranking.hits)
    return SearchResult(model=ranking.model, stickers=_hits(ranking))


def similar_stickers(*, filename: str, limit: int) -> SearchResult:
    """Stickers that look like ``filename``; :class:`UnknownSticker` when search_service does not know it."""
    try:
        ranking = search_client.similar(filename, limit=limit)
    except search_client.SearchServiceUnavailable as exc:
        raise _unavailable(exc) from exc
    except search_client.SearchServiceError as exc:
        if exc.status == 404:
            raise UnknownSticker(filename) from exc
        raise _upstream_error(exc) from exc
    record_seen_stickers((hit.filename, hit.title) for hit in ranking.hits)
    return SearchResult(model=ranking.model, stickers=_hits(ranking))
