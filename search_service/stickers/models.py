from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import VectorField


class Sticker(models.Model):
    """One sticker image and its embeddings, with the id of the model that made them.

    The vector columns have no fixed dimension (it depends on the model); each (model id, dimension)
    gets its own partial HNSW indexes on ``column::vector(dim)`` (see ``stickers.vector_index``): cosine on the
    image embedding (similar stickers), inner product on the blended embedding (search, ``stickers.blending``).
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
    # (1 - w) * image + w * text (the image embedding alone without title/tags), w = blend_weight: its inner
    # product with a unit query is the search score. Null only for a row written before the blend existed.
    blended_embedding = VectorField(null=True, blank=True)
    blend_weight = models.FloatField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Full text of the title (weight A) and tags, English stems and `simple` (exact, any language) lexemes:
    # computed by PostgreSQL on every write (the IMMUTABLE function stickers_search_document, migration 0003).
    search_tsv = models.GeneratedField(
        expression=models.Func(
            models.F("title"), models.F("tags"), function="stickers_search_document", output_field=SearchVectorField()
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            GinIndex(fields=["search_tsv"], name="stickers_search_tsv_idx"),
            models.Index(fields=["sha256"], name="stickers_sha256_idx"),
            # Also serves the probes of each search: another model's rows (model_id < x or > x), rows blended
            # with another weight (model_id = x and blend_weight <> w or null).
            models.Index(fields=["model_id", "blend_weight"], name="stickers_model_blend_idx"),
        ]

    def __str__(self) -> str:
        return self.filename


class LexiconWord(models.Model):
    """A distinct word (``simple`` lexeme) of the stickers' titles and tags and how many stickers hold it.

    Kept by statement-level triggers on the sticker table (migration 0003), so it follows every write; read by
    the query analysis (``ranking.lexical``): document counts for the words' rarity, and the trigram index for
    words a query misspells or cuts short. ``forms`` are the word's English stem and itself, to find the words
    a query word matches exactly.
    """

    word = models.TextField(primary_key=True)
    documents = models.IntegerField()
    forms = models.GeneratedField(
        expression=models.Func(models.F("word"), function="stickers_word_forms", output_field=SearchVectorField()),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        indexes = [
            GinIndex(fields=["forms"], name="stickers_lexicon_forms_idx"),
            GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="stickers_lexicon_trgm_idx"),
        ]

    def __str__(self) -> str:
        return self.word
