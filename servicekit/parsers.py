"""The JSON body parser of both services: every body it cannot read is a 4xx in the one error format, never a 500."""

from __future__ import annotations

import json
import sys

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from servicekit import errors


class LimitedJSONParser(JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE (413 past it). A 400 ``malformed_request`` for: a charset that
    is unknown or not a text encoding (``rot13``, ``base64``, ``zlib``), bytes that are not in it, nesting too deep
    for the parser, numbers with more digits than Python converts, NaN/Infinity, and anything else that is not JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # None = no limit (Django's convention)
        # The charset the Content-Type names (Django reads an unknown one as UTF-8, silently), else the request's.
        charset = parse_header_parameters(media_type or "")[1].get("charset")
        encoding = charset or (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            "".encode(encoding)  # unlike bytes.decode's lookup, refuses non-text codecs (rot13, base64, zlib)
        except (LookupError, UnicodeError) as exc:
            raise ParseError(f'Unsupported charset "{encoding}" in request Content-Type header.') from exc
        raw = (stream.read() if limit is None else stream.read(limit + 1)) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise errors.ApiError(
                f"The request body is larger than {limit} bytes.",
                code="payload_too_large",
                status_code=413,
                details={"max_bytes": limit},
            )
        try:
            return json.loads(raw.decode(encoding), parse_constant=_reject_constant, parse_int=_parse_int)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        except (ValueError, UnicodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _parse_int(text: str) -> int:
    digits = sys.get_int_max_str_digits()
    if len(text.lstrip("-")) > digits:
        raise ValueError(f"a number has more than {digits} digits")
    return int(text)
