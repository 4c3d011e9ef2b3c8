"""Writes of the sticker index: the API's upload and delete, and ``index_images`` (both store through
:func:`store_stickers`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from search_service.encoders.base import Encoder
from search_service.encoders.loader import get_encoder

from .blending import blend, blend_sql
from .errors import StickerExists, UnknownSticker, UploadTooLarge
from .images import DecodedImage, check_upload_filename, decode_image
from .metadata import metadata_text
from .models import Sticker
from .selectors import check_model, check_sticker_name
from .signals import index_changed
from .storage import delete_image, save_image
from .vector_index import ensure_vector_indexes

logger = logging.getLogger(__name__)


def _index_changed() -> None:
    """Tell this process's caches: now, and again once the write commits (a search that ran in between saw
    the old rows)."""
    index_changed.send(sender=Sticker)
    transaction.on_commit(lambda: index_changed.send(sender=Sticker))


@dataclass
class StickerInput:
    filename: str
    image: DecodedImage
    data: bytes | None  # the file's bytes to store; None when storage already holds them (reindex)
    title: str = ""
    tags: list[str] = field(default_factory=list)


def embed_metadata(encoder: Encoder, entries: Sequence[tuple[str, list[str]]]) -> list[np.ndarray | None]:
    """Text embeddings of (title, tags) pairs, one batch; None where a sticker has neither."""
    texts = [metadata_text(title, tags) for title, tags in entries]
    present = [i for i, text in enumerate(texts) if text]
    vectors: list[np.ndarray | None] = [None] * len(texts)
    if present:
        encoded = encoder.encode_texts([texts[i] for i in present])
        for row, i in enumerate(present):
            vectors[i] = encoded[row]
    return vectors


def store_stickers(
    items: Sequence[StickerInput],
    *,
    encoder: Encoder | None = None,
    replace: bool = True,
    reindex: bool = False,
    ensure_index: bool = True,
) -> list[Sticker]:
    """Embed the images (and their title/tags) in one batch, store files and rows in one transaction.

    ``replace``: an existing sticker of the same filename is overwritten, else :class:`StickerExists`.
    ``reindex``: allowed while the index still holds another model's embeddings (else ``ModelMismatch``).
    ``ensure_index``: create the model's HNSW indexes first if missing (a bulk load builds them at its end
    instead: one build is much faster than as many inserts into the graph).
    """
    if not items:
        return []
    encoder = encoder or get_encoder()
    if not reindex:
        check_model(encoder.model_id)
    image_vectors = encoder.encode_images([item.image.image for item in items])
    text_vectors = embed_metadata(encoder, [(item.title, item.tags) for item in items])
    if ensure_index:
        ensure_vector_indexes(encoder.model_id, encoder.dim)
    weight = settings.SEARCH_TEXT_WEIGHT
    rows = [
        Sticker(
            filename=item.filename,
            sha256=item.image.sha256,
            width=item.image.width,
            height=item.image.height,
            title=item.title,
            tags=list(item.tags),
            model_id=encoder.model_id,
            image_embedding=image_vector,
            text_embedding=text_vector,
            blended_embedding=blend(image_vector, text_vector, weight),
            blend_weight=weight,
        )
        for item, image_vector, text_vector in zip(items, image_vectors, text_vectors, strict=True)
    ]
    with transaction.atomic():
        if replace:
            Sticker.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["filename"],
                update_fields=[
                    "sha256",
                    "width",
                    "height",
                    "title",
                    "tags",
                    "model_id",
                    "image_embedding",
                    "text_embedding",
                    "blended_embedding",
                    "blend_weight",
                    "updated",
                ],
            )
        else:
            try:
                with transaction.atomic():
                    Sticker.objects.bulk_create(rows)
            except IntegrityError as exc:
                raise StickerExists(items[0].filename if len(items) == 1 else "one of the batch") from exc
        # Files after the rows, inside the transaction: a failed write rolls the rows back; a crash
        # between the write and the commit leaves a file whose hash differs, redone by the next run.
        for item in items:
            if item.data is not None:
                save_image(item.filename, item.data)
        _index_changed()
    return rows


def add_sticker(name: str, data: bytes, *, title: str = "", tags: Sequence[str] = ()) -> Sticker:
    """Add one uploaded image as a new sticker named after its file: check its size, decode it, check the
    name against the format, embed and store it.

    Raises :class:`UploadTooLarge`, ``InvalidImage``, :class:`StickerExists`, ``ModelMismatch``,
    ``ModelUnavailable``; nothing is stored then.
    """
    limit = settings.SEARCH_UPLOAD_MAX_BYTES
    if len(data) > limit:
        raise UploadTooLarge(len(data), limit)
    decoded = decode_image(data, max_pixels=settings.SEARCH_MAX_IMAGE_PIXELS)
    filename = check_upload_filename(name, decoded.format)
    item = StickerInput(filename=filename, image=decoded, data=data, title=title, tags=list(tags))
    return store_stickers([item], replace=False)[0]


def update_metadata(changes: Sequence[tuple[Sticker, str, list[str]]], *, encoder: Encoder | None = None) -> int:
    """New title/tags for stickers (their text and blended embeddings follow; the image one is untouched)."""
    if not changes:
        return 0
    encoder = encoder or get_encoder()
    vectors = embed_metadata(encoder, [(title, tags) for _, title, tags in changes])
    stickers, now = [], timezone.now()
    for (sticker, title, tags), vector in zip(changes, vectors, strict=True):
        sticker.title, sticker.tags, sticker.text_embedding, sticker.updated = title, list(tags), vector, now
        stickers.append(sticker)
    with transaction.atomic():
        Sticker.objects.bulk_update(stickers, ["title", "tags", "text_embedding", "updated"])
        # The blend from the stored image embedding (often deferred by the caller), in the same transaction.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Sticker._meta.db_table} SET blended_embedding = {blend_sql()}, "  # noqa: S608
                "blend_weight = %(w)s WHERE id = ANY(%(ids)s)",
                {"w": settings.SEARCH_TEXT_WEIGHT, "ids": [sticker.id for sticker in stickers]},
            )
        _index_changed()
    return len(stickers)


def delete_sticker(filename: str) -> None:
    """Remove the sticker's row and its file in one transaction. Raises :class:`UnknownSticker`.

    The file goes while the deleted row is still uncommitted: an upload of the same filename meanwhile waits
    on the row's unique key until this commits, and only then writes its file (store_stickers writes files
    after the rows), so it never loses its file to this delete.
    """
    check_sticker_name(filename)
    with transaction.atomic():
        deleted, _ = Sticker.objects.filter(filename=filename).delete()
        if not deleted:
            raise UnknownSticker(filename)
        _index_changed()
        try:
            delete_image(filename)
        except OSError:
            logger.warning("Deleted sticker %s but could not delete its file", filename, exc_info=True)
