from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from search_service.adapters import serving as adapter_serving
from search_service.core.api import INVALID, MISMATCH, NOT_FOUND, UNAUTHORIZED
from search_service.core.db_router import on_replica
from search_service.core.metrics import RANKING_SECONDS
from search_service.encoders.loader import get_encoder
from search_service.stickers.selectors import check_model, get_sticker
from servicekit.openapi import error_schema

from . import result_cache, selectors
from .serializers import RankingSerializer, SearchBodySerializer, SearchParamsSerializer, SimilarParamsSerializer

BAD_SEARCH = error_schema(
    "invalid_request: a parameter is missing or out of range (see details.fields); "
    f"result_window_exceeded: offset + limit > {selectors.MAX_RESULT_WINDOW}."
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


def _response(model_id: str, hits: list[selectors.Hit]) -> Response:
    return Response(
        {
            "model": model_id,
            "results": [{"filename": hit.filename, "score": round(hit.score, 6), "title": hit.title} for hit in hits],
        }
    )


def _search(query: str, limit: int, offset: int, boosts: list[tuple[str, float]]) -> Response:
    selectors.check_result_window(offset, limit)  # before the text is encoded
    encoder = get_encoder()
    model_id = encoder.model_id
    # The query adapter served now, if any (read like the ranking: from the replica when one is usable).
    adapter = on_replica(lambda: adapter_serving.current(model_id, encoder.dim))
    version = adapter_serving.version_of(adapter)

    # selectors.search also refuses (ModelMismatch, BlendOutdated) while the index is not searchable as it is.
    def compute() -> list[selectors.Hit]:
        vector = adapter_serving.query_vector(query, adapter)
        with RANKING_SECONDS.time():
            return on_replica(
                lambda: selectors.search(vector, model_id=model_id, limit=limit, offset=offset, boosts=boosts)
            )

    hits = result_cache.cached(("search", model_id, version, query, limit, offset, tuple(boosts)), compute)
    response = _response(model_id, hits)
    response["X-Query-Adapter"] = str(version)
    return response


class SearchView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="search",
        parameters=[SearchParamsSerializer, ADAPTER_HEADER],
        responses=SEARCH_RESPONSES,
        summary="Stickers ranked by how well they match the text, best first.",
        description="Pages of any size concatenate to one ranking up to offset + limit <= "
        f"{selectors.MAX_RESULT_WINDOW} (past it: 400 result_window_exceeded). 409 model_mismatch while the index "
        "holds another model's embeddings.",
    )
    def get(self, request: Request) -> Response:
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return _search(data["query"], data["limit"], data["offset"], [])

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
        return _search(data["query"], data["limit"], data["offset"], boosts)


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
        filename = params.validated_data["filename"]
        model_id = get_encoder().model_id

        def read() -> list[selectors.Hit]:
            check_model(model_id)
            sticker = get_sticker(filename)
            return selectors.similar(sticker, model_id=model_id, limit=params.validated_data["limit"])

        return _response(model_id, on_replica(read))
