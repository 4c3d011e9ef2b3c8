from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adapters import serving as adapter_serving
from config.api import INVALID, MISMATCH, MODEL_DOWN, NOT_FOUND, UNAUTHORIZED
from encoders.loader import get_encoder
from stickers.selectors import check_model, get_sticker

from . import result_cache, selectors
from .serializers import RankingSerializer, SearchParamsSerializer, SimilarParamsSerializer

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


class SearchView(APIView):
    @extend_schema(
        operation_id="search",
        parameters=[SearchParamsSerializer, ADAPTER_HEADER],
        responses={200: RankingSerializer, 400: INVALID, 401: UNAUTHORIZED, 409: MISMATCH, 503: MODEL_DOWN},
        summary="Stickers ranked by how well they match the text, best first.",
        description="409 model_mismatch while the index holds another model's embeddings.",
    )
    def get(self, request: Request) -> Response:
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query, limit, offset = (params.validated_data[name] for name in ("query", "limit", "offset"))
        encoder = get_encoder()
        model_id = encoder.model_id
        adapter = adapter_serving.current(model_id, encoder.dim)  # the query adapter served now, if any
        # selectors.search also refuses (ModelMismatch) while the index holds another model's embeddings.
        hits = result_cache.cached(
            ("search", model_id, adapter_serving.version_of(adapter), query, limit, offset),
            lambda: selectors.search(
                adapter_serving.query_vector(query, adapter), model_id=model_id, limit=limit, offset=offset
            ),
        )
        response = _response(model_id, hits)
        response["X-Query-Adapter"] = str(adapter_serving.version_of(adapter))
        return response


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
            503: MODEL_DOWN,
        },
        summary="Stickers whose images are nearest to that sticker's image (itself excluded).",
    )
    def get(self, request: Request) -> Response:
        params = SimilarParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filename = params.validated_data["filename"]
        model_id = get_encoder().model_id
        check_model(model_id)
        sticker = get_sticker(filename)
        return _response(model_id, selectors.similar(sticker, model_id=model_id, limit=params.validated_data["limit"]))
