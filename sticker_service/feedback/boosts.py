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
from django.db.models import Count, Q

from sticker_service.feedback.models import ClientVote, Vote
from sticker_service.feedback.scoring import vote_boost

MAX_BOOSTS = 200  # search_service's limit per request


def client_vote_counts(normal_query: str) -> dict[str, tuple[int, int]]:
    """filename -> (clients voting up, clients voting down) for a query in normal form (latest vote each)."""
    rows = (
        ClientVote.objects.filter(query__text=normal_query)
        .values("sticker__filename")
        .annotate(up=Count("id", filter=Q(vote=Vote.POSITIVE)), down=Count("id", filter=Q(vote=Vote.NEGATIVE)))
    )
    return {row["sticker__filename"]: (row["up"], row["down"]) for row in rows}


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
