"""Who is asking: the client address of the rate limits, the feedback vote budget and the admin login lockout
(django-axes), and the client identity of votes and searches.

``client_identity`` names the client of a request for counting: ``id:<client_id>`` when the request brings
a ``client_id`` (an opaque id such as the app install's anonymous id), else ``ip:<address>`` (the socket
address, or X-Forwarded-For behind THROTTLE_NUM_PROXIES trusted proxies, as the rate limits see it). The two
kinds never collide. The privacy floor of suggestions and trending counts :func:`address_identity` only: one
address naming many ids is one client there. What is stored is :func:`client_key`, a SHA-256 of the identity:
distinct clients can be counted without keeping addresses.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.encoding import force_bytes
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from servicekit.errors import json_error_response

# client_id: 1..64 visible ASCII characters (no spaces): UUIDs, install ids, base64/hex tokens fit.
CLIENT_ID_PATTERN = r"^[\x21-\x7e]{1,64}$"
CLIENT_ID_MAX_LENGTH = 64


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


def client_identity(request: Request, client_id: str | None = None) -> str:
    """``id:<client_id>`` when given (already validated), else ``ip:<client address>``."""
    if client_id:
        return f"id:{client_id}"
    return f"ip:{client_address(request)}"


def address_identity(request: Request) -> str:
    """``ip:<client address>`` whatever ``client_id`` the request names: what the privacy floor of suggestions and
    trending counts (a client can name any number of ids, not of addresses)."""
    return client_identity(request)


def client_key(identity: str) -> str:
    """What is stored for a client: 64 hex characters, the SHA-256 of its identity."""
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def client_hash(identity: str) -> str:
    """A keyed hash of a client identity (32 hex characters), for the distinct-client counts of suggestions and
    trending: counts distinct clients without keeping who."""
    return hashlib.blake2b(identity.encode(), digest_size=16, key=force_bytes(settings.SECRET_KEY)[:64]).hexdigest()
