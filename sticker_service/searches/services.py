"""Writes of the query log: counting a query's use, hiding queries, pruning old hourly counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from sticker_service.searches.models import Query, QueryClient, QueryHourlyUse
from sticker_service.searches.selectors import MAX_WINDOW_HOURS, current_hour


def record_query_use(text: str, *, client_key: str | None = None) -> int:
    """Count one use of ``text`` (as given: searches pass the normal form) and return its new usage count.

    One transaction, every count incremented in the database so concurrent searches lose none: the query's
    counter and its current hour's count (``INSERT ... ON CONFLICT DO UPDATE``), and, with ``client_key`` (a hash
    from :func:`core.clients.client_hash`), the (query, client) pair (``ON CONFLICT DO NOTHING``) whose
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


def set_queries_hidden(query_ids: Iterable[int], *, hidden: bool) -> int:
    """Hide queries from suggestions and trending (or show them again); returns how many changed."""
    return Query.objects.filter(pk__in=list(query_ids)).exclude(hidden=hidden).update(hidden=hidden)


def prune_hourly_uses(*, now: datetime | None = None) -> int:
    """Delete the hourly use counts that no trending window can reach any more (older than two of the longest
    windows); returns how many rows went. Totals (``Query.usage_count``) and the distinct-client rows stay."""
    oldest_needed = current_hour(now) - timedelta(hours=2 * MAX_WINDOW_HOURS - 1)
    deleted, _ = QueryHourlyUse.objects.filter(hour__lt=oldest_needed).delete()
    return deleted
