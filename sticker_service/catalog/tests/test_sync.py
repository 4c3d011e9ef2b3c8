import pytest
from django.core.management import CommandError, call_command

from sticker_service.catalog.models import Sticker
from sticker_service.catalog.selectors import sticker_url
from sticker_service.catalog.services import record_seen_stickers, sync_catalog

pytestmark = pytest.mark.django_db


def test_sync_copies_every_page_and_is_idempotent(fake_search_service):
    result = sync_catalog(page_size=10)
    assert (result.pages, result.upserted, result.skipped) == (3, 25, 0)
    assert Sticker.objects.count() == 25
    sticker = Sticker.objects.get(filename="sticker-007.png")
    assert (sticker.title, sticker.tags, sticker.width, sticker.height, sticker.active) == (
        "Sticker 7",
        ["demo"],
        64,
        64,
        True,
    )
    assert [r.params["after"] for r in fake_search_service.requests] == [
        [""],
        ["sticker-009.png"],
        ["sticker-019.png"],
    ]
    assert fake_search_service.requests[0].headers["Authorization"] == "Bearer fake-search-token"
    fake_search_service.stickers[7]["title"] = "Renamed"
    sync_catalog(page_size=10)
    assert Sticker.objects.count() == 25
    assert Sticker.objects.get(filename="sticker-007.png").title == "Renamed"


def test_prune_deactivates_removed_stickers_and_keeps_them(fake_search_service):
    sync_catalog(page_size=100)
    removed = fake_search_service.stickers.pop(3)
    assert sync_catalog(page_size=100, prune=True).deactivated == 1
    assert Sticker.objects.get(filename=removed["filename"]).active is False
    assert Sticker.objects.filter(active=True).count() == 24


def test_prune_keeps_stickers_that_a_sync_in_progress_did_not_see(fake_search_service):
    """Races of a --prune run over a live catalogue: a sticker deleted from a page already read (page numbers
    would then skip the first sticker of the next page) and one inserted meanwhile by a search (a row the sync
    never lists) must both stay active."""
    sync_catalog(page_size=100)
    deleted = fake_search_service.stickers[0]["filename"]

    def meanwhile(page: int, *_progress) -> None:
        if page == 1:
            fake_search_service.stickers.pop(0)
            # New in search_service, sorting before the cursor, and already returned by a search here.
            fake_search_service.stickers.append({"filename": "aa-new.png", "title": "new", "tags": []})
            record_seen_stickers([("aa-new.png", "new")])

    result = sync_catalog(page_size=10, prune=True, on_page=meanwhile)
    assert result.deactivated == 0, list(Sticker.objects.filter(active=False).values_list("filename", flat=True))
    assert Sticker.objects.filter(active=True).count() == 26
    # The next full run deactivates the deleted one, and only it.
    assert sync_catalog(page_size=10, prune=True).deactivated == 1
    assert list(Sticker.objects.filter(active=False).values_list("filename", flat=True)) == [deleted]


def test_malformed_entries_are_skipped(fake_search_service):
    fake_search_service.stickers = [
        {"filename": "ok.png", "title": "ok"},
        {"title": "no filename"},
        {"filename": "x" * 300},
        {"filename": "dims.png", "width": "wide", "height": -1},
    ]
    result = sync_catalog()
    assert (result.upserted, result.skipped) == (2, 2)
    assert Sticker.objects.get(filename="dims.png").width is None


def test_command_reports_and_resumes(fake_search_service, capsys):
    call_command("sync_catalog", "--page-size", "10", "--after", "sticker-009.png", "--no-progress")
    assert Sticker.objects.count() == 15
    assert "synced 15 stickers from 2 pages" in capsys.readouterr().out
    with pytest.raises(CommandError, match="full run"):
        call_command("sync_catalog", "--after", "x", "--prune")


def test_command_fails_clearly_when_search_service_is_down(fake_search_service):
    fake_search_service.behaviour = "error"
    with pytest.raises(CommandError, match=r"unavailable.*--after ''"):
        call_command("sync_catalog", "--no-progress")
    with pytest.raises(CommandError, match="page-size"):
        call_command("sync_catalog", "--page-size", "0")


def test_sticker_url_encodes_the_filename(settings):
    settings.STICKER_MEDIA_URL = "https://cdn.example.com/s/"
    assert sticker_url("cat #1 ?.png") == "https://cdn.example.com/s/cat%20%231%20%3F.png"
