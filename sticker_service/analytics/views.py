import re

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from servicekit.openapi import error_schema
from sticker_service.analytics import selectors
from sticker_service.analytics.serializers import (
    AnalyticsParamsSerializer,
    EventPageSerializer,
    EventSerializer,
    EventsParamsSerializer,
    QueryPageSerializer,
    QueryReportSerializer,
    QuerySummarySerializer,
)
from sticker_service.core.api import INVALID, THROTTLED, ScopedThrottle

AUTH_ERRORS = {
    401: error_schema("not_authenticated / authentication_failed: no or invalid `Authorization: Token <key>`."),
    403: error_schema("permission_denied: the token's user is not an admin (staff)."),
}
DATABASE_DOWN = error_schema("database_unavailable: the database cannot be reached; try again shortly.")
CSV = OpenApiResponse(
    OpenApiTypes.STR, description="CSV attachment (`format=csv`, or `Accept: text/csv` without `format`), streamed."
)
NOT_ACCEPTABLE = error_schema("not_acceptable: the Accept header admits neither the `format` asked for nor JSON/CSV.")
NEGOTIATION_HELP = (
    " The answer's format: `format` when given, else the Accept header (`text/csv` gives the CSV, anything else "
    "JSON); an Accept header that refuses the format asked for is a 406. Errors are always JSON."
)


class CSVRenderer(BaseRenderer):
    """Names text/csv for content negotiation; the CSV itself is streamed by :func:`csv_response`."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise TypeError("CSV answers are streamed by csv_response; errors are rendered as JSON.")


class FormatParameterNegotiation(DefaultContentNegotiation):
    """DRF's Accept negotiation among the renderers of the ``format`` query parameter when it names one (json,
    csv): ``format=csv`` with ``Accept: text/csv`` is the CSV, with ``Accept: application/json`` a 406. Any other
    ``format`` value is left to the parameters' validation (400)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        wanted = request.query_params.get("format")
        named = [renderer for renderer in renderers if renderer.format == wanted]
        return super().select_renderer(request, named or renderers, format_suffix)


def json_errors(responses: dict) -> dict:
    """The views' error responses, declared as JSON only (the view renders errors as JSON whatever was negotiated)."""
    return {(code, "application/json") if isinstance(code, int) else code: answer for code, answer in responses.items()}


def csv_response(name: str, header: list[str], rows, *, escape: str) -> StreamingHttpResponse:
    lines = selectors.csv_lines(header, rows, for_spreadsheets=escape == "spreadsheet")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


class QueryPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


CURSOR_POSITION = re.compile(r"[0-9]{1,18}")  # an event id (bigint)


class EventPagination(CursorPagination):
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 5000
    ordering = "id"

    def decode_cursor(self, request):
        """DRF's, plus: the position must be an event id. DRF filters ``id > position`` with whatever the
        base64 held (``p=abc``, ``p=1.5``, ``p=``), which was a 500; it is the 404 of any other bad cursor."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not CURSOR_POSITION.fullmatch(str(cursor.position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class AdminOnly(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAdminUser]
    throttle_classes = [ScopedThrottle]
    throttle_scope = "analytics"
    renderer_classes = [JSONRenderer, CSVRenderer]
    content_negotiation_class = FormatParameterNegotiation

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and isinstance(response.accepted_renderer, CSVRenderer):
            # An error (or anything not streamed) after CSV was negotiated: JSON, as documented.
            response.accepted_renderer, response.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return response

    @staticmethod
    def wants_csv(request: Request) -> bool:
        return isinstance(request.accepted_renderer, CSVRenderer)


class AnalyticsView(AdminOnly, APIView):
    @extend_schema(
        operation_id="analytics",
        summary="Query usage and feedback (admins)",
        description="With `query`: that query's usage and per-sticker positives/negatives. Without: every query "
        "with its totals, paginated (JSON) or all of them as one streamed CSV (`format=csv`: columns "
        "query, usage_count, filename, positive, negative, clients_positive, clients_negative; one row per query "
        "and sticker, a query "
        "without feedback has one row with an empty filename). Needs `Authorization: Token <key>` of "
        "a staff user." + NEGOTIATION_HELP,
        parameters=[AnalyticsParamsSerializer],
        responses={
            (200, "application/json"): OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="AnalyticsResponse",
                    serializers=[QueryReportSerializer, QueryPageSerializer],
                    resource_type_field_name=None,
                ),
                description="One query's report (with `query`) or, without `query`, a page of query summaries.",
            ),
            (200, "text/csv"): CSV,
            **json_errors(
                {
                    400: INVALID,
                    **AUTH_ERRORS,
                    404: error_schema("not_found: the query was never searched, or the page does not exist."),
                    406: NOT_ACCEPTABLE,
                    429: THROTTLED,
                    503: DATABASE_DOWN,
                }
            ),
        },
        tags=["analytics"],
    )
    def get(self, request: Request):
        params = AnalyticsParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        as_csv = self.wants_csv(request)
        if "query" in data:
            query = selectors.get_query(data["query"])
            if as_csv:
                return csv_response(
                    "analytics-query",
                    selectors.FEEDBACK_CSV_HEADER,
                    selectors.feedback_csv_rows(query),
                    escape=data["escape"],
                )
            return Response(QueryReportSerializer(selectors.query_report(query)).data)
        if as_csv:
            return csv_response(
                "analytics", selectors.FEEDBACK_CSV_HEADER, selectors.feedback_csv_rows(), escape=data["escape"]
            )
        paginator = QueryPagination()
        page = paginator.paginate_queryset(selectors.queries_overview(), request, view=self)
        return paginator.get_paginated_response(QuerySummarySerializer(page, many=True).data)


class EventsView(AdminOnly, APIView):
    @extend_schema(
        operation_id="analytics_events",
        summary="Raw feedback events (admins)",
        description="Every vote as recorded (id, created_at, query, filename, vote, client), oldest first; filter by "
        "`query`, `since`, `until`. JSON is cursor-paginated; `format=csv` streams all matching events "
        "as one CSV attachment." + NEGOTIATION_HELP,
        parameters=[EventsParamsSerializer],
        responses={
            (200, "application/json"): OpenApiResponse(
                EventPageSerializer, description="A page of events (JSON) or all as CSV."
            ),
            (200, "text/csv"): CSV,
            **json_errors(
                {
                    400: INVALID,
                    **AUTH_ERRORS,
                    404: error_schema(
                        "not_found: the query was never searched, or the cursor is not one this API gave."
                    ),
                    406: NOT_ACCEPTABLE,
                    429: THROTTLED,
                    503: DATABASE_DOWN,
                }
            ),
        },
        tags=["analytics"],
    )
    def get(self, request: Request):
        params = EventsParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        query = selectors.get_query(data["query"]) if "query" in data else None
        events = selectors.events(query=query, since=data.get("since"), until=data.get("until"))
        if self.wants_csv(request):
            rows = selectors.event_csv_rows(events)
            return csv_response("feedback-events", selectors.EVENTS_CSV_HEADER, rows, escape=data["escape"])
        paginator = EventPagination()
        page = paginator.paginate_queryset(events.select_related("query", "sticker"), request, view=self)
        return paginator.get_paginated_response(EventSerializer(selectors.event_dicts(page or []), many=True).data)
