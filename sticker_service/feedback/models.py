"""Thumbs up/down on search results: per-(query, sticker) counters and one raw event per vote."""

from django.db import models

from catalog.models import Sticker
from searches.models import Query


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

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.query} / {self.sticker}: {self.get_vote_display()}"
