"""Recording feedback: counters incremented in SQL, one event per vote, and each client's latest vote per
(query, sticker), in one transaction. Queries are matched in their normal form (searches.normalize)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import Counter as MetricCounter

from sticker_service.catalog.selectors import stickers_by_filename
from sticker_service.feedback.models import ClientVote, FeedbackCounter, FeedbackEvent, Vote
from sticker_service.searches.normalize import normalize_query
from sticker_service.searches.selectors import queries_by_text

UNKNOWN_QUERY = "unknown_query"
UNKNOWN_STICKER = "unknown_sticker"

VOTES_RECORDED = MetricCounter("sticker_votes_recorded_total", "Votes recorded by POST /api/feedback/.", ["vote"])


@dataclass(frozen=True)
class FeedbackEntry:
    query: str
    positive: Sequence[str] = ()
    negative: Sequence[str] = ()


@dataclass
class FeedbackResult:
    recorded: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)


def _increment_counters(pairs: Counter, now) -> None:
    """``pairs``: (query_id, sticker_id, vote) -> votes. One INSERT ... ON CONFLICT DO UPDATE, rows in key
    order so concurrent batches lock rows in the same order (no deadlocks)."""
    totals: dict[tuple[int, int], list[int]] = {}
    for (query_id, sticker_id, vote), count in pairs.items():
        row = totals.setdefault((query_id, sticker_id), [0, 0])
        row[0 if vote == Vote.POSITIVE else 1] += count
    if not totals:
        return
    table = connection.ops.quote_name(FeedbackCounter._meta.db_table)
    rows = sorted(totals.items())
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    for (query_id, sticker_id), (positive, negative) in rows:
        params += [query_id, sticker_id, positive, negative, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (query_id, sticker_id, positive, negative, updated_at) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (query_id, sticker_id) DO UPDATE SET positive = {table}.positive + EXCLUDED.positive, "
            f"negative = {table}.negative + EXCLUDED.negative, updated_at = EXCLUDED.updated_at",
            params,
        )


def _record_client_votes(votes: list[tuple[int, int, int]], client: str, now) -> None:
    """The client's latest vote per (query, sticker): the last of this batch replaces any earlier one. Rows in
    key order (no deadlocks between concurrent batches)."""
    latest = {(query_id, sticker_id): vote for query_id, sticker_id, vote in votes}
    table = connection.ops.quote_name(ClientVote._meta.db_table)
    rows = sorted(latest.items())
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    for (query_id, sticker_id), vote in rows:
        params += [query_id, sticker_id, client, vote, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (query_id, sticker_id, client, vote, updated_at) VALUES {values} "  # noqa: S608
            "ON CONFLICT (query_id, sticker_id, client) DO UPDATE SET vote = EXCLUDED.vote, "
            "updated_at = EXCLUDED.updated_at",
            params,
        )


def record_feedback(entries: Sequence[FeedbackEntry], *, client: str = "") -> FeedbackResult:
    """Record every vote whose query was searched before and whose sticker is in the catalogue.

    ``client`` is the voter's key (``core.clients.client_key``). Queries are matched in their normal
    form. The others are returned in ``failed`` (with the query as sent) with reason ``unknown_query`` or
    ``unknown_sticker``. Known votes are written in one transaction: counters incremented in the database,
    one FeedbackEvent per vote, and the client's latest vote per (query, sticker) (a ClientVote row each).
    """
    queries = queries_by_text(normalize_query(entry.query) for entry in entries)
    stickers = stickers_by_filename(name for entry in entries for name in (*entry.positive, *entry.negative))
    result = FeedbackResult()
    votes: list[tuple[int, int, int]] = []
    for entry in entries:
        query = queries.get(normalize_query(entry.query))
        for vote, names in ((Vote.POSITIVE, entry.positive), (Vote.NEGATIVE, entry.negative)):
            for name in names:
                sticker = stickers.get(name)
                if query is None:
                    result.failed.append({"query": entry.query, "filename": name, "reason": UNKNOWN_QUERY})
                elif sticker is None:
                    result.failed.append({"query": entry.query, "filename": name, "reason": UNKNOWN_STICKER})
                else:
                    votes.append((query.pk, sticker.pk, int(vote)))
    if votes:
        now = timezone.now()
        with transaction.atomic():
            _increment_counters(Counter(votes), now)
            FeedbackEvent.objects.bulk_create(
                [FeedbackEvent(created_at=now, query_id=q, sticker_id=s, vote=v, client=client) for q, s, v in votes],
                batch_size=2000,
            )
            _record_client_votes(votes, client, now)
        positives = sum(1 for vote in votes if vote[2] == Vote.POSITIVE)
        VOTES_RECORDED.labels("positive").inc(positives)
        VOTES_RECORDED.labels("negative").inc(len(votes) - positives)
    result.recorded = len(votes)
    return result
