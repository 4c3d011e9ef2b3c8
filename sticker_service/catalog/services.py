"""Writes of the sticker catalogue: full sync from search_service, cheap upsert of search results."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from servicekit.caching import LRU
from sticker_service.catalog.models import FILENAME_MAX_LENGTH, Sticker
from sticker_service.core import search_client

logger = logging.getLogger(__name__)


# Filenames this process already knows are in the catalogue.
recently_seen: LRU[str, bool] = LRU(50_000)


def record_seen_stickers(items: Iterable[tuple[str, str]]) -> None:
    """Make sure stickers returned by a search exist in the catalogue.

    ``items`` are (filename, title) pairs. Filenames this process saw recently cost nothing; the rest are
    inserted in one ``INSERT ... ON CONFLICT DO NOTHING`` (existing rows, including their titles, stay as
    the last full sync left them).
    """
    pairs = {name: title for name, title in items if name and len(name) <= FILENAME_MAX_LENGTH}
    missing = [name for name in pairs if name not in recently_seen]
    if not missing:
        return
    Sticker.objects.bulk_create(
        [Sticker(filename=name, title=pairs[name][:255]) for name in missing], ignore_conflicts=True
    )
    for name in missing:
        recently_seen.put(name, True)


@dataclass
class SyncResult:
    pages: int = 0
    upserted: int = 0
    skipped: int = 0
    deactivated: int = 0


def _sticker_from(item: Any) -> Sticker | None:
    if not isinstance(item, dict):
        return None
    filename = item.get("filename")
    if not isinstance(filename, str) or not filename or len(filename) > FILENAME_MAX_LENGTH:
        return None
    tags = item.get("tags")
    tags = [str(tag) for tag in tags] if isinstance(tags, list) else []

    def dimension(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    return Sticker(
        filename=filename,
        title=str(item.get("title") or "")[:255],
        tags=tags,
        width=dimension(item.get("width")),
        height=dimension(item.get("height")),
        active=True,
    )


def upsert_stickers(stickers: list[Sticker], synced_at) -> None:
    for sticker in stickers:
        sticker.synced_at = synced_at
    Sticker.objects.bulk_create(
        stickers,
        update_conflicts=True,
        unique_fields=["filename"],
        update_fields=["title", "tags", "width", "height", "active", "synced_at"],
    )


def sync_catalog(
    *,
    page_size: int = 200,
    after: str = "",
    prune: bool = False,
    on_page: Callable[[int, int, int, str], None] | None = None,
) -> SyncResult:
    """Copy search_service's catalogue (``GET /api/images/?after=``) page by page; each page is one transaction.

    Pages are keyset pages in filename order (the last filename read is the cursor), so stickers added to or
    deleted from search_service during a run never shift an unread sticker onto a page already read.
    Resumable: ``after`` continues an interrupted run after that filename. ``prune`` (a full run only, from
    ``after=""``) marks stickers that search_service no longer lists as inactive; they are kept because
    feedback refers to them. Stickers first seen after the run started (e.g. from a search meanwhile) are
    never pruned by it. ``on_page(page, count, rows, cursor)`` reports progress.
    """
    started = timezone.now()
    result = SyncResult()
    cursor = after
    while True:
        data = search_client.list_images(after=cursor, page_size=page_size)
        stickers = []
        for item in data["results"]:
            sticker = _sticker_from(item)
            if sticker is None:
                result.skipped += 1
                logger.warning("sync_catalog: skipped a malformed catalogue entry after %r", cursor)
            else:
                stickers.append(sticker)
        with transaction.atomic():
            upsert_stickers(stickers, timezone.now())
        for sticker in stickers:
            recently_seen.put(sticker.filename, True)
        result.pages += 1
        result.upserted += len(stickers)
        last = data["results"][-1] if data["results"] else None
        next_cursor = last.get("filename") if isinstance(last, dict) else None
        if on_page:
            on_page(result.pages, int(data.get("count") or 0), len(data["results"]), str(next_cursor or cursor))
        # Filename order is search_service's database collation, not Python's: only "no progress" stops early.
        if not data.get("next") or not isinstance(next_cursor, str) or next_cursor == cursor:
            break
        cursor = next_cursor
    if prune and after == "":
        result.deactivated = (
            Sticker.objects.filter(active=True, first_seen_at__lt=started)
            .exclude(synced_at__gte=started)
            .update(active=False)
        )
    return result
