"""Where sticker image files live: the Django storage alias ``stickers`` (FileSystemStorage at
``SEARCH_MEDIA_ROOT`` by default; any Django storage backend, e.g. a bucket, works the same)."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages


def sticker_storage() -> Storage:
    return storages["stickers"]


def save_image(filename: str, data: bytes) -> None:
    """Write (or overwrite) the file ``filename``."""
    saved = sticker_storage().save(filename, ContentFile(data))
    if saved != filename:
        raise RuntimeError(f"The storage renamed {filename!r} to {saved!r}; it must allow overwriting.")


def read_image(filename: str) -> bytes:
    with sticker_storage().open(filename, "rb") as handle:
        return handle.read()


def delete_image(filename: str) -> None:
    sticker_storage().delete(filename)


def image_url(filename: str) -> str:
    return sticker_storage().url(filename)
