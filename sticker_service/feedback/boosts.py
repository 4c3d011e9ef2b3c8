"""The immediate lift: a bounded score boost per sticker for a query, from its distinct clients' latest votes.

For a sticker with ``up`` clients whose latest vote is positive and ``down`` negative (n = up + down)::

    share      = (up + a) / (n + 2a)          Beta(a, a) prior: no votes = 1/2, a few votes move it a little
    confidence = n / (n + c)                  grows with distinct clients: 0 with none, 1/2 at c clients
    boost      = B * (2 share - 1) * confidence    in (-B, B)

with ``a = FEEDBACK_BOOST_PRIOR``, ``c = FEEDBACK_BOOST_HALF_CLIENTS`` and ``B = FEEDBACK_BOOST_MAX``. A client
counts once per (query, sticker) however often it votes (its latest vote), so one client voting 1,000 times
moves a sticker exactly as much as one honest client's single vote; the boost never exceeds ``B``, so a few
clients cannot lift an unrelated sticker past stickers that score more than ``B`` above it.

The boosts go to search_service with the search (``POST /api/search/``, ``{"filename", "boost"}`` items),
at most ``MAX_BOOSTS`` of them (the largest in size). The same vote state gives the same boosts, so pages stay
stable.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from sticker_service.catalog.models import Sticker
from sticker_service.feedback.models import ClientVote, Vote
from sticker_service.feedback.scoring import vote_boost
from sticker_service.searches.models import Query

MAX_BOOSTS = 200  # search_service's limit per request


def client_vote_counts(normal_query: str) -> dict[str, tuple[int, int]]:
    """filename -> (clients voting up, clients voting down) for a query in normal form (latest vote each).

    Read on every search: one statement written out (the ORM's compilation of the same query cost more Python
    time than the database spent on it)."""
    votes, queries, stickers = (connection.ops.quote_name(m._meta.db_table) for m in (ClientVote, Query, Sticker))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.filename, count(*) FILTER (WHERE v.vote = %s), count(*) FILTER (WHERE v.vote = %s) "  # noqa: S608
            f"FROM {votes} v JOIN {queries} q ON q.id = v.query_id JOIN {stickers} s ON s.id = v.sticker_id "
            "WHERE q.text = %s GROUP BY s.filename",
            [Vote.POSITIVE.value, Vote.NEGATIVE.value, normal_query],
        )
        return {filename: (up, down) for filename, up, down in cursor.fetchall()}


def query_boosts(normal_query: str) -> dict[str, float]:
    """filename -> boost for the query's voted stickers (none when FEEDBACK_BOOST_MAX is 0)."""
    if settings.FEEDBACK_BOOST_MAX <= 0:
        return {}
    boosts = {
        filename: vote_boost(
            up,
            down,
            max_boost=settings.FEEDBACK_BOOST_MAX,
            prior=settings.FEEDBACK_BOOST_PRIOR,
            half_clients=settings.FEEDBACK_BOOST_HALF_CLIENTS,
        )
        for filename, (up, down) in client_vote_counts(normal_query).items()
    }
    strongest = sorted(((-abs(b), name, b) for name, b in boosts.items() if b != 0.0))[:MAX_BOOSTS]
    return {name: round(boost, 6) for _, name, boost in sorted(strongest, key=lambda item: item[1])}
