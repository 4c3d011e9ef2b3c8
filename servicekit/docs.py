"""``/api/schema/`` (OpenAPI 3) and ``/api/docs/`` (Swagger UI, files served locally) for both services."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer

from servicekit.openapi import error_schema

_SCHEMA = "The OpenAPI 3 document, as YAML or JSON (see the Accept header)."


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema, itself described in the schema; its errors (e.g. 401) in the one JSON format."""

    @extend_schema(
        operation_id="openapi_schema",
        summary="This API's OpenAPI 3 schema",
        description="YAML (`application/vnd.oai.openapi`) by default; JSON with `Accept: application/json` or "
        "`Accept: application/vnd.oai.openapi+json`. Swagger UI renders it at `/api/docs/`.",
        responses={
            (200, "application/vnd.oai.openapi"): OpenApiResponse(OpenApiTypes.OBJECT, description=_SCHEMA),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description=_SCHEMA),
            (200, "application/vnd.oai.openapi+json"): OpenApiResponse(OpenApiTypes.OBJECT, description=_SCHEMA),
            401: error_schema("not_authenticated: search_service only, without its service token."),
            404: error_schema("not_found: `format` names no type this view renders (as DRF answers)."),
            406: error_schema("not_acceptable: `format` asks for a type the Accept header refuses."),
        },
        tags=["schema"],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class DocsView(SpectacularSwaggerView):
    """Swagger UI; its errors (e.g. 401 without search_service's token) in the one JSON format, not HTML."""

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def docs_urls() -> list:
    return [
        path("api/schema/", SchemaView.as_view(), name="schema"),
        path("api/docs/", DocsView.as_view(url_name="schema"), name="docs"),
    ]
