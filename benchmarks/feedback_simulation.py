"""Simulated users for benchmarks/feedback.py, in numpy: labelled queries from the demo stickers' CLDR metadata,
clients voting on the top 10 they are shown, the boosts sticker_service makes of their votes, and the ranking
and its measures (R@1, nDCG@10) with those boosts. No database, no Django.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sticker_service.feedback.scoring import vote_boost

# sticker_service's defaults (FEEDBACK_BOOST_MAX, FEEDBACK_BOOST_PRIOR, FEEDBACK_BOOST_HALF_CLIENTS).
BOOST = {"max_boost": 0.1, "prior": 1.0, "half_clients": 3.0}
SPAM_VOTES = 1000
ClientVotes = dict[str, dict[int, int]]  # client -> sticker index -> +1 / -1 (its latest vote)


def labelled_queries(names: list[str], meta: dict[str, dict[str, Any]]) -> dict[str, set[int]]:
    """Every CLDR title and keyword (case-folded) -> the stickers it names, for texts naming 1..20 stickers."""
    relevant: dict[str, set[int]] = defaultdict(set)
    for index, name in enumerate(names):
        for text in [meta[name]["title"], *meta[name]["tags"]]:
            text = " ".join(text.casefold().split())
            if text:
                relevant[text].add(index)
    return {text: found for text, found in sorted(relevant.items()) if 1 <= len(found) <= 20}


def order(vector: np.ndarray, stickers: np.ndarray, boosts: dict[int, float] | None = None) -> np.ndarray:
    """Sticker indexes best first: blended score (+ boost), ties by id, as search_service's exact scan."""
    scores = stickers @ vector
    if boosts:
        scores = scores.copy()
        for index, boost in boosts.items():
            scores[index] += boost
    return np.lexsort((np.arange(len(scores)), -scores))


def counts_of(votes: ClientVotes) -> tuple[dict[int, int], dict[int, int]]:
    """Distinct clients voting up / down per sticker (each client's latest vote)."""
    up: dict[int, int] = defaultdict(int)
    down: dict[int, int] = defaultdict(int)
    for client_votes in votes.values():
        for index, vote in client_votes.items():
            (up if vote > 0 else down)[index] += 1
    return up, down


def boosts_of(votes: ClientVotes) -> dict[int, float]:
    up, down = counts_of(votes)
    return {index: vote_boost(up[index], down[index], **BOOST) for index in set(up) | set(down)}


def ndcg10(ranked: np.ndarray, relevant: set[int]) -> float:
    gains = [1.0 / np.log2(rank + 2) for rank, index in enumerate(ranked[:10]) if index in relevant]
    ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(len(relevant), 10)))
    return float(sum(gains) / ideal)


def simulate_clients(
    vector: np.ndarray,
    relevant: set[int],
    stickers: np.ndarray,
    rng: np.random.Generator,
    clients: int,
    wrong: float,
    live: bool = True,
) -> ClientVotes:
    """Per-client latest votes of ``clients`` clients, each seeing the top 10 (with the lift so far if ``live``)."""
    votes: ClientVotes = {}
    for client in range(clients):
        shown = order(vector, stickers, boosts_of(votes) if live else None)[:10]
        choice = {}
        for index in shown:
            vote = 1 if int(index) in relevant else -1
            if rng.random() < wrong:
                vote = -vote
            choice[int(index)] = vote
        votes[f"client-{client}"] = choice
    return votes


def rank_of(index: int, ranked: np.ndarray) -> int:
    return int(np.flatnonzero(ranked == index)[0]) + 1


@dataclass
class Voting:
    """The voted queries before and after their clients' votes (one entry per query), the spam bound per query
    (boost with the spammer / with one honest vote instead / 1,000 raw votes; the sticker's rank before the spam,
    with it, with the honest vote, with the raw votes), and each query's final votes (spammer included)."""

    r1_before: list[bool] = field(default_factory=list)
    r1_after: list[bool] = field(default_factory=list)
    nd_before: list[float] = field(default_factory=list)
    nd_after: list[float] = field(default_factory=list)
    r1_spam: list[bool] = field(default_factory=list)
    spam_rows: list[tuple[float, float, float, int, int, int, int]] = field(default_factory=list)
    final_votes: dict[int, ClientVotes] = field(default_factory=dict)

    @property
    def spam(self) -> np.ndarray:
        return np.asarray(self.spam_rows, dtype=np.float64)


def vote_on(
    q: int,
    vector: np.ndarray,
    relevant: set[int],
    stickers: np.ndarray,
    rng: np.random.Generator,
    result: Voting,
    *,
    clients: int,
    wrong: float,
) -> None:
    """One voted query: its clients one after the other, then a spammer voting 1,000 times for an irrelevant
    sticker ranked 50th before any vote; adds to ``result``."""
    plain = order(vector, stickers)
    votes = simulate_clients(vector, relevant, stickers, rng, clients, wrong)
    lifted = order(vector, stickers, boosts_of(votes))
    result.r1_before.append(int(plain[0]) in relevant)
    result.r1_after.append(int(lifted[0]) in relevant)
    result.nd_before.append(ndcg10(plain, relevant))
    result.nd_after.append(ndcg10(lifted, relevant))
    spam = int(next(index for index in plain[49:] if int(index) not in relevant))
    spammed = {**votes, "spammer": {spam: 1}}  # 1,000 votes, one client: its latest vote
    honest = {**votes, "honest": {spam: 1}}  # one honest client's single vote instead
    up, down = counts_of(votes)
    raw = {**boosts_of(votes), spam: vote_boost(up[spam] + SPAM_VOTES, down[spam], **BOOST)}  # no dedup
    with_spam = order(vector, stickers, boosts_of(spammed))
    result.r1_spam.append(int(with_spam[0]) in relevant)
    result.spam_rows.append(
        (
            boosts_of(spammed)[spam],
            boosts_of(honest)[spam],
            raw[spam],
            rank_of(spam, lifted),
            rank_of(spam, with_spam),
            rank_of(spam, order(vector, stickers, boosts_of(honest))),
            rank_of(spam, order(vector, stickers, raw)),
        )
    )
    result.final_votes[q] = spammed
