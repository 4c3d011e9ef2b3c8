"""Reads of the query log."""

from __future__ import annotations

from collections.abc import Iterable

from searches.models import Query


def queries_by_text(texts: Iterable[str]) -> dict[str, Query]:
    names = set(texts)
    if not names:
        return {}
    return {query.text: query for query in Query.objects.filter(text__in=names)}
