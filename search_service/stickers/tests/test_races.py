"""Races between a delete and an upload of the same filename (real database, two connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from search_service.stickers import services
from search_service.stickers.models import Sticker
from search_service.stickers.services import add_sticker, delete_sticker
from testkit.images import png

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_upload_during_a_delete_keeps_its_file(sticker_media, monkeypatch, encoder):
    """The upload of the same name lands between the delete's row removal and its file removal: the new
    sticker must keep its file (before the fix the delete removed the new upload's file)."""
    add_sticker("cat.png", png(1), title="old cat")
    upload_done = threading.Event()
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            add_sticker("cat.png", png(2), title="new cat")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()
            upload_done.set()

    real_delete_image = services.delete_image

    def delete_image_after_an_upload(filename: str) -> None:
        uploader = threading.Thread(target=upload)
        uploader.start()
        # Without the fix the upload completes here (the row is already gone); with it, it waits on the
        # deleted row's unique key until the delete commits.
        upload_done.wait(timeout=3)
        real_delete_image(filename)
        delete_image_after_an_upload.thread = uploader  # type: ignore[attr-defined]

    monkeypatch.setattr(services, "delete_image", delete_image_after_an_upload)
    delete_sticker("cat.png")
    delete_image_after_an_upload.thread.join(timeout=30)  # type: ignore[attr-defined]
    assert not errors, errors
    assert Sticker.objects.get(filename="cat.png").title == "new cat"
    assert (sticker_media / "cat.png").read_bytes() == png(2)
