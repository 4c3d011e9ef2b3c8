"""schemathesis hooks for test_schemathesis.py (loaded through ``SCHEMATHESIS_HOOKS``).

The one rule of sticker_service's API that JSON Schema cannot state: in a feedback entry no filename is both
positive and negative (a 400). Generated "valid" bodies that break it are left out, so that the check that
valid requests are accepted stays on for the rest.
"""

from __future__ import annotations

import schemathesis


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
