from __future__ import annotations

import unicodedata

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from encoders.loader import ModelUnavailable
from servicekit.errors import ApiError
from servicekit.openapi import error_response

from .errors import ModelMismatch, StickerExists
from .images import InvalidImage, check_upload_filename, decode_image
from .models import Sticker
from .selectors import catalogue, get_sticker
from .serializers import CatalogueItemSerializer, CatalogueParamsSerializer, UploadSerializer
from .services import StickerInput, delete_sticker, store_stickers

UNAUTHORIZED = error_response("not_authenticated / authentication_failed: the service token is missing or wrong.")
MISMATCH = error_response("model_mismatch: the index holds another model's embeddings; run index_images --reindex.")
MODEL_DOWN = error_response("model_unavailable: the configured model could not be loaded.")
NOT_FOUND = error_response("not_found: no sticker of that filename.")
INVALID = error_response("invalid_request: a parameter is missing or out of range (see details.fields).")


def model_error(exc: Exception) -> ApiError:
    """The API error for the model-related failures every model-using view can meet."""
    if isinstance(exc, ModelMismatch):
        return ApiError(str(exc), code="model_mismatch", status_code=409,
                        details={"loaded_model": exc.loaded_model, "index_models": exc.index_models})
    return ApiError(str(exc), code="model_unavailable", status_code=503)


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
        responses={200: CatalogueItemSerializer(many=True), 400: INVALID, 401: UNAUTHORIZED,
                   404: error_response("not_found: the page is beyond the last one.")},
        summary="The sticker catalogue, oldest first, paginated (page beyond the last: 404).",
    )
    def get(self, request: Request) -> Response:
        CatalogueParamsSerializer(data=request.query_params).is_valid(raise_exception=True)
        paginator = CataloguePagination()
        page = paginator.paginate_queryset(catalogue(), request, view=self)
        return paginator.get_paginated_response(CatalogueItemSerializer(page, many=True,
                                                                        context={"request": request}).data)

    @extend_schema(
        operation_id="images_create",
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: CatalogueItemSerializer,
            400: error_response("invalid_request (fields) or invalid_image: not a PNG/JPEG/WebP/GIF/BMP image, "
                                "corrupt, too many pixels, or an unsafe file name / extension not matching."),
            401: UNAUTHORIZED,
            409: error_response("already_exists: a sticker has that filename; or model_mismatch."),
            413: error_response("payload_too_large: the file exceeds SEARCH_UPLOAD_MAX_BYTES."),
            503: MODEL_DOWN,
        },
        summary="Add one sticker (embedded at once, visible to the next search).",
    )
    def post(self, request: Request) -> Response:
        limit = settings.SEARCH_UPLOAD_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + 64 * 1024:  # refuse before reading the body
            raise _too_large(int(declared), limit)
        params = UploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["image"]
        if upload.size > limit:
            raise _too_large(upload.size, limit)
        try:
            data = upload.read()
            decoded = decode_image(data, max_pixels=settings.SEARCH_MAX_IMAGE_PIXELS)
            filename = check_upload_filename(upload.name, decoded.format)
        except InvalidImage as exc:
            raise ApiError(str(exc), code="invalid_image", status_code=400,
                           details={"fields": {"image": [str(exc)]}}) from exc
        item = StickerInput(filename, decoded, data, params.validated_data["title"], params.validated_data["tags"])
        try:
            sticker = store_stickers([item], replace=False)[0]
        except StickerExists as exc:
            raise ApiError(str(exc), code="already_exists", status_code=409, details={"filename": filename}) from exc
        except (ModelMismatch, ModelUnavailable) as exc:
            raise model_error(exc) from exc
        return Response(CatalogueItemSerializer(sticker, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


def _not_found(filename: str) -> ApiError:
    return ApiError(f"No sticker named {filename!r}.", code="not_found", status_code=404)


def _lookup_name(filename: str) -> str:
    """The URL's filename, or 404 when no sticker can have it (control characters, too long)."""
    if len(filename) > 255 or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in filename):
        raise _not_found(filename[:100])
    return filename


class ImageDetailView(APIView):
    @extend_schema(operation_id="images_retrieve", summary="One catalogue entry.",
                   responses={200: CatalogueItemSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def get(self, request: Request, filename: str) -> Response:
        try:
            sticker = get_sticker(_lookup_name(filename))
        except Sticker.DoesNotExist as exc:
            raise _not_found(filename) from exc
        return Response(CatalogueItemSerializer(sticker, context={"request": request}).data)

    @extend_schema(operation_id="images_destroy", responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND},
                   summary="Remove one sticker (its row and its file); gone from the next search.")
    def delete(self, request: Request, filename: str) -> Response:
        try:
            delete_sticker(_lookup_name(filename))
        except Sticker.DoesNotExist as exc:
            raise _not_found(filename) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(f"The upload is {size} bytes; at most {limit} bytes are accepted.", code="payload_too_large",
                    status_code=413, details={"max_bytes": limit})
