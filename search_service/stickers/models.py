from django.contrib.postgres.fields import ArrayField
from django.db import models
from pgvector.django import VectorField


class Sticker(models.Model):
    """One sticker image and its embeddings, with the id of the model that made them.

    The vector columns have no fixed dimension (it depends on the model); each (model id, dimension)
    gets its own partial HNSW cosine index on ``embedding::vector(dim)`` (see ``stickers.vector_index``).
    """

    filename = models.CharField(max_length=255, unique=True)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    title = models.CharField(max_length=255, blank=True, default="")
    tags = ArrayField(models.CharField(max_length=100), blank=True, default=list)
    model_id = models.CharField(max_length=200)
    image_embedding = VectorField()
    # Embedding of the title and tags (same text tower as queries); null when the sticker has neither.
    text_embedding = VectorField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["sha256"], name="stickers_sha256_idx"),
            # Also serves the model-mismatch probe (model_id < x or > x).
            models.Index(fields=["model_id"], name="stickers_model_id_idx"),
        ]

    def __str__(self) -> str:
        return self.filename
