"""The one normal form of queries.

``normalize_query`` is how the query log, feedback and analytics store, count, vote on and report a query:
Unicode NFKC, case-folded (then NFKC again: case folding can leave a text that is not NFKC), inner
whitespace collapsed to one space, trimmed. "Cat ", "cat", "CAT" and "ｃａｔ" are one query. The search
response still echoes the query as sent (trimmed).
"""

from __future__ import annotations

import unicodedata

from sticker_service.searches.models import QUERY_MAX_LENGTH


def normalize_query(text: str) -> str:
    """The normal form of a query text (see the module docstring); at most QUERY_MAX_LENGTH characters.

    NFKC can lengthen a text (one ligature becomes several letters); the normal form is then cut to the column's
    length, the same way every time. A text whose normal form would be empty keeps its trimmed form.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    normal = " ".join(folded.split())[:QUERY_MAX_LENGTH].rstrip()
    return normal or text.strip()[:QUERY_MAX_LENGTH]
