"""drf-spectacular extensions both services use, so that the OpenAPI schema says exactly what the code accepts
(schemathesis checks one against the other; see tests/system/test_schemathesis.py).

- :class:`AutoSchema`: a list of nested serializers that refuses an empty list (``allow_empty=False``) or takes
  ``min_length``/``max_length`` items is documented with ``minItems``/``maxItems`` (drf-spectacular leaves
  them out).
- a serializer field with ``unique_items = True`` (a list that refuses duplicates) gets ``uniqueItems: true``.
- :func:`optional_query_parameters_allow_empty`: DRF reads an empty optional query parameter (``?page=``,
  ``?query=``) as an absent one (``Field.get_value`` on a QueryDict; the paginators do the same); the schema
  says so with ``allowEmptyValue: true``.
- :func:`document_uri_too_long`: every operation may answer 414 (gunicorn refuses a request line over
  ``limit_request_line``, 4094 bytes, before Django; servicekit.gunicorn_errors makes that answer JSON).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import is_list_serializer


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if getattr(field, "unique_items", False) and schema.get("type") == "array":
            schema["uniqueItems"] = True
        return schema

    def _unwrap_list_serializer(self, serializer, direction):
        schema = super()._unwrap_list_serializer(serializer, direction)
        if schema and is_list_serializer(serializer) and schema.get("type") == "array":
            minimum = getattr(serializer, "min_length", None)
            if minimum is None and not getattr(serializer, "allow_empty", True):
                minimum = 1
            if minimum is not None:
                schema["minItems"] = minimum
            if (maximum := getattr(serializer, "max_length", None)) is not None:
                schema["maxItems"] = maximum
        return schema


def optional_query_parameters_allow_empty(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: ``allowEmptyValue: true`` on every optional query parameter."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result


def document_uri_too_long(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: a 414 ``uri_too_long`` error response on every operation."""
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result
    response = {
        "description": "uri_too_long: the request line (method, path and query string) is over 4094 bytes.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("414", response)
    return result
