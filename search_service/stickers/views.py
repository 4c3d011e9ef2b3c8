from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from search_service.core.api import INVALID, MODEL_DOWN, NOT_FOUND, UNAUTHORIZED
from search_service.core.db_router import on_replica
from servicekit.openapi import error_schema

from .errors import UploadTooLarge
from .selectors import catalogue, catalogue_after, get_sticker
from .serializers import CatalogueItemSerializer, CatalogueParamsSerializer, UploadSerializer
from .services import add_sticker, delete_sticker


class CataloguePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class ImageListView(APIView):
    parser_classes = [MultiPartParser]
    pagination_class = CataloguePagination  # for the schema: GET answers a page {count, next, previous, results}

    @extend_schema(
        operation_id="images_list",
        parameters=[CatalogueParamsSerializer],
        responses={
            200: CatalogueItemSerializer(many=True),
            400: INVALID,
            401: UNAUTHORIZED,
            404: error_schema("not_found: the page is beyond the last one."),
        },
        summary="The sticker catalogue, oldest first, paginated (page beyond the last: 404); or keyset pages "
        "in filename order with `after`.",
    )
    def get(self, request: Request) -> Response:
        params = CatalogueParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        if (after := params.validated_data.get("after")) is not None:
            size = params.validated_data["page_size"]
            rows = list(catalogue_after(after)[:size])
            last = rows[-1].filename if len(rows) == size else None
            return Response(
                {
                    "count": catalogue().count(),
                    "next": last and replace_query_param(request.build_absolute_uri(), "after", last),
                    "previous": None,
                    "results": CatalogueItemSerializer(rows, many=True, context={"request": request}).data,
                }
            )
        paginator = CataloguePagination()

        def read() -> Response:
            page = paginator.paginate_queryset(catalogue(), request, view=self)
            return paginator.get_paginated_response(
                CatalogueItemSerializer(page, many=True, context={"request": request}).data
            )

        return on_replica(read)

    @extend_schema(
        operation_id="images_create",
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: CatalogueItemSerializer,
            400: error_schema(
                "invalid_request (fields) or invalid_image: not a PNG/JPEG/WebP/GIF/BMP image, "
                "corrupt, too many pixels, or an unsafe file name / extension not matching."
            ),
            401: UNAUTHORIZED,
            409: error_schema("already_exists: a sticker has that filename; or model_mismatch."),
            413: error_schema("payload_too_large: the file exceeds SEARCH_UPLOAD_MAX_BYTES."),
            503: MODEL_DOWN,
        },
        summary="Add one sticker (embedded at once, visible to the next search).",
    )
    def post(self, request: Request) -> Response:
        limit = settings.SEARCH_UPLOAD_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + 64 * 1024:  # refuse before reading the body
            raise UploadTooLarge(int(declared), limit)
        params = UploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["image"]
        sticker = add_sticker(
            upload.name, upload.read(), title=params.validated_data["title"], tags=params.validated_data["tags"]
        )
        return Response(
            CatalogueItemSerializer(sticker, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ImageDetailView(APIView):
    @extend_schema(
        operation_id="images_retrieve",
        summary="One catalogue entry.",
        responses={200: CatalogueItemSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
    def get(self, request: Request, filename: str) -> Response:
        sticker = get_sticker(filename)
        return Response(CatalogueItemSerializer(sticker, context={"request": request}).data)

    @extend_schema(
        operation_id="images_destroy",
        responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND},
        summary="Remove one sticker (its row and its file); gone from the next search.",
    )
    def delete(self, request: Request, filename: str) -> Response:
        delete_sticker(filename)
        return Response(status=status.HTTP_204_NO_CONTENT)
