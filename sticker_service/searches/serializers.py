from rest_framework import serializers

from servicekit.validation import TRIMMED_TEXT_PATTERN, NoControlCharacters
from sticker_service.core.api import StrictCharField
from sticker_service.searches.selectors import MAX_WINDOW_HOURS

# Trending windows: 1h..168h or 1d..7d.
WINDOW_PATTERN = r"^([1-9][0-9]{0,2}h|[1-7]d)$"


class SuggestParamsSerializer(serializers.Serializer):
    prefix = StrictCharField(
        min_length=1,
        max_length=64,
        trim_whitespace=False,
        validators=[NoControlCharacters(TRIMMED_TEXT_PATTERN)],
        help_text="What the user typed so far: 1..64 characters, not only whitespace; matched in the query log's "
        "normal form (NFKC, case-folded, whitespace collapsed).",
    )
    limit = serializers.IntegerField(min_value=1, max_value=20, default=8, help_text="Suggestions to return.")


class SuggestionSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="A past query, in normal form.")
    uses = serializers.IntegerField(help_text="How many searches used it.")


class SuggestResponseSerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text="The prefix as sent.")
    suggestions = SuggestionSerializer(many=True)


class TrendingParamsSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10, help_text="Queries to return.")
    window = serializers.RegexField(
        WINDOW_PATTERN,
        default="24h",
        help_text="Length of the window compared with the one before it: 1h..168h or 1d..7d (clock hours, the "
        "current one included).",
    )

    def validate_window(self, value: str) -> int:
        hours = int(value[:-1]) * (24 if value.endswith("d") else 1)
        if hours > MAX_WINDOW_HOURS:
            raise serializers.ValidationError(f"At most {MAX_WINDOW_HOURS}h (7d).")
        return hours


class TrendSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="A query, in normal form.")
    uses = serializers.IntegerField(help_text="Uses in the window.")
    previous_uses = serializers.IntegerField(help_text="Uses in the window before.")


class TrendingResponseSerializer(serializers.Serializer):
    window = serializers.CharField(help_text="The window as sent (default 24h).")
    limit = serializers.IntegerField()
    trending = TrendSerializer(many=True)
