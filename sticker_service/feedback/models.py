"""Thumbs up/down on search results: per-(query, sticker) counters, one raw event per vote, and each client's
latest vote per (query, sticker) (what the ranking counts)."""

from django.db import models

from sticker_service.catalog.models import Sticker
from sticker_service.searches.models import Query


class Vote(models.IntegerChoices):
    POSITIVE = 1, "positive"
    NEGATIVE = -1, "negative"


class FeedbackCounter(models.Model):
    """Totals of one (query, sticker) pair; only ever incremented in SQL."""

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="feedback_counters")
    sticker = models.ForeignKey(Sticker, on_delete=models.CASCADE, related_name="feedback_counters")
    positive = models.PositiveBigIntegerField(default=0)
    negative = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["query", "sticker"], name="feedback_counter_query_sticker")]
        ordering = ["query", "-positive", "sticker"]

    def __str__(self) -> str:
        return f"{self.query} / {self.sticker}: +{self.positive} -{self.negative}"


class FeedbackEvent(models.Model):
    """One vote as it arrived (raw training data for the ML team). Protected from cascading deletes."""

    created_at = models.DateTimeField(db_index=True)
    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="feedback_events")
    sticker = models.ForeignKey(Sticker, on_delete=models.PROTECT, related_name="feedback_events")
    vote = models.SmallIntegerField(choices=Vote.choices)
    # core.clients.client_key of the client that voted ("" for votes recorded before clients were kept).
    client = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.query} / {self.sticker}: {self.get_vote_display()}"


class ClientVote(models.Model):
    """The latest vote of one client on one (query, sticker): a client counts once, its latest vote wins."""

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="client_votes")
    sticker = models.ForeignKey(Sticker, on_delete=models.CASCADE, related_name="client_votes")
    client = models.CharField(max_length=64, help_text="SHA-256 of the client identity (core.clients.client_key).")
    vote = models.SmallIntegerField(choices=Vote.choices)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["query", "sticker", "client"], name="client_vote_query_sticker_client")
        ]
        ordering = ["query", "sticker", "client"]

    def __str__(self) -> str:
        return f"{self.query} / {self.sticker} / {self.client[:8]}: {self.get_vote_display()}"
