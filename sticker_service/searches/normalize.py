"""The one normal form of a query text and the one identity of a client (shared by the query log, suggestions,
trending and feedback).

- Normal form: NFKC, case-folded, inner whitespace collapsed to one space, trimmed. "Cat  In a PARK" and
  "cat in a park" are the same query.
- Client identity: the ``client_id`` query parameter when the caller sends one, else the client address (as
  the throttles see it, honouring ``THROTTLE_NUM_PROXIES``). Only a keyed hash of it is ever stored.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from django.conf import settings
from django.utils.encoding import force_bytes
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

_WHITESPACE = re.compile(r"\s+")


def normalize_query(text: str) -> str:
    """NFKC, case-folded, inner whitespace collapsed, trimmed."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def client_identity(request: Request, client_id: str | None = None) -> str:
    """Who is asking: ``client_id`` (already validated) when given, else the client's address."""
    if client_id:
        return f"id:{client_id}"
    return f"ip:{BaseThrottle().get_ident(request)}"


def client_hash(identity: str) -> str:
    """A keyed hash of a client identity (32 hex characters): counts distinct clients without keeping who."""
    return hashlib.blake2b(identity.encode(), digest_size=16, key=force_bytes(settings.SECRET_KEY)[:64]).hexdigest()
