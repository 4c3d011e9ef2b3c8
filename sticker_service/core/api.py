"""Pieces every API view of sticker_service uses: throttling, the error schema, input fields."""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework import serializers
from rest_framework.throttling import ScopedRateThrottle

from servicekit.openapi import error_schema
from servicekit.validation import TRIMMED_TEXT_PATTERN, FullMatchValidator, NoControlCharacters
from sticker_service.core import rate_store
from sticker_service.core.clients import CLIENT_ID_MAX_LENGTH, CLIENT_ID_PATTERN

logger = logging.getLogger(__name__)


class ScopedThrottle(ScopedRateThrottle):
    """Per-client rate limit of a view's ``throttle_scope``, rates from ``settings.THROTTLE_RATES``.

    Rates are read on each request (tests and operators can change them). A client's history is checked and
    updated in one atomic step in the shared store (:mod:`sticker_service.core.rate_store`: Redis or the
    database), so the limit is exact across workers. If that store fails, the request is let through: a broken
    limiter must not take the API down.
    """

    window: rate_store.Window | None = None

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES.get(self.scope) if self.scope else None

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        self.rate = self.get_rate() if self.scope else None
        key = self.get_cache_key(request, view) if self.rate else None
        if key is None:  # no scope or no rate: not limited
            return True
        self.num_requests, self.duration = limit, seconds = self.parse_rate(self.rate)
        if limit is None or seconds is None:
            return True
        self.key, self.now = key, self.timer()
        try:
            self.window = rate_store.hit(key, limit=limit, window=seconds, now=self.now)
            if self.window is None:  # a per-process cache: DRF's own history in it
                return super(ScopedRateThrottle, self).allow_request(request, view)
        except Exception:  # store down: fail open, loudly
            logger.warning("throttle store unavailable; request let through", exc_info=True)
            return True
        return self.window.allowed

    def wait(self) -> float | None:
        """Seconds until the next request would pass (DRF's estimate, from the store's answer)."""
        if self.window is None or self.num_requests is None or self.duration is None:
            return super().wait()
        remaining = self.duration - (self.now - self.window.oldest) if self.window.oldest else self.duration
        available = self.num_requests - self.window.count + 1
        return remaining / available if available > 0 else None


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings (DRF's would turn 5 into "5")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryField(StrictCharField):
    """A search query: trimmed, 1..256 characters of any Unicode except control characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 256)
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("trim_whitespace", True)
        kwargs.setdefault("validators", [NoControlCharacters(TRIMMED_TEXT_PATTERN)])
        super().__init__(**kwargs)


class FilenameField(StrictCharField):
    """A sticker filename as search_service names it: 1..255 characters, no control characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("validators", [NoControlCharacters()])
        super().__init__(**kwargs)


class ClientIdField(StrictCharField):
    """The optional ``client_id``: 1..64 visible ASCII characters (an opaque id, e.g. the app install's anonymous
    id); without it the client's address stands for the client."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", CLIENT_ID_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault(
            "validators", [FullMatchValidator(CLIENT_ID_PATTERN, message="1..64 visible ASCII characters, no spaces.")]
        )
        kwargs.setdefault(
            "help_text",
            "Optional opaque client id (1..64 visible ASCII characters, no spaces), e.g. the app install's "
            "anonymous id; without it the client's address counts as the client.",
        )
        super().__init__(**kwargs)


# Error responses several views document (servicekit's one format, the shared ``Error`` schema component).
INVALID = error_schema("invalid_request: a parameter or the body is invalid (details.fields says which).")
THROTTLED = error_schema("throttled: too many requests from this client; see the Retry-After header.")
UNAVAILABLE = error_schema("service_unavailable (search_service down, slow or failing) or database_unavailable.")
