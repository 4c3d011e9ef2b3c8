from rest_framework import serializers

from servicekit.validation import QueryIntegerField, WindowOffsetField
from sticker_service.core.api import ClientIdField, FilenameField, QueryField
from sticker_service.search_proxy.errors import MAX_RESULT_WINDOW


class SearchParamsSerializer(serializers.Serializer):
    query = QueryField(help_text="Search text: trimmed, 1..256 characters, any Unicode except control characters.")
    limit = QueryIntegerField(min_value=1, max_value=100, default=10, help_text="Stickers to return.")
    # The largest offset a page can have (limit >= 1), declared; the sum rule, which JSON Schema cannot state across
    # two parameters, refuses past it after the fields (400 result_window_exceeded, as DESIGN.md says).
    offset = WindowOffsetField(
        min_value=0,
        max_value=MAX_RESULT_WINDOW - 1,
        default=0,
        help_text=f"Stickers to skip; offset + limit <= {MAX_RESULT_WINDOW} (past it: 400 result_window_exceeded).",
    )
    client_id = ClientIdField()


class SimilarParamsSerializer(serializers.Serializer):
    filename = FilenameField(help_text="Filename of a sticker in the catalogue.")
    limit = QueryIntegerField(min_value=1, max_value=100, default=10, help_text="Stickers to return.")


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
