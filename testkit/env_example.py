""".env.example read as data, once for every test that checks it against something else (the compose file, the
settings, docs/configuration.md, the production refusals): tests/repository/ and tests/system/test_configuration.py.

A line is blank, a comment, ``NAME=value`` (a variable and its development value) or ``# NAME=value`` (a variable
whose default is computed, documented but not set: uncomment to set it).
"""

from __future__ import annotations

import re

from testkit import REPO

ENV_EXAMPLE = REPO / ".env.example"
LINE = re.compile(r"^(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def lines() -> list[str]:
    return ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()


def values() -> dict[str, str]:
    """The variables .env.example sets (active ``NAME=value`` lines), with their development values."""
    found = {}
    for line in lines():
        if (match := LINE.match(line.strip())) and not match["comment"]:
            found[match["name"]] = match["value"].strip()
    return found


def documented() -> set[str]:
    """Set variables plus documented-only ones (``# NAME=value``)."""
    return {match["name"] for line in lines() if (match := LINE.match(line.strip()))}
