from django.conf import settings
from rest_framework import serializers

from sticker_service.core.api import ClientIdField, FilenameField, QueryField


class FilenameListField(serializers.ListField):
    """Distinct filenames, at most FEEDBACK_MAX_FILENAMES; the schema says both (``uniqueItems`` through
    servicekit.schema, ``maxItems``). Fields are re-created for each serializer, so the limit in force is read."""

    unique_items = True

    def __init__(self, **kwargs):
        super().__init__(
            child=FilenameField(),
            default=list,
            max_length=settings.FEEDBACK_MAX_FILENAMES,
            error_messages={"max_length": "At most {max_length} filenames per list."},
            **kwargs,
        )


class FeedbackEntrySerializer(serializers.Serializer):
    query = QueryField(
        help_text="A query as it was searched (matched in its normal form: NFKC, case-folded, "
        "whitespace collapsed, trimmed)."
    )
    positive = FilenameListField(help_text="Filenames the person liked for this query.")
    negative = FilenameListField(
        help_text="Filenames the person disliked for this query; none of them also in positive."
    )

    def validate_positive(self, value: list[str]) -> list[str]:
        return self._check_list(value)

    def validate_negative(self, value: list[str]) -> list[str]:
        return self._check_list(value)

    def _check_list(self, value: list[str]) -> list[str]:
        limit = settings.FEEDBACK_MAX_FILENAMES
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} filenames per list.")
        if len(set(value)) != len(value):
            raise serializers.ValidationError("A filename is listed twice.")
        return value

    def validate(self, attrs):
        both = set(attrs["positive"]) & set(attrs["negative"])
        if both:
            raise serializers.ValidationError(
                {"negative": [f"Also listed as positive: {', '.join(sorted(both)[:5])}."]}
            )
        return attrs


class FeedbackRequestSerializer(serializers.Serializer):
    # max_length goes to the ListSerializer that many=True builds; djangorestframework-stubs omits it.
    feedback = FeedbackEntrySerializer(
        many=True,
        allow_empty=False,
        max_length=settings.FEEDBACK_MAX_ITEMS,  # type: ignore[call-arg]
        help_text="One entry per query; FEEDBACK_MAX_ITEMS entries at most.",
    )
    client_id = ClientIdField()

    def to_internal_value(self, data):
        # Refuse an oversized batch before validating its entries one by one.
        items = data.get("feedback") if isinstance(data, dict) else None
        limit = settings.FEEDBACK_MAX_ITEMS
        if isinstance(items, list) and len(items) > limit:
            raise serializers.ValidationError({"feedback": [f"At most {limit} entries per request."]})
        return super().to_internal_value(data)


class FeedbackFailureSerializer(serializers.Serializer):
    query = serializers.CharField()
    filename = serializers.CharField()
    reason = serializers.ChoiceField(
        choices=["unknown_query", "unknown_sticker"],
        help_text="unknown_query: never searched; unknown_sticker: not in the catalogue.",
    )


class FeedbackResponseSerializer(serializers.Serializer):
    recorded = serializers.IntegerField(help_text="Votes recorded.")
    failed = FeedbackFailureSerializer(many=True)
