"""Query adapters: small residual maps on query embeddings, trained from votes; one row per version."""

from django.db import models


class QueryAdapter(models.Model):
    """One trained adapter for one model. Its id is its version; the newest row of the loaded model that was
    not rolled back is served (``adapters.serving``)."""

    model_id = models.CharField(max_length=255, help_text="Encoder the adapter was trained for.")
    dim = models.PositiveIntegerField()
    rank = models.PositiveIntegerField()
    weights = models.BinaryField(help_text="float32 .npz: down (dim x rank), up (rank x dim).")
    stats = models.JSONField(default=dict, blank=True, help_text="Training data and losses.")
    created_at = models.DateTimeField(auto_now_add=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True, help_text="Set by train_query_adapter --rollback.")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["model_id", "-id"], name="adapter_model_newest")]

    def __str__(self) -> str:
        return f"adapter v{self.pk} for {self.model_id}"
