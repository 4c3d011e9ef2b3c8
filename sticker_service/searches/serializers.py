from rest_framework import serializers

from servicekit.validation import TRIMMED_TEXT_PATTERN, FullMatchValidator, NoControlCharacters, QueryIntegerField
from sticker_service.core.api import StrictCharField
from sticker_service.searches.selectors import MAX_WINDOW_HOURS

# Trending windows: 1h..168h (MAX_WINDOW_HOURS) or 1d..7d, the whole rule as a pattern so that the schema states it.
WINDOW_PATTERN = r"^(?:(?:[1-9]|[1-9][0-9]|1[0-5][0-9]|16[0-8])h|[1-7]d)$"


class SuggestParamsSerializer(serializers.Serializer):
    prefix = StrictCharField(
        min_length=1,
        max_length=64,
        trim_whitespace=False,
        validators=[NoControlCharacters(TRIMMED_TEXT_PATTERN)],
        help_text="What the user typed so far: 1..64 characters, not only whitespace; matched in the query log's "
        "normal form (NFKC, case-folded, whitespace collapsed).",
    )
    limit = QueryIntegerField(min_value=1, max_value=20, default=8, help_text="Suggestions to return.")


class SuggestionSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="A past query, in normal form.")
    uses = serializers.IntegerField(help_text="How many searches used it.")


class SuggestResponseSerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text="The prefix as sent.")
    suggestions = SuggestionSerializer(many=True)


class TrendingParamsSerializer(serializers.Serializer):
    limit = QueryIntegerField(min_value=1, max_value=50, default=10, help_text="Queries to return.")
    window = StrictCharField(
        default="24h",
        trim_whitespace=False,
        validators=[FullMatchValidator(WINDOW_PATTERN, message=f"1h..{MAX_WINDOW_HOURS}h or 1d..7d.")],
        help_text="Length of the window compared with the one before it: 1h..168h or 1d..7d (clock hours, the "
        "current one included).",
    )

    def validate_window(self, value: str) -> int:
        return int(value[:-1]) * (24 if value.endswith("d") else 1)


class TrendSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="A query, in normal form.")
    uses = serializers.IntegerField(help_text="Uses in the window.")
    previous_uses = serializers.IntegerField(help_text="Uses in the window before.")


class TrendingResponseSerializer(serializers.Serializer):
    window = serializers.CharField(help_text="The window as sent (default 24h).")
    limit = serializers.IntegerField()
    trending = TrendSerializer(many=True)
