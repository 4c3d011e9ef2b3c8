from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sticker_service.core.api import INVALID, THROTTLED, ScopedThrottle
from sticker_service.searches import selectors
from sticker_service.searches.serializers import (
    SuggestParamsSerializer,
    SuggestResponseSerializer,
    TrendingParamsSerializer,
    TrendingResponseSerializer,
)


class SuggestView(APIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "suggest"

    @extend_schema(
        operation_id="suggest_queries",
        summary="Autocomplete: popular past queries starting with a prefix",
        description="Past queries (normal form) that start with `prefix`, most used first. A query is suggested "
        "only once at least 3 distinct clients searched it, and never while an admin hides it.",
        parameters=[SuggestParamsSerializer],
        responses={200: SuggestResponseSerializer, 400: INVALID, 429: THROTTLED},
        tags=["discovery"],
    )
    def get(self, request: Request) -> Response:
        params = SuggestParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        found = selectors.suggestions(data["prefix"], limit=data["limit"])
        return Response({"prefix": data["prefix"], "suggestions": [asdict(item) for item in found]})


class TrendingView(APIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "suggest"

    @extend_schema(
        operation_id="trending_queries",
        summary="Queries rising now",
        description="Queries whose uses in the last `window` (clock hours, the current one included) rose most "
        "against the window before; only queries at least 3 distinct clients searched, never hidden ones.",
        parameters=[TrendingParamsSerializer],
        responses={200: TrendingResponseSerializer, 400: INVALID, 429: THROTTLED},
        tags=["discovery"],
    )
    def get(self, request: Request) -> Response:
        params = TrendingParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        found = selectors.trending(window_hours=data["window"], limit=data["limit"])
        window = request.query_params.get("window") or "24h"
        return Response({"window": window, "limit": data["limit"], "trending": [asdict(item) for item in found]})
