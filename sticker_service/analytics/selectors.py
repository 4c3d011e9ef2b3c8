"""Reads for the ML team: query usage, per-sticker feedback, raw events; CSV rows as iterators."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from analytics.errors import UnknownQuery
from catalog.selectors import sticker_url
from feedback.models import FeedbackCounter, FeedbackEvent, Vote
from searches.models import Query

CHUNK = 2000
VOTE_NAMES = {int(Vote.POSITIVE): "positive", int(Vote.NEGATIVE): "negative"}


def get_query(text: str) -> Query:
    """The query of that text; raises :class:`UnknownQuery` when it was never searched."""
    query = Query.objects.filter(text=text).first()
    if query is None:
        raise UnknownQuery(text)
    return query


def queries_overview() -> QuerySet[Query]:
    """Every query with its usage and feedback totals, most used first."""
    return Query.objects.annotate(
        positive=Coalesce(Sum("feedback_counters__positive"), Value(0)),
        negative=Coalesce(Sum("feedback_counters__negative"), Value(0)),
    ).order_by("-usage_count", "text")


def sticker_feedback(query: Query) -> list[dict]:
    """Per-sticker positives/negatives of one query, most liked first."""
    rows = (
        FeedbackCounter.objects.filter(query=query)
        .values("positive", "negative", filename=F("sticker__filename"))
        .order_by("-positive", "negative", "sticker__filename")
    )
    return [
        {
            "filename": row["filename"],
            "url": sticker_url(row["filename"]),
            "positive": row["positive"],
            "negative": row["negative"],
        }
        for row in rows
    ]


def query_report(query: Query) -> dict:
    stickers = sticker_feedback(query)
    return {
        "query": query.text,
        "usage_count": query.usage_count,
        "first_searched_at": query.first_searched_at,
        "last_searched_at": query.last_searched_at,
        "positive": sum(row["positive"] for row in stickers),
        "negative": sum(row["negative"] for row in stickers),
        "stickers": stickers,
    }


FEEDBACK_CSV_HEADER = ["query", "usage_count", "filename", "positive", "negative"]


def feedback_csv_rows(query: Query | None = None) -> Iterator[tuple]:
    """(query, usage_count, filename, positive, negative) per (query, sticker) pair; a query without
    feedback gives one row with an empty filename. Streamed from a server-side cursor."""
    queryset = Query.objects.all() if query is None else Query.objects.filter(pk=query.pk)
    rows = queryset.values_list(
        "text",
        "usage_count",
        "feedback_counters__sticker__filename",
        "feedback_counters__positive",
        "feedback_counters__negative",
    ).order_by("id", "feedback_counters__sticker__filename")
    for text, usage, filename, positive, negative in rows.iterator(chunk_size=CHUNK):
        yield (text, usage, filename or "", positive or 0, negative or 0)


def events(
    *, query: Query | None = None, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[FeedbackEvent]:
    queryset = FeedbackEvent.objects.all()
    if query is not None:
        queryset = queryset.filter(query=query)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    return queryset.order_by("id")


def event_dicts(queryset: Iterable[FeedbackEvent]) -> list[dict]:
    return [
        {
            "id": event.id,
            "created_at": event.created_at,
            "query": event.query.text,
            "filename": event.sticker.filename,
            "vote": VOTE_NAMES[event.vote],
        }
        for event in queryset
    ]


EVENTS_CSV_HEADER = ["id", "created_at", "query", "filename", "vote"]


def event_csv_rows(queryset: QuerySet[FeedbackEvent]) -> Iterator[tuple]:
    rows = queryset.values_list("id", "created_at", "query__text", "sticker__filename", "vote")
    for event_id, created_at, text, filename, vote in rows.iterator(chunk_size=CHUNK):
        yield (event_id, created_at.isoformat(), text, filename, VOTE_NAMES[vote])


class _Echo:
    def write(self, value: str) -> str:
        return value


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """A text cell that a spreadsheet would read as a formula, prefixed with ``'`` so that it stays text
    (OWASP's advice); numbers and other text unchanged."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_lines(header: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    """CSV text line by line (for StreamingHttpResponse): nothing is held in memory. Text cells are
    spreadsheet-safe (:func:`spreadsheet_safe`)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])
