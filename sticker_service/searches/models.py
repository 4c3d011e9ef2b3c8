"""The query log: one row per distinct query (in normal form, searches/normalize.py), with its usage counter, the
number of distinct clients that searched it, hourly use counts, and an admin's "hidden" flag."""

from django.db import models
from django.db.models import Q

QUERY_MAX_LENGTH = 256
# Privacy floor: a query is suggested or trending only once this many distinct clients searched it.
MIN_DISTINCT_CLIENTS = 3


class Query(models.Model):
    text = models.CharField(max_length=QUERY_MAX_LENGTH, unique=True)
    usage_count = models.PositiveBigIntegerField(default=0, db_index=True)
    first_searched_at = models.DateTimeField()
    last_searched_at = models.DateTimeField(db_index=True)
    distinct_clients = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Distinct clients (keyed hashes in QueryClient) that searched it."
    )
    hidden = models.BooleanField(
        default=False, db_default=False, help_text="Hidden by an admin: never suggested nor trending."
    )

    class Meta:
        ordering = ["-usage_count", "text"]
        verbose_name_plural = "queries"
        indexes = [
            # Prefix search for suggestions (LIKE 'pre%' in any collation), only over suggestible queries; the
            # usage count rides along so the top-N sort reads the index alone.
            models.Index(
                fields=["text"],
                opclasses=["text_pattern_ops"],
                include=["usage_count"],
                name="query_suggest_prefix",
                condition=Q(hidden=False, distinct_clients__gte=MIN_DISTINCT_CLIENTS),
            ),
        ]

    def __str__(self) -> str:
        return self.text


class QueryClient(models.Model):
    """One row per (query, client): ``INSERT ... ON CONFLICT DO NOTHING`` tells whether a client is new."""

    query = models.ForeignKey(
        Query, on_delete=models.CASCADE, related_name="+", db_index=False
    )  # the unique pair indexes it
    client = models.CharField(max_length=32, help_text="Keyed hash of the client identity (never the identity).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["query", "client"], name="query_client_unique")]

    def __str__(self) -> str:
        return f"{self.query_id} {self.client}"


class QueryHourlyUse(models.Model):
    """Uses of a query in one clock hour (UTC), incremented atomically with each search."""

    query = models.ForeignKey(
        Query, on_delete=models.CASCADE, related_name="+", db_index=False
    )  # the unique pair indexes it
    hour = models.DateTimeField(db_index=True)
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["query", "hour"], name="query_hourly_use_unique")]

    def __str__(self) -> str:
        return f"{self.query_id} {self.hour:%Y-%m-%d %H}h: {self.uses}"
