"""The query log: one row per distinct (trimmed) query text, with its usage counter."""

from django.db import models

QUERY_MAX_LENGTH = 256


class Query(models.Model):
    text = models.CharField(max_length=QUERY_MAX_LENGTH, unique=True)
    usage_count = models.PositiveBigIntegerField(default=0, db_index=True)
    first_searched_at = models.DateTimeField()
    last_searched_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-usage_count", "text"]
        verbose_name_plural = "queries"

    def __str__(self) -> str:
        return self.text
