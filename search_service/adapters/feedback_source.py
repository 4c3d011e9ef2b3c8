"""Vote aggregates from sticker_service's analytics API (the path the ML team uses): ``GET /api/analytics/
?format=csv&escape=none`` with ``Authorization: Token <admin token>``, one row per (query, sticker) with the distinct
clients whose latest vote is positive / negative (``clients_positive``, ``clients_negative``). ``escape=none``: the
cells exactly as stored (by default a query such as "-_-" or "@home" would come as "'-_-", escaped for
spreadsheets, and be learned under that text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

import requests

from .training import PairVotes

REQUIRED = {"query", "filename", "clients_positive", "clients_negative"}


class FeedbackSourceError(Exception):
    """sticker_service could not be read (down, refused the token, or answered something else than the CSV)."""


def fetch_pairs(base_url: str, token: str, *, timeout: float = 60.0) -> list[PairVotes]:
    """Every voted (query, sticker) pair with its distinct clients' votes; queries are in normal form already."""
    url = f"{base_url.rstrip('/')}/api/analytics/"
    try:
        response = requests.get(
            url,
            params={"format": "csv", "escape": "none"},
            headers={"Authorization": f"Token {token}"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise FeedbackSourceError(f"cannot reach {url}: {type(exc).__name__}: {exc}") from exc
    with response:
        if response.status_code != 200:
            raise FeedbackSourceError(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
        if not response.headers.get("Content-Type", "").startswith("text/csv"):
            raise FeedbackSourceError(f"{url} did not answer CSV ({response.headers.get('Content-Type')})")
        response.encoding = "utf-8"
        return list(_pairs(io.StringIO(response.text, newline="")))


def _pairs(lines: Iterable[str]) -> Iterator[PairVotes]:
    reader = csv.DictReader(lines)
    missing = REQUIRED - set(reader.fieldnames or [])
    if missing:
        raise FeedbackSourceError(f"the analytics CSV has no column {', '.join(sorted(missing))}")
    for row in reader:
        if not row["filename"]:
            continue  # a query without votes
        up, down = int(row["clients_positive"] or 0), int(row["clients_negative"] or 0)
        if up or down:
            yield PairVotes(query=row["query"], filename=row["filename"], up=up, down=down)
