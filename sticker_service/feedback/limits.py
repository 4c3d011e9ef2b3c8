"""The feedback vote budget: at most FEEDBACK_MAX_VOTES_PER_MINUTE votes per client address per minute.

The request rate limit (THROTTLE_RATE_FEEDBACK) bounds requests, but one request may carry
FEEDBACK_MAX_ITEMS x 2 x FEEDBACK_MAX_FILENAMES votes; this bounds the votes themselves. Counted per client
address (as the rate limits see it, whatever ``client_id`` the request names) and calendar minute in the shared
cache (Redis or the database cache, the rate limits' store), so it holds across workers and replicas. The check
and the count hold the client's lock in that store (the database cache's increment is a read and a write). Like
the rate limits it fails open when that store is down.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

from servicekit.errors import DomainError
from sticker_service.core.store_lock import store_lock

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class TooManyVotesInRequest(DomainError):
    code = "invalid_request"
    status_code = 400


class VoteBudgetExceeded(DomainError):
    """This client's votes of the current minute are used up; ``retry_after`` seconds until the next one."""

    code = "throttled"
    status_code = 429

    def __init__(self, message: str, *, retry_after: int, limit: int) -> None:
        super().__init__(message, details={"retry_after_seconds": retry_after, "votes_per_minute": limit})
        self.retry_after = retry_after


def spend_votes(client: str, votes: int, *, now: float | None = None) -> None:
    """Count ``votes`` against ``client``'s budget of this minute, or raise (nothing counted then)."""
    limit = settings.FEEDBACK_MAX_VOTES_PER_MINUTE
    if not limit or votes <= 0:
        return
    if votes > limit:
        raise TooManyVotesInRequest(
            f"The request carries {votes} votes; at most {limit} per client per minute.",
            details={"votes": votes, "votes_per_minute": limit},
        )
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"feedback-votes:{client}:{window}"
    try:
        with store_lock(key):
            total = cache.get(key, 0) + votes
            if total <= limit:
                cache.set(key, total, timeout=2 * WINDOW_SECONDS)
    except Exception:  # the store is down: fail open, loudly (as the rate limits do)
        logger.warning("feedback vote budget store unavailable; votes let through", exc_info=True)
        return
    if total > limit:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise VoteBudgetExceeded(
            f"Too many votes from this client: at most {limit} per minute; try again in {retry_after} s.",
            retry_after=retry_after,
            limit=limit,
        )
