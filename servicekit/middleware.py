"""Request checks both services make before any view runs (each answer in the one JSON error format).

- A query string that is not valid UTF-8 once percent-decoded is a 400: Django would silently turn the bad
  bytes into U+FFFD and search (and count) a text nobody typed.
- A body sent without ``Content-Length`` (``Transfer-Encoding: chunked``) is a 411: under WSGI Django reads
  only ``Content-Length`` bytes, so such a body would be taken as empty and the request misread.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.core.handlers.wsgi import get_bytes_from_wsgi

from servicekit.errors import json_error_response


class RequestSanityMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            raw_query = get_bytes_from_wsgi(request.META, "QUERY_STRING", "")
            unquote_to_bytes(raw_query.replace(b"+", b" ")).decode("utf-8")
        except UnicodeError:  # bad bytes, or (from a non-conforming server) characters past Latin-1
            return json_error_response("malformed_request", "The query string is not valid UTF-8.", 400)
        if request.META.get("HTTP_TRANSFER_ENCODING") and not request.META.get("CONTENT_LENGTH"):
            return json_error_response(
                "length_required",
                "Send the body with a Content-Length header (chunked transfer encoding is not supported).",
                411,
            )
        return self.get_response(request)
