"""Reads for the ML team: query usage, per-sticker feedback, raw events; CSV rows as iterators."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from sticker_service.analytics.errors import UnknownQuery
from sticker_service.catalog.selectors import sticker_url
from sticker_service.feedback.models import ClientVote, FeedbackCounter, FeedbackEvent, Vote
from sticker_service.searches.models import Query
from sticker_service.searches.normalize import normalize_query

CHUNK = 2000
VOTE_NAMES = {int(Vote.POSITIVE): "positive", int(Vote.NEGATIVE): "negative"}


def get_query(text: str) -> Query:
    """The query of that text (in its normal form); raises :class:`UnknownQuery` when it was never searched."""
    query = Query.objects.filter(text=normalize_query(text)).first()
    if query is None:
        raise UnknownQuery(text)
    return query


def _voting_clients() -> Subquery:
    """Distinct clients that voted on the outer query (a subquery: joining a second relation would multiply
    the feedback sums)."""
    clients = (
        ClientVote.objects.filter(query=OuterRef("pk"))
        .order_by()
        .values("query")
        .annotate(n=Count("client", distinct=True))
        .values("n")
    )
    return Subquery(clients, output_field=IntegerField())


def queries_overview() -> QuerySet[Query]:
    """Every query with its usage, feedback totals and distinct voting clients, most used first."""
    return Query.objects.annotate(
        positive=Coalesce(Sum("feedback_counters__positive"), Value(0)),
        negative=Coalesce(Sum("feedback_counters__negative"), Value(0)),
        clients=Coalesce(_voting_clients(), Value(0)),
    ).order_by("-usage_count", "text")


def _client_counts(query: Query | None) -> dict[tuple[int, str], tuple[int, int]]:
    """(query id, filename) -> (clients whose latest vote is positive, ... negative)."""
    votes = ClientVote.objects.all() if query is None else ClientVote.objects.filter(query=query)
    rows = votes.values("query_id", "sticker__filename").annotate(
        up=Count("id", filter=Q(vote=Vote.POSITIVE)), down=Count("id", filter=Q(vote=Vote.NEGATIVE))
    )
    return {(row["query_id"], row["sticker__filename"]): (row["up"], row["down"]) for row in rows}


def sticker_feedback(query: Query) -> list[dict]:
    """Per-sticker votes and distinct clients (by their latest vote) of one query, most liked first."""
    rows = (
        FeedbackCounter.objects.filter(query=query)
        .values("positive", "negative", filename=F("sticker__filename"))
        .order_by("-positive", "negative", "sticker__filename")
    )
    clients = _client_counts(query)
    return [
        {
            "filename": row["filename"],
            "url": sticker_url(row["filename"]),
            "positive": row["positive"],
            "negative": row["negative"],
            "clients_positive": clients.get((query.pk, row["filename"]), (0, 0))[0],
            "clients_negative": clients.get((query.pk, row["filename"]), (0, 0))[1],
        }
        for row in rows
    ]


def query_report(query: Query) -> dict:
    stickers = sticker_feedback(query)
    return {
        "clients": ClientVote.objects.filter(query=query).values("client").distinct().count(),
        "query": query.text,
        "usage_count": query.usage_count,
        "first_searched_at": query.first_searched_at,
        "last_searched_at": query.last_searched_at,
        "positive": sum(row["positive"] for row in stickers),
        "negative": sum(row["negative"] for row in stickers),
        "stickers": stickers,
    }


FEEDBACK_CSV_HEADER = [
    "query",
    "usage_count",
    "filename",
    "positive",
    "negative",
    "clients_positive",
    "clients_negative",
]


def feedback_csv_rows(query: Query | None = None) -> Iterator[tuple]:
    """(query, usage_count, filename, positive, negative, clients_positive, clients_negative) per (query,
    sticker) pair; a query without feedback gives one row with an empty filename. Streamed from a server-side
    cursor (the distinct-client counts are read first: one small row per voted pair)."""
    clients = _client_counts(query)
    queryset = Query.objects.all() if query is None else Query.objects.filter(pk=query.pk)
    rows = queryset.values_list(
        "id",
        "text",
        "usage_count",
        "feedback_counters__sticker__filename",
        "feedback_counters__positive",
        "feedback_counters__negative",
    ).order_by("id", "feedback_counters__sticker__filename")
    for query_id, text, usage, filename, positive, negative in rows.iterator(chunk_size=CHUNK):
        up, down = clients.get((query_id, filename), (0, 0))
        yield (text, usage, filename or "", positive or 0, negative or 0, up, down)


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
            "client": event.client,
        }
        for event in queryset
    ]


EVENTS_CSV_HEADER = ["id", "created_at", "query", "filename", "vote", "client"]


def event_csv_rows(queryset: QuerySet[FeedbackEvent]) -> Iterator[tuple]:
    rows = queryset.values_list("id", "created_at", "query__text", "sticker__filename", "vote", "client")
    for event_id, created_at, text, filename, vote, client in rows.iterator(chunk_size=CHUNK):
        yield (event_id, created_at.isoformat(), text, filename, VOTE_NAMES[vote], client)


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


def csv_lines(header: list[str], rows: Iterable[tuple], *, for_spreadsheets: bool = True) -> Iterator[str]:
    """CSV text line by line (for StreamingHttpResponse): nothing is held in memory. Text cells are
    spreadsheet-safe (:func:`spreadsheet_safe`) unless ``for_spreadsheets`` is false: machine readers (the query
    adapter's training) need the text exactly as stored."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([spreadsheet_safe(cell) for cell in row] if for_spreadsheets else row)
