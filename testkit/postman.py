"""Reading the Postman collection (assets/postman/) and checking it against sticker_service's OpenAPI schema:
shared by the collection's static checks (tests/repository/test_postman_collection.py) and its live
runs against the real services (tests/system/test_postman_live_run.py) and the compose stack
(tests/containers/test_compose_stack.py)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

import jsonschema

from testkit import REPO

COLLECTION_PATH = REPO / "assets" / "postman" / "sticker_search.postman_collection.json"
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


def expected_status(item: dict) -> int:
    script = "\n".join(
        line for event in item.get("event", []) if event["listen"] == "test" for line in event["script"]["exec"]
    )
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


def sticker_openapi() -> dict:
    """sticker_service's OpenAPI schema as it serves it (``/api/schema/``, through Django's test client)."""
    from django.test import Client

    response = Client().get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.json()


# send(method, path with query, JSON body or "", headers) -> (status, Content-Type, body bytes)
Send = Callable[[str, str, str, dict[str, str]], tuple[int, str, bytes]]


def run_collection(send: Send, openapi: dict, values: dict[str, str]) -> int:
    """Like Newman: every request of the collection in order, through ``send``; each must get the status its test
    script expects, documented in the schema, with a JSON answer valid against it. Returns the requests run."""
    collection = load_collection()
    items = requests_of(collection)
    for _folder, item in items:
        name = item["request"]["method"] + " " + item["name"]
        method, path, operation = operation_for(item, openapi)
        request = item["request"]
        query = urlencode([(q["key"], substitute(q["value"], values)) for q in request["url"].get("query", [])])
        headers = {h["key"]: substitute(h["value"], values) for h in request["header"] if h["key"] != "Content-Type"}
        body = substitute(request["body"]["raw"], values) if "body" in request else ""
        status, content_type, content = send(method.upper(), f"{path}?{query}" if query else path, body, headers)
        expected = expected_status(item)
        assert status == expected, f"{name}: {status} {content[:300]!r}"
        documented = operation["responses"].get(str(expected))
        assert documented, f"{name}: status {expected} is not documented"
        media_type = content_type.split(";")[0].strip()
        assert media_type in documented.get("content", {}), f"{name}: {media_type} not documented for {expected}"
        if media_type == "application/json":
            schema = copy.deepcopy(documented["content"][media_type]["schema"])
            errors = [e.message for e in validator(schema, openapi).iter_errors(json.loads(content))]
            assert not errors, f"{name}: the answer does not match the schema: {errors}"
    return len(items)
