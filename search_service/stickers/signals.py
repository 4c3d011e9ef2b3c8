"""Signals of the sticker index."""

from django.dispatch import Signal

# Sent (sender=Sticker) after a committed write of the index: stickers stored, re-embedded, retitled or deleted.
index_changed = Signal()
