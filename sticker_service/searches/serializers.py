from rest_framework import serializers

from servicekit.validation import TRIMMED_TEXT_PATTERN, NoControlCharacters
from sticker_service.core.api import ClientIdField, FilenameField, QueryField, StrictCharField
from sticker_service.searches.selectors import MAX_WINDOW_HOURS

# Trending windows: 1h..168h or 1d..7d.
WINDOW_PATTERN = r"^([1-9][0-9]{0,2}h|[1-7]d)$"


class SearchParamsSerializer(serializers.Serializer):
    query = QueryField(help_text="Search text: trimmed, 1..256 characters, any Unicode except control characters.")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10, help_text="Stickers to return.")
    offset = serializers.IntegerField(
        min_value=0, max_value=100_000, default=0, help_text="Stickers to skip; offset + limit <= 1000."
    )
    client_id = ClientIdField()


class SimilarParamsSerializer(serializers.Serializer):
    filename = FilenameField(help_text="Filename of a sticker in the catalogue.")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10, help_text="Stickers to return.")


class StickerHitSerializer(serializers.Serializer):
    filename = serializers.CharField()
    url = serializers.CharField(help_text="Public URL of the image.")
    score = serializers.FloatField(help_text="Similarity; higher is better.")
    title = serializers.CharField(help_text="Title from the catalogue (may be empty).")


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="The query as sent (trimmed); it is counted in its normal form.")
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    model = serializers.CharField(help_text="Id of the model that ranked the stickers.")
    stickers = StickerHitSerializer(many=True)


class SimilarResponseSerializer(serializers.Serializer):
    filename = serializers.CharField()
    limit = serializers.IntegerField()
    model = serializers.CharField()
    stickers = StickerHitSerializer(many=True)


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
