"""assets/postman/sticker_search.postman_collection.json cannot drift from the API.

Every request is checked against the OpenAPI schema the service serves (method and path exist, each query
parameter exists and its example value is valid, the admin token is sent exactly where the schema asks for
it, example bodies validate against the request schema), every endpoint in the schema has a request, and
the whole collection is then run in order against sticker_service backed by the real search_service:
each request gets the status its Postman test script expects and a JSON answer valid against the schema.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import jsonschema
import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

COLLECTION_PATH = Path(__file__).resolve().parents[3] / "assets" / "postman" / "sticker_search.postman_collection.json"
POSTMAN_V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
ERROR_FOLDER = "Errors (examples)"  # deliberately invalid values live only here
VARIABLE = re.compile(r"\{\{(\w+)\}\}")


def load_collection() -> dict:
    return json.loads(COLLECTION_PATH.read_text(encoding="utf-8"))


def requests_of(collection: dict) -> list[tuple[str, dict]]:
    """(folder name, item) for every request, in collection order."""
    found = []

    def walk(items, folder):
        for item in items:
            if "item" in item:
                walk(item["item"], item["name"])
            else:
                found.append((folder, item))

    walk(collection["item"], "")
    return found


def variables(collection: dict) -> dict[str, str]:
    return {var["key"]: var["value"] for var in collection["variable"]}


def substitute(text: str, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda match: values[match.group(1)], text)  # KeyError = an undefined variable


def openapi_to_jsonschema(node):
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema (jsonschema ignores the keyword otherwise)."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi_to_jsonschema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def validator(schema: dict, openapi: dict) -> jsonschema.Draft7Validator:
    """Validates against ``schema``, whose ``#/components/...`` references resolve in the OpenAPI document."""
    root = openapi_to_jsonschema({**schema, "components": openapi["components"]})
    return jsonschema.Draft7Validator(root)


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


def expected_status(item: dict) -> int:
    script = "\n".join(line for event in item.get("event", []) if event["listen"] == "test"
                       for line in event["script"]["exec"])
    statuses = re.findall(r"to\.have\.status\((\d{3})\)", script)
    assert len(statuses) == 1, f"{item['name']}: its test script must check exactly one status"
    return int(statuses[0])


def operation_for(item: dict, openapi: dict) -> tuple[str, str, dict]:
    request = item["request"]
    url = request["url"]
    assert url["host"] == ["{{baseUrl}}"], item["name"]
    path = "/" + "/".join(url["path"])
    query = url.get("query", [])
    raw = "{{baseUrl}}" + path + ("?" + "&".join(f"{q['key']}={q['value']}" for q in query) if query else "")
    assert url["raw"] == raw, f"{item['name']}: url.raw and host/path/query disagree"
    method = request["method"].lower()
    assert path in openapi["paths"], f"{item['name']}: {path} is not in the OpenAPI schema"
    assert method in openapi["paths"][path], f"{item['name']}: {method.upper()} {path} is not in the schema"
    return method, path, openapi["paths"][path][method]


@pytest.fixture(scope="module")
def openapi(django_client_module):
    response = django_client_module.get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def django_client_module():
    from django.test import Client

    return Client()


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
    covered = {(operation_for(item, openapi)[0], operation_for(item, openapi)[1])
               for _folder, item in requests_of(collection)}
    in_schema = {(method, path) for path, operations in openapi["paths"].items() for method in operations
                 if method in {"get", "post", "put", "patch", "delete"}}
    assert in_schema - covered == set(), "endpoints without a request in the Postman collection"
    # The variants the ML team and app developers use.
    analytics = [{q["key"]: q["value"] for q in item["request"]["url"].get("query", [])}
                 for _folder, item in requests_of(collection)
                 if item["request"]["url"]["path"] == ["api", "analytics", ""]]
    assert any("query" in q for q in analytics)
    assert any("query" not in q and q.get("format") != "csv" for q in analytics)
    assert any(q.get("format") == "csv" for q in analytics)


@pytest.mark.django_db
def test_the_collection_runs_against_the_real_services(client, use_live_search_service, openapi):
    """Like Newman: every request in order, each with the status its test script expects."""
    collection = load_collection()
    values = variables(collection)
    assert {values["filename"], values["negativeFilename"]} <= set(use_live_search_service.filenames)
    admin = User.objects.create_user("postman-admin", is_staff=True)
    Token.objects.create(user=admin, key=values["adminToken"])
    for _folder, item in requests_of(collection):
        name = item["request"]["method"] + " " + item["name"]
        method, path, operation = operation_for(item, openapi)
        request = item["request"]
        query = urlencode([(q["key"], substitute(q["value"], values)) for q in request["url"].get("query", [])])
        headers = {h["key"]: substitute(h["value"], values) for h in request["header"] if h["key"] != "Content-Type"}
        body = substitute(request["body"]["raw"], values) if "body" in request else ""
        response = client.generic(method.upper(), f"{path}?{query}" if query else path, data=body,
                                  content_type="application/json", headers=headers)
        status = expected_status(item)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == status, f"{name}: {response.status_code} {content[:300]!r}"
        documented = operation["responses"].get(str(status))
        assert documented, f"{name}: status {status} is not documented"
        media_type = response["Content-Type"].split(";")[0].strip()
        assert media_type in documented.get("content", {}), f"{name}: {media_type} not documented for {status}"
        if media_type == "application/json":
            schema = copy.deepcopy(documented["content"][media_type]["schema"])
            errors = [e.message for e in validator(schema, openapi).iter_errors(json.loads(content))]
            assert not errors, f"{name}: the answer does not match the schema: {errors}"
