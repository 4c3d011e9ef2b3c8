"""OpenAPI pieces both services share: the one error shape as a schema component.

Use in ``extend_schema(responses=...)``::

    from servicekit.openapi import error_schema
    responses={200: MySerializer, 400: error_schema("invalid_request: ...")}

Every error response then points at the ``Error`` component, which describes
``{"error": {"code", "message", "details"}}`` exactly as :mod:`servicekit.errors` writes it.
No views here (modules named in DRF settings import this one); the schema and docs views are in
:mod:`servicekit.docs`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid_request, not_found, throttled.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.DictField(
        help_text="Extra data (may be empty); for invalid_request `fields` maps each bad field to its errors."
    )

    class Meta:
        ref_name = "ErrorBody"


class ErrorSerializer(serializers.Serializer):
    """``{"error": {"code", "message", "details"}}``: the body of every 4xx/5xx answer."""

    error = ErrorBodySerializer()

    class Meta:
        ref_name = "Error"


def error_schema(description: str) -> OpenApiResponse:
    """The OpenAPI entry of an error response in the one format, with a description of when it happens."""
    return OpenApiResponse(ErrorSerializer, description=description)
