"""schemathesis hooks for test_schemathesis.py (loaded through ``SCHEMATHESIS_HOOKS``).

The rules of the APIs that JSON Schema cannot state: in a feedback entry no filename is both positive and
negative (a 400), and a search's offset + limit stays within the result window of 1,000 (a 400
``result_window_exceeded`` on both services). Generated "valid" requests that break them are left out, so that
the check that valid requests are accepted stays on for the rest.
"""

from __future__ import annotations

import schemathesis

from search_service.ranking.errors import MAX_RESULT_WINDOW as SEARCH_SERVICE_WINDOW
from sticker_service.search_proxy.errors import MAX_RESULT_WINDOW as STICKER_SERVICE_WINDOW


@schemathesis.hook("filter_body").apply_to(path="/api/feedback/", method="POST")
def no_filename_both_positive_and_negative(ctx, body) -> bool:
    entries = body.get("feedback") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        positive, negative = entry.get("positive"), entry.get("negative")
        if isinstance(positive, list) and isinstance(negative, list):
            if {repr(name) for name in positive} & {repr(name) for name in negative}:
                return False
    return True


# Both services' result windows (offset + limit); they are equal, so one check serves both schemas.
RESULT_WINDOW = SEARCH_SERVICE_WINDOW
assert RESULT_WINDOW == STICKER_SERVICE_WINDOW


def _within_the_window(params) -> bool:
    if not isinstance(params, dict):
        return True
    try:  # a missing or empty parameter takes its default
        return int(params.get("offset") or 0) + int(params.get("limit") or 10) <= RESULT_WINDOW
    except (TypeError, ValueError):
        return True  # not a number: the request is refused as invalid anyway


@schemathesis.hook("filter_query").apply_to(path="/api/search/", method="GET")
def search_query_within_the_result_window(ctx, query) -> bool:
    return _within_the_window(query)


@schemathesis.hook("filter_body").apply_to(path="/api/search/", method="POST")
def search_body_within_the_result_window(ctx, body) -> bool:
    return _within_the_window(body)


@schemathesis.deserializer("application/vnd.oai.openapi")
def openapi_yaml(ctx, response):
    """/api/schema/'s default answer is the OpenAPI document as YAML (drf-spectacular's media type)."""
    import yaml

    return yaml.safe_load(response.content)
