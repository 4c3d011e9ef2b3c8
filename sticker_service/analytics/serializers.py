from rest_framework import serializers

from servicekit.validation import QueryIntegerField
from sticker_service.core.api import QueryField

FORMAT_HELP = "json or csv (a streamed CSV attachment); without it the Accept header chooses (JSON unless text/csv)."
ESCAPE_HELP = (
    "CSV only. spreadsheet (default): a text cell starting with = + - @ tab or CR is prefixed with ' so that a "
    "spreadsheet shows it as text; none: every cell exactly as stored, for programs (the query adapter's training)."
)


def escape_field():
    return serializers.ChoiceField(choices=["spreadsheet", "none"], default="spreadsheet", help_text=ESCAPE_HELP)


class AnalyticsParamsSerializer(serializers.Serializer):
    query = QueryField(required=False, help_text="One query (matched in its normal form); omit for every query.")
    format = serializers.ChoiceField(choices=["json", "csv"], required=False, help_text=FORMAT_HELP)
    escape = escape_field()
    page = QueryIntegerField(min_value=1, required=False, help_text="Page of the all-queries list (JSON).")
    page_size = QueryIntegerField(
        min_value=1, max_value=1000, required=False, help_text="Queries per page (default 50, at most 1000)."
    )


class EventsParamsSerializer(serializers.Serializer):
    query = QueryField(required=False, help_text="Only this query's events.")
    since = serializers.DateTimeField(required=False, help_text="Events at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Events before this time (ISO 8601).")
    format = serializers.ChoiceField(choices=["json", "csv"], required=False, help_text=FORMAT_HELP)
    escape = escape_field()
    cursor = serializers.CharField(required=False, help_text="Opaque cursor from `next`/`previous` (JSON).")
    page_size = QueryIntegerField(
        min_value=1, max_value=5000, required=False, help_text="Events per page (default 500, at most 5000)."
    )


class StickerFeedbackSerializer(serializers.Serializer):
    filename = serializers.CharField()
    url = serializers.CharField()
    positive = serializers.IntegerField(help_text="Positive votes (every vote counted).")
    negative = serializers.IntegerField(help_text="Negative votes (every vote counted).")
    clients_positive = serializers.IntegerField(help_text="Distinct clients whose latest vote is positive.")
    clients_negative = serializers.IntegerField(help_text="Distinct clients whose latest vote is negative.")


class QuerySummarySerializer(serializers.Serializer):
    query = serializers.CharField(source="text")
    usage_count = serializers.IntegerField(help_text="Searches with this query.")
    first_searched_at = serializers.DateTimeField()
    last_searched_at = serializers.DateTimeField()
    positive = serializers.IntegerField(help_text="Positive votes over all stickers.")
    negative = serializers.IntegerField(help_text="Negative votes over all stickers.")
    clients = serializers.IntegerField(help_text="Distinct clients that voted on this query.")


class QueryReportSerializer(QuerySummarySerializer):
    query = serializers.CharField()
    stickers = StickerFeedbackSerializer(many=True, help_text="Per-sticker votes, most liked first.")


class QueryPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = QuerySummarySerializer(many=True)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    query = serializers.CharField()
    filename = serializers.CharField()
    vote = serializers.ChoiceField(choices=["positive", "negative"])
    client = serializers.CharField(help_text="SHA-256 of the voting client's identity (empty for older votes).")


class EventPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EventSerializer(many=True)
