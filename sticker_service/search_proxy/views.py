from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from servicekit.openapi import error_schema
from sticker_service.core.api import INVALID, THROTTLED, UNAVAILABLE, ScopedThrottle
from sticker_service.core.clients import address_identity, client_hash
from sticker_service.search_proxy import services
from sticker_service.search_proxy.serializers import (
    SearchParamsSerializer,
    SearchResponseSerializer,
    SimilarParamsSerializer,
    SimilarResponseSerializer,
)

SEARCH_INVALID = error_schema(
    "invalid_request: a parameter is missing or out of range (see details.fields); "
    f"result_window_exceeded: offset + limit > {services.MAX_RESULT_WINDOW}."
)


class SearchView(APIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "search"

    @extend_schema(
        operation_id="search_stickers",
        summary="Search stickers by text",
        description="Ranks the stickers by how well they match `query` (through search_service) and counts one "
        "use of the query in its normal form (NFKC, case-folded, inner whitespace collapsed, trimmed: 'Cat ', "
        "'cat' and 'CAT' are one query); the response echoes the query as sent (trimmed). Votes on the query "
        "lift or lower their stickers (each client counts once, bounded). `client_id` is optional (1..64 "
        "visible ASCII characters). Pages of any size concatenate to one ranking up to offset + limit <= "
        f"{services.MAX_RESULT_WINDOW} (past it: 400 result_window_exceeded), for an unchanged index and vote "
        "state. search_service down, slow or failing: 503 within 3 seconds.",
        parameters=[SearchParamsSerializer],
        responses={200: SearchResponseSerializer, 400: SEARCH_INVALID, 429: THROTTLED, 503: UNAVAILABLE},
        tags=["search"],
    )
    def get(self, request: Request) -> Response:
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = services.search_stickers(
            query=data["query"],
            limit=data["limit"],
            offset=data["offset"],
            client_key=client_hash(address_identity(request)),
        )
        return Response(
            {
                "query": data["query"],
                "limit": data["limit"],
                "offset": data["offset"],
                "model": result.model,
                "stickers": [asdict(hit) for hit in result.stickers],
            }
        )


class SimilarView(APIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "similar"

    @extend_schema(
        operation_id="similar_stickers",
        summary="Stickers that look like a given sticker",
        description="Nearest stickers to `filename`'s image, best first (search_service leaves the sticker "
        "itself out).",
        parameters=[SimilarParamsSerializer],
        responses={
            200: SimilarResponseSerializer,
            400: INVALID,
            404: error_schema("not_found: search_service knows no sticker with that filename."),
            429: THROTTLED,
            503: UNAVAILABLE,
        },
        tags=["search"],
    )
    def get(self, request: Request) -> Response:
        params = SimilarParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = services.similar_stickers(filename=data["filename"], limit=data["limit"])
        return Response(
            {
                "filename": data["filename"],
                "limit": data["limit"],
                "model": result.model,
                "stickers": [asdict(hit) for hit in result.stickers],
            }
        )
