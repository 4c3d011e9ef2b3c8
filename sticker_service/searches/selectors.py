"""Reads of the query log: lookups, suggestions and trending queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from sticker_service.searches.models import MIN_DISTINCT_CLIENTS, Query, QueryHourlyUse
from sticker_service.searches.normalize import normalize_query


def queries_by_text(texts: Iterable[str]) -> dict[str, Query]:
    """The logged queries of ``texts``, keyed by the texts as given: the text itself, else its normal form (the
    form searches log)."""
    normal = {text: normalize_query(text) for text in texts}
    if not normal:
        return {}
    found = {query.text: query for query in Query.objects.filter(text__in={*normal, *normal.values()})}
    matches = {text: found.get(text) or found.get(form) for text, form in normal.items()}
    return {text: query for text, query in matches.items() if query is not None}


@dataclass(frozen=True)
class Suggestion:
    query: str
    uses: int


def suggestions_query(prefix: str, *, limit: int) -> QuerySet:
    """The one SQL query behind :func:`suggestions` (the benchmark also times it inside PostgreSQL)."""
    start = normalize_query(prefix)
    if prefix[-1:].isspace():  # "cat " continues with another word: "cat in a park", not "catalog"
        start += " "
    return (
        Query.objects.filter(text__startswith=start, hidden=False, distinct_clients__gte=MIN_DISTINCT_CLIENTS)
        .order_by("-usage_count", "text")
        .values_list("text", "usage_count")[:limit]
    )


def suggestions(prefix: str, *, limit: int) -> list[Suggestion]:
    """Queries starting with ``prefix`` (put in normal form; trailing whitespace kept as one space), most used
    first, above the privacy floor and not hidden. Served by the partial ``query_suggest_prefix`` index
    (text_pattern_ops, so LIKE 'pre%' uses it in any collation; usage_count included: index-only scans)."""
    return [Suggestion(query=text, uses=uses) for text, uses in suggestions_query(prefix, limit=limit)]


@dataclass(frozen=True)
class Trend:
    query: str
    uses: int
    previous_uses: int


# Trending compares a window of at most this many clock hours with the window before it.
MAX_WINDOW_HOURS = 168


def current_hour(now: datetime | None = None) -> datetime:
    return (now or timezone.now()).replace(minute=0, second=0, microsecond=0)


def trending(*, window_hours: int, limit: int, now: datetime | None = None) -> list[Trend]:
    """Queries whose uses in the last ``window_hours`` clock hours (the current one included) rose most against
    the ``window_hours`` before, above the privacy floor and not hidden. Ties: more uses first, then the text."""
    window_start = current_hour(now) - timedelta(hours=window_hours - 1)
    previous_start = window_start - timedelta(hours=window_hours)
    hourly = connection.ops.quote_name(QueryHourlyUse._meta.db_table)
    queries = connection.ops.quote_name(Query._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT q.text, t.uses, t.previous_uses FROM ("  # noqa: S608
            "SELECT query_id, SUM(uses) FILTER (WHERE hour >= %s) AS uses, "
            "SUM(uses) FILTER (WHERE hour < %s) AS previous_uses "
            f"FROM {hourly} WHERE hour >= %s GROUP BY query_id) t "
            f"JOIN {queries} q ON q.id = t.query_id "
            "WHERE NOT q.hidden AND q.distinct_clients >= %s "
            "AND COALESCE(t.uses, 0) > COALESCE(t.previous_uses, 0) "
            "ORDER BY COALESCE(t.uses, 0) - COALESCE(t.previous_uses, 0) DESC, t.uses DESC, q.text LIMIT %s",
            [window_start, window_start, previous_start, MIN_DISTINCT_CLIENTS, limit],
        )
        return [Trend(query=text, uses=int(uses), previous_uses=int(prev or 0)) for text, uses, prev in cursor]
