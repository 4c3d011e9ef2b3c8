"""Reads of the sticker catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from django.conf import settings

from sticker_service.catalog.models import Sticker


def sticker_url(filename: str) -> str:
    """Public URL of a sticker image: STICKER_MEDIA_URL + the URL-encoded filename."""
    return settings.STICKER_MEDIA_URL + quote(filename)


def stickers_by_filename(filenames: Iterable[str]) -> dict[str, Sticker]:
    names = set(filenames)
    if not names:
        return {}
    return {sticker.filename: sticker for sticker in Sticker.objects.filter(filename__in=names)}
