"""Writes of the sticker catalogue: full sync from search_service, cheap upsert of search results."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from sticker_service.catalog.models import FILENAME_MAX_LENGTH, Sticker
from sticker_service.core import search_client

logger = logging.getLogger(__name__)


class _RecentlySeen:
    """A bounded, thread-safe set of filenames this process already knows are in the catalogue."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._items: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def missing(self, names: Iterable[str]) -> list[str]:
        with self._lock:
            return [name for name in names if name not in self._items]

    def add(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                self._items[name] = None
                self._items.move_to_end(name)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


recently_seen = _RecentlySeen()


def record_seen_stickers(items: Iterable[tuple[str, str]]) -> None:
    """Make sure stickers returned by a search exist in the catalogue.

    ``items`` are (filename, title) pairs. Filenames this process saw recently cost nothing; the rest are
    inserted in one ``INSERT ... ON CONFLICT DO NOTHING`` (existing rows, including their titles, stay as
    the last full sync left them).
    """
    pairs = {name: title for name, title in items if name and len(name) <= FILENAME_MAX_LENGTH}
    missing = recently_seen.missing(pairs)
    if not missing:
        return
    Sticker.objects.bulk_create(
        [Sticker(filename=name, title=pairs[name][:255]) for name in missing], ignore_conflicts=True
    )
    recently_seen.add(missing)


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
        recently_seen.add(sticker.filename for sticker in stickers)
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
