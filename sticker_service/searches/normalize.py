"""The one normal form of queries, and who is asking (the client identity of votes and searches).

``normalize_query`` is how the query log, feedback and analytics store, count, vote on and report a query:
Unicode NFKC, case-folded (then NFKC again: case folding can leave a text that is not NFKC), inner
whitespace collapsed to one space, trimmed. "Cat ", "cat", "CAT" and "ｃａｔ" are one query. The search
response still echoes the query as sent (trimmed).

``client_identity`` names the client of a request for counting: ``id:<client_id>`` when the request brings
a ``client_id`` (an opaque id such as the app install's anonymous id), else ``ip:<address>`` (the socket
address, or X-Forwarded-For behind THROTTLE_NUM_PROXIES trusted proxies, as the rate limits see it). The two
kinds never collide. What is stored is :func:`client_key`, a SHA-256 of the identity: distinct clients can be
counted without keeping addresses.
"""

from __future__ import annotations

import hashlib
import unicodedata

from django.conf import settings
from django.utils.encoding import force_bytes
from rest_framework.request import Request

from sticker_service.core.clients import client_address
from sticker_service.searches.models import QUERY_MAX_LENGTH

# client_id: 1..64 visible ASCII characters (no spaces): UUIDs, install ids, base64/hex tokens fit.
CLIENT_ID_PATTERN = r"^[\x21-\x7e]{1,64}$"
CLIENT_ID_MAX_LENGTH = 64


def normalize_query(text: str) -> str:
    """The normal form of a query text (see the module docstring); at most QUERY_MAX_LENGTH characters.

    NFKC can lengthen a text (one ligature becomes several letters); the normal form is then cut to the column's
    length, the same way every time. A text whose normal form would be empty keeps its trimmed form.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    normal = " ".join(folded.split())[:QUERY_MAX_LENGTH].rstrip()
    return normal or text.strip()[:QUERY_MAX_LENGTH]


def client_identity(request: Request, client_id: str | None = None) -> str:
    """``id:<client_id>`` when given (already validated), else ``ip:<client address>``."""
    if client_id:
        return f"id:{client_id}"
    return f"ip:{client_address(request)}"


def client_key(identity: str) -> str:
    """What is stored for a client: 64 hex characters, the SHA-256 of its identity."""
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def client_hash(identity: str) -> str:
    """A keyed hash of a client identity (32 hex characters), for the distinct-client counts of suggestions and
    trending: counts distinct clients without keeping who."""
    return hashlib.blake2b(identity.encode(), digest_size=16, key=force_bytes(settings.SECRET_KEY)[:64]).hexdigest()
