"""Searching (through search_service) and counting query usage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from sticker_service.catalog.selectors import sticker_url
from sticker_service.catalog.services import record_seen_stickers
from sticker_service.core import search_client
from sticker_service.searches.errors import ResultWindowExceeded, SearchRefused, SearchUnavailable, UnknownSticker
from sticker_service.searches.models import Query, QueryClient, QueryHourlyUse
from sticker_service.searches.normalize import normalize_query
from sticker_service.searches.selectors import MAX_WINDOW_HOURS, current_hour

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


def record_query_use(text: str, *, client_key: str | None = None) -> int:
    """Count one use of ``text`` (as given: searches pass the normal form) and return its new usage count.

    One transaction, every count incremented in the database so concurrent searches lose none: the query's
    counter and its current hour's count (``INSERT ... ON CONFLICT DO UPDATE``), and, with ``client_key`` (a hash
    from :func:`searches.normalize.client_hash`), the (query, client) pair (``ON CONFLICT DO NOTHING``) whose
    insertion bumps the query's distinct-client count.
    """
    query_table = connection.ops.quote_name(Query._meta.db_table)
    hourly_table = connection.ops.quote_name(QueryHourlyUse._meta.db_table)
    client_table = connection.ops.quote_name(QueryClient._meta.db_table)
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"WITH q AS (INSERT INTO {query_table} (text, usage_count, first_searched_at, last_searched_at) "  # noqa: S608
            "VALUES (%s, 1, %s, %s) "
            f"ON CONFLICT (text) DO UPDATE SET usage_count = {query_table}.usage_count + 1, "
            "last_searched_at = EXCLUDED.last_searched_at RETURNING id, usage_count), "
            f"h AS (INSERT INTO {hourly_table} (query_id, hour, uses) SELECT id, %s, 1 FROM q "
            f"ON CONFLICT (query_id, hour) DO UPDATE SET uses = {hourly_table}.uses + 1), "
            f"c AS (INSERT INTO {client_table} (query_id, client) SELECT id, %s FROM q WHERE %s "
            "ON CONFLICT (query_id, client) DO NOTHING RETURNING 1) "
            "SELECT id, usage_count, EXISTS (SELECT 1 FROM c) FROM q",
            [text, now, now, hour, client_key or "", client_key is not None],
        )
        query_id, usage_count, new_client = cursor.fetchone()
        if new_client:
            cursor.execute(
                f"UPDATE {query_table} SET distinct_clients = distinct_clients + 1 WHERE id = %s",  # noqa: S608
                [query_id],
            )
    return usage_count


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
    from sticker_service.feedback.boosts import query_boosts

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


def set_queries_hidden(query_ids: Iterable[int], *, hidden: bool) -> int:
    """Hide queries from suggestions and trending (or show them again); returns how many changed."""
    return Query.objects.filter(pk__in=list(query_ids)).exclude(hidden=hidden).update(hidden=hidden)


def prune_hourly_uses(*, now: datetime | None = None) -> int:
    """Delete the hourly use counts that no trending window can reach any more (older than two of the longest
    windows); returns how many rows went. Totals (``Query.usage_count``) and the distinct-client rows stay."""
    oldest_needed = current_hour(now) - timedelta(hours=2 * MAX_WINDOW_HOURS - 1)
    deleted, _ = QueryHourlyUse.objects.filter(hour__lt=oldest_needed).delete()
    return deleted
