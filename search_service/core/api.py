"""OpenAPI error responses several search_service views document (servicekit's one error format)."""

from __future__ import annotations

from servicekit.openapi import error_schema

UNAUTHORIZED = error_schema("not_authenticated / authentication_failed: the service token is missing or wrong.")
MISMATCH = error_schema("model_mismatch: the index holds another model's embeddings; run index_images --reindex.")
MODEL_DOWN = error_schema("model_unavailable: the configured model could not be loaded.")
NOT_FOUND = error_schema("not_found: no sticker of that filename.")
INVALID = error_schema("invalid_request: a parameter is missing or out of range (see details.fields).")
