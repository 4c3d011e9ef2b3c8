"""Reads of the sticker catalogue and of the index's state."""

from __future__ import annotations

import unicodedata

from django.db.models import Q, QuerySet

from .errors import ModelMismatch, UnknownSticker
from .models import Sticker


def catalogue() -> QuerySet[Sticker]:
    """Every sticker, oldest first (stable pages), without the vectors."""
    return Sticker.objects.order_by("id").only("id", "filename", "title", "tags", "width", "height")


def catalogue_after(filename: str) -> QuerySet[Sticker]:
    """The stickers whose filename sorts after ``filename``, in filename order (keyset pages: a sticker added
    or deleted meanwhile never moves another one between pages)."""
    return catalogue().filter(filename__gt=filename).order_by("filename")


def check_sticker_name(filename: str) -> None:
    """Raise :class:`UnknownSticker` when no sticker can have that name (control characters, too long)."""
    if len(filename) > 255 or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in filename):
        raise UnknownSticker(filename[:100])


def get_sticker(filename: str) -> Sticker:
    """The sticker of that filename; raises :class:`UnknownSticker`."""
    check_sticker_name(filename)
    try:
        return Sticker.objects.get(filename=filename)
    except Sticker.DoesNotExist as exc:
        raise UnknownSticker(filename) from exc


def other_models_present(model_id: str) -> bool:
    """Does any sticker carry an embedding of another model? Two btree range probes, O(log n)."""
    return Sticker.objects.filter(Q(model_id__lt=model_id) | Q(model_id__gt=model_id)).exists()


def index_size() -> int:
    return Sticker.objects.count()


def index_model_ids(limit: int = 10) -> list[str]:
    return list(Sticker.objects.order_by().values_list("model_id", flat=True).distinct()[:limit])


def check_model(model_id: str) -> None:
    """Raise :class:`ModelMismatch` unless every stored embedding comes from ``model_id``."""
    if other_models_present(model_id):
        raise ModelMismatch(model_id, [m for m in index_model_ids() if m != model_id])
