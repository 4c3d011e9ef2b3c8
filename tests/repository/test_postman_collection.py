"""assets/postman/sticker_search.postman_collection.json cannot drift from the API.

Every request is checked against the OpenAPI schema the service serves (method and path exist, each query
parameter exists and its example value is valid, the admin token is sent exactly where the schema asks for
it, example bodies validate against the request schema), and every endpoint in the schema has a request.
The whole collection's run against the real services is tests/system/test_postman_live_run.py.
"""

from __future__ import annotations

import json

import pytest

from testkit.postman import (
    ERROR_FOLDER,
    POSTMAN_V21,
    VARIABLE,
    load_collection,
    operation_for,
    requests_of,
    sticker_openapi,
    substitute,
    validator,
    variables,
)

pytestmark = pytest.mark.repository


def coerce(value: str, schema: dict):
    """A query-string value as the type its schema declares."""
    kind = schema.get("type")
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return {"true": True, "false": False}[value]
    return value


@pytest.fixture(scope="module")
def openapi():
    return sticker_openapi()


def test_collection_is_postman_v21_with_the_variables():
    collection = load_collection()
    assert collection["info"]["schema"] == POSTMAN_V21
    values = variables(collection)
    assert values["baseUrl"] == "http://127.0.0.1:8000"
    assert values["adminToken"] and len(values["adminToken"]) <= 40  # DRF token keys are at most 40 characters
    used = set(VARIABLE.findall(json.dumps(collection["item"])))
    assert used <= set(values), f"undefined variables: {used - set(values)}"


def test_every_request_matches_the_openapi_schema(openapi):
    collection = load_collection()
    values = variables(collection)
    for folder, item in requests_of(collection):
        name = item["name"]
        request = item["request"]
        _method, _path, operation = operation_for(item, openapi)
        parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
        sent = {q["key"]: substitute(q["value"], values) for q in request["url"].get("query", [])}
        assert set(sent) <= set(parameters), f"{name}: unknown query parameters {set(sent) - set(parameters)}"
        if folder != ERROR_FOLDER:
            missing = {key for key, p in parameters.items() if p.get("required")} - set(sent)
            assert not missing, f"{name}: required parameters missing: {missing}"
            for key, value in sent.items():
                schema = parameters[key]["schema"]
                errors = [e.message for e in validator(schema, openapi).iter_errors(coerce(value, schema))]
                assert not errors, f"{name}: {key}={value!r}: {errors}"
        headers = {h["key"].lower(): h["value"] for h in request["header"]}
        needs_token = any("tokenAuth" in requirement for requirement in operation.get("security", []))
        if needs_token and folder != ERROR_FOLDER:
            assert headers.get("authorization") == "Token {{adminToken}}", f"{name}: admin token header"
        elif not needs_token:
            assert "authorization" not in headers, f"{name}: sends a token the endpoint does not use"
        body_spec = operation.get("requestBody")
        if body_spec is None:
            assert "body" not in request, f"{name}: a body for an endpoint that takes none"
            continue
        assert request["body"]["mode"] == "raw", name
        assert headers.get("content-type") == "application/json", f"{name}: Content-Type"
        body = json.loads(substitute(request["body"]["raw"], values))
        schema = body_spec["content"]["application/json"]["schema"]
        errors = [e.message for e in validator(schema, openapi).iter_errors(body)]
        assert not errors, f"{name}: example body does not match the request schema: {errors}"


def test_every_endpoint_and_variant_is_in_the_collection(openapi):
    collection = load_collection()
    covered = {
        (operation_for(item, openapi)[0], operation_for(item, openapi)[1]) for _folder, item in requests_of(collection)
    }
    in_schema = {
        (method, path)
        for path, operations in openapi["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert in_schema - covered == set(), "endpoints without a request in the Postman collection"
    # The variants the ML team and app developers use.
    analytics = [
        {q["key"]: q["value"] for q in item["request"]["url"].get("query", [])}
        for _folder, item in requests_of(collection)
        if item["request"]["url"]["path"] == ["api", "analytics", ""]
    ]
    assert any("query" in q for q in analytics)
    assert any("query" not in q and q.get("format") != "csv" for q in analytics)
    assert any(q.get("format") == "csv" for q in analytics)
