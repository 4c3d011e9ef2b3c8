"""Searching (through search_service) and counting query usage."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from catalog.selectors import sticker_url
from catalog.services import record_seen_stickers
from searches import client
from searches.errors import ResultWindowExceeded, SearchRefused, SearchUnavailable, UnknownSticker
from searches.models import Query
from searches.normalize import normalize_query

# offset + limit of a search (as Elasticsearch's max_result_window): search_service's ranking is stable up to it.
MAX_RESULT_WINDOW = 1000


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


def record_query_use(text: str) -> int:
    """Count one use of ``text`` (in normal form) atomically (one INSERT ... ON CONFLICT DO UPDATE); returns the
    new count."""
    table = connection.ops.quote_name(Query._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (text, usage_count, first_searched_at, last_searched_at) "  # noqa: S608
            "VALUES (%s, 1, %s, %s) "
            f"ON CONFLICT (text) DO UPDATE SET usage_count = {table}.usage_count + 1, "
            "last_searched_at = EXCLUDED.last_searched_at RETURNING usage_count",
            [text, now, now],
        )
        return cursor.fetchone()[0]


def _unavailable(exc: client.SearchServiceUnavailable) -> SearchUnavailable:
    return SearchUnavailable(details={"dependency": "search_service", "reason": exc.reason})


def _upstream_error(exc: client.SearchServiceError) -> ResultWindowExceeded | SearchRefused | SearchUnavailable:
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


def _hits(ranking: client.Ranking) -> list[StickerHit]:
    return [
        StickerHit(filename=hit.filename, url=sticker_url(hit.filename), score=hit.score, title=hit.title)
        for hit in ranking.hits
    ]


def search_stickers(*, query: str, limit: int, offset: int) -> SearchResult:
    """Stickers matching ``query`` (already validated and trimmed); counts one use of its normal form.

    search_service is asked for the normal form, with the boosts the query's votes give (feedback.boosts).
    Only searches that answered count as a use. Raises :class:`ResultWindowExceeded`, :class:`SearchRefused` or
    :class:`SearchUnavailable`.
    """
    from feedback.boosts import query_boosts

    check_result_window(offset, limit)
    normal = normalize_query(query)
    try:
        ranking = client.search(normal, limit=limit, offset=offset, boosts=query_boosts(normal))
    except client.SearchServiceUnavailable as exc:
        raise _unavailable(exc) from exc
    except client.SearchServiceError as exc:
        raise _upstream_error(exc) from exc
    record_query_use(normal)
    record_seen_stickers((hit.filename, hit.title) for hit in ranking.hits)
    return SearchResult(model=ranking.model, stickers=_hits(ranking))


def similar_stickers(*, filename: str, limit: int) -> SearchResult:
    """Stickers that look like ``filename``; :class:`UnknownSticker` when search_service does not know it."""
    try:
        ranking = client.similar(filename, limit=limit)
    except client.SearchServiceUnavailable as exc:
        raise _unavailable(exc) from exc
    except client.SearchServiceError as exc:
        if exc.status == 404:
            raise UnknownSticker(filename) from exc
        raise _upstream_error(exc) from exc
    record_seen_stickers((hit.filename, hit.title) for hit in ranking.hits)
    return SearchResult(model=ranking.model, stickers=_hits(ranking))
