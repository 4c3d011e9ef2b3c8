"""Writes of the query log: counting a query's use, hiding queries, pruning old hourly counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from sticker_service.searches.models import Query, QueryClient, QueryHourlyUse
from sticker_service.searches.selectors import MAX_WINDOW_HOURS, current_hour


def record_query_use(text: str, *, client_key: str | None = None) -> int:
    """Count one use of ``text`` (as given: searches pass the normal form) and return its new usage count.

    Every count is incremented in the database so concurrent searches lose none: the query's counter and its
    current hour's count (``INSERT ... ON CONFLICT DO UPDATE``), and, with ``client_key`` (a hash from
    :func:`core.clients.client_hash`), the (query, client) pair (``ON CONFLICT DO NOTHING``) whose insertion bumps
    the query's distinct-client count. One round trip: the statements travel in one string, which PostgreSQL runs
    as one transaction (the first statement's result reaches the next ones through transaction-local settings).
    A popular query's row is locked from its update to the commit, so searches of one query queue behind each
    other's commit; the commit waits for the WAL flush as every commit here does (an accepted search's count
    survives a crash of PostgreSQL too).
    """
    query_table = connection.ops.quote_name(Query._meta.db_table)
    hourly_table = connection.ops.quote_name(QueryHourlyUse._meta.db_table)
    client_table = connection.ops.quote_name(QueryClient._meta.db_table)
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    # Table names from the models; values travel as parameters.
    sql = (
        f"WITH q AS (INSERT INTO {query_table} (text, usage_count, first_searched_at, last_searched_at) "  # noqa: S608
        "VALUES (%(text)s, 1, %(now)s, %(now)s) "
        f"ON CONFLICT (text) DO UPDATE SET usage_count = {query_table}.usage_count + 1, "
        "last_searched_at = EXCLUDED.last_searched_at RETURNING id, usage_count), "
        f"h AS (INSERT INTO {hourly_table} (query_id, hour, uses) SELECT id, %(hour)s, 1 FROM q "
        f"ON CONFLICT (query_id, hour) DO UPDATE SET uses = {hourly_table}.uses + 1), "
        f"c AS (INSERT INTO {client_table} (query_id, client) SELECT id, %(client)s FROM q WHERE %(counted)s "
        "ON CONFLICT (query_id, client) DO NOTHING RETURNING 1) "
        "SELECT set_config('sticker.query_id', id::text, true), "
        "set_config('sticker.usage_count', usage_count::text, true), "
        "set_config('sticker.new_client', (SELECT count(*) FROM c)::text, true) FROM q;"
        f"UPDATE {query_table} SET distinct_clients = distinct_clients + 1 "
        "WHERE id = current_setting('sticker.query_id')::bigint AND current_setting('sticker.new_client') = '1';"
        "SELECT current_setting('sticker.usage_count')::bigint"
    )
    params: dict[str, Any] = {
        "text": text,
        "now": now,
        "hour": hour,
        "client": client_key or "",
        "counted": client_key is not None,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (usage_count,) = cursor.fetchone()
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
