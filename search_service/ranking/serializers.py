from __future__ import annotations

import math

from rest_framework import serializers

from search_service.ranking.errors import MAX_RESULT_WINDOW
from servicekit.validation import (
    TRIMMED_TEXT_PATTERN,
    NoControlCharacters,
    QueryIntegerField,
    WindowOffsetField,
    WindowOffsetMixin,
)

MAX_QUERY = 256
MAX_LIMIT = 100
# The largest offset any page can have (limit >= 1), declared in the schema; the sum rule offset + limit <=
# MAX_RESULT_WINDOW, which JSON Schema cannot state across two fields, is checked after them (400).
MAX_OFFSET = MAX_RESULT_WINDOW - 1
OFFSET_HELP = f"Stickers to skip; offset + limit <= {MAX_RESULT_WINDOW} (past it: 400 result_window_exceeded)."
MAX_BOOSTS = 200


# Control characters refused; a pattern, so that the OpenAPI schema states the rule (servicekit.validation).
no_control_characters = NoControlCharacters(message="The text must not contain control characters.")
query_characters = NoControlCharacters(TRIMMED_TEXT_PATTERN, message="The text must not contain control characters.")


class SearchParamsSerializer(serializers.Serializer):
    query = serializers.CharField(
        min_length=1,
        max_length=MAX_QUERY,
        trim_whitespace=True,
        validators=[query_characters],
        help_text=f"The text to search for: trimmed, 1..{MAX_QUERY} characters.",
    )
    limit = QueryIntegerField(min_value=1, max_value=MAX_LIMIT, default=10)
    offset = WindowOffsetField(min_value=0, max_value=MAX_OFFSET, default=0, help_text=OFFSET_HELP)


# JSON bodies (POST /api/search/) take JSON types only: DRF's fields would turn 5 into "5", "10" into 10 and
# false into 0.0, which the OpenAPI schema does not allow.
class JsonStringField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonWindowOffsetField(WindowOffsetMixin, JsonIntegerField):
    pass


class JsonNumberField(serializers.FloatField):
    """A finite JSON number."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class BoostSerializer(serializers.Serializer):
    filename = JsonStringField(
        max_length=255,
        trim_whitespace=False,
        validators=[no_control_characters],
        help_text="A sticker of the catalogue (unknown filenames are ignored).",
    )
    boost = JsonNumberField(
        help_text="Added to the sticker's score; clamped to [-SEARCH_BOOST_MAX, SEARCH_BOOST_MAX] (default 0.2)."
    )


class SearchBodySerializer(serializers.Serializer):
    query = JsonStringField(
        min_length=1,
        max_length=MAX_QUERY,
        trim_whitespace=True,
        validators=[query_characters],
        help_text=f"The text to search for: trimmed, 1..{MAX_QUERY} characters.",
    )
    limit = JsonIntegerField(min_value=1, max_value=MAX_LIMIT, default=10)
    offset = JsonWindowOffsetField(min_value=0, max_value=MAX_OFFSET, default=0, help_text=OFFSET_HELP)
    boosts = serializers.ListField(
        child=BoostSerializer(),
        required=False,
        default=list,
        max_length=MAX_BOOSTS,
        help_text=f"Per-request score boosts of listed stickers (at most {MAX_BOOSTS}; "
        "a filename given twice: the last one counts). Boosted stickers are ranked "
        "by score + boost wherever they are in the ranking.",
    )


class SimilarParamsSerializer(serializers.Serializer):
    filename = serializers.CharField(
        max_length=255,
        trim_whitespace=False,
        validators=[no_control_characters],
        help_text="The sticker to find neighbours of.",
    )
    limit = QueryIntegerField(min_value=1, max_value=MAX_LIMIT, default=10)


class HitSerializer(serializers.Serializer):
    filename = serializers.CharField()
    score = serializers.FloatField(help_text="Cosine similarity (search: blended with the title/tags match).")
    title = serializers.CharField(help_text='The sticker\'s title ("" when it has none).')


class RankingSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="Id of the model that ranked the stickers.")
    results = HitSerializer(many=True, help_text="Best first.")
