"""The sticker catalogue this service shows and accepts feedback for (a copy of search_service's)."""

from django.db import models

FILENAME_MAX_LENGTH = 255


class Sticker(models.Model):
    filename = models.CharField(max_length=FILENAME_MAX_LENGTH, unique=True)
    title = models.CharField(max_length=255, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # False once a full sync no longer finds it in search_service (kept: feedback refers to it).
    active = models.BooleanField(default=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True, help_text="Last time sync_catalog saw it.")

    class Meta:
        ordering = ["filename"]

    def __str__(self) -> str:
        return self.filename
