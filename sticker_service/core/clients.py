"""Who is asking, for per-client limits: the client address of the rate limits, the feedback vote budget
(searches.normalize.client_identity builds on it) and the admin login lockout (django-axes)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from servicekit.errors import json_error_response


def client_address(request: Request | HttpRequest) -> str:
    """The client's address as the rate limits see it (django-axes' AXES_CLIENT_IP_CALLABLE too)."""
    # get_ident reads only request.META, which a Django request has too (django-axes passes one).
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> JsonResponse:
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): the one JSON error format, 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = json_error_response(
        "locked_out",
        f"Too many failed logins from this address; try again in {minutes} minutes.",
        429,
        {"retry_after_seconds": minutes * 60},
    )
    response["Retry-After"] = str(minutes * 60)
    return response
