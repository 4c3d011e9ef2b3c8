from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from search_service.core.api import INVALID, MISMATCH, NOT_FOUND, UNAUTHORIZED
from servicekit.openapi import error_schema

from . import services
from .errors import MAX_RESULT_WINDOW
from .serializers import RankingSerializer, SearchBodySerializer, SearchParamsSerializer, SimilarParamsSerializer

BAD_SEARCH = error_schema(
    "invalid_request: a parameter is missing or out of range (see details.fields); "
    f"result_window_exceeded: offset + limit > {MAX_RESULT_WINDOW}."
)
SEARCH_DOWN = error_schema(
    "model_unavailable: the model could not be loaded; blend_outdated: SEARCH_TEXT_WEIGHT changed and "
    "'python -m search_service reblend' has not run yet; search_timeout: the ranking query ran past "
    "SEARCH_STATEMENT_TIMEOUT_MS."
)
SIMILAR_DOWN = error_schema(
    "model_unavailable: the model could not be loaded; search_timeout: the query ran past SEARCH_STATEMENT_TIMEOUT_MS."
)
SEARCH_RESPONSES = {200: RankingSerializer, 400: BAD_SEARCH, 401: UNAUTHORIZED, 409: MISMATCH, 503: SEARCH_DOWN}

ADAPTER_HEADER = OpenApiParameter(
    "X-Query-Adapter",
    int,
    OpenApiParameter.HEADER,
    response=[200],
    description="Version of the query adapter that moved the query vector (0: none, the model's own embedding).",
)


def _response(ranking: services.Ranking) -> Response:
    hits = [{"filename": hit.filename, "score": round(hit.score, 6), "title": hit.title} for hit in ranking.hits]
    return Response({"model": ranking.model, "results": hits})


def _search_response(result: services.SearchResult) -> Response:
    response = _response(result)
    response["X-Query-Adapter"] = str(result.adapter_version)
    return response


class SearchView(APIView):
    @extend_schema(
        operation_id="search",
        parameters=[SearchParamsSerializer, ADAPTER_HEADER],
        responses=SEARCH_RESPONSES,
        summary="Stickers ranked by how well they match the text, best first.",
        description="Pages of any size concatenate to one ranking up to offset + limit <= "
        f"{MAX_RESULT_WINDOW} (past it: 400 result_window_exceeded). 409 model_mismatch while the index "
        "holds another model's embeddings.",
    )
    def get(self, request: Request) -> Response:
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return _search_response(services.search_stickers(data["query"], limit=data["limit"], offset=data["offset"]))

    @extend_schema(
        operation_id="search_with_boosts",
        request=SearchBodySerializer,
        parameters=[ADAPTER_HEADER],
        responses=SEARCH_RESPONSES,
        summary="The same search with per-request score boosts of listed stickers (JSON body).",
        description="Each listed sticker's score gets its boost (clamped to +-SEARCH_BOOST_MAX) and it enters the "
        "ranking wherever it was; pages stay stable for the same boosts. Unknown filenames are ignored.",
        examples=[
            OpenApiExample(
                "boosts",
                request_only=True,
                value={
                    "query": "birthday",
                    "limit": 20,
                    "offset": 0,
                    "boosts": [{"filename": "cake.png", "boost": 0.15}, {"filename": "skull.png", "boost": -0.1}],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        params = SearchBodySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        boosts = [(item["filename"], item["boost"]) for item in data["boosts"]]
        result = services.search_stickers(data["query"], limit=data["limit"], offset=data["offset"], boosts=boosts)
        return _search_response(result)


class SimilarView(APIView):
    @extend_schema(
        operation_id="similar",
        parameters=[SimilarParamsSerializer],
        responses={
            200: RankingSerializer,
            400: INVALID,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            409: MISMATCH,
            503: SIMILAR_DOWN,
        },
        summary="Stickers whose images are nearest to that sticker's image (itself excluded).",
    )
    def get(self, request: Request) -> Response:
        params = SimilarParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return _response(services.similar_stickers(data["filename"], limit=data["limit"]))
