"""The boost formula of feedback.boosts, with no Django import (benchmarks/feedback.py uses it as it is)."""

from __future__ import annotations


def vote_boost(up: int, down: int, *, max_boost: float, prior: float, half_clients: float) -> float:
    """The boost of a sticker with ``up`` / ``down`` distinct clients' votes (see feedback.boosts' docstring)."""
    n = up + down
    if n <= 0 or max_boost <= 0:
        return 0.0
    share = (up + prior) / (n + 2 * prior)
    confidence = n / (n + half_clients)
    return max_boost * (2 * share - 1) * confidence
