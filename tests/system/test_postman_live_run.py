"""The Postman collection (assets/postman/) run like Newman, in order, against sticker_service backed by the real
search_service: each request gets the status its Postman test script expects and a JSON answer valid against
the schema. Its static checks are in tests/repository/test_postman_collection.py."""

from __future__ import annotations

import copy
import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from testkit import postman

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def openapi():
    return postman.sticker_openapi()


@pytest.mark.django_db
def test_the_collection_runs_against_the_real_services(client, use_live_search_service, openapi):
    """Like Newman: every request in order, each with the status its test script expects."""
    collection = postman.load_collection()
    values = postman.variables(collection)
    assert {values["filename"], values["negativeFilename"]} <= set(use_live_search_service.filenames)
    admin = User.objects.create_user("postman-admin", is_staff=True)
    Token.objects.create(user=admin, key=values["adminToken"])
    for _folder, item in postman.requests_of(collection):
        name = item["request"]["method"] + " " + item["name"]
        method, path, operation = postman.operation_for(item, openapi)
        request = item["request"]
        query = urlencode([(q["key"], postman.substitute(q["value"], values)) for q in request["url"].get("query", [])])
        headers = {
            h["key"]: postman.substitute(h["value"], values) for h in request["header"] if h["key"] != "Content-Type"
        }
        body = postman.substitute(request["body"]["raw"], values) if "body" in request else ""
        response = client.generic(
            method.upper(),
            f"{path}?{query}" if query else path,
            data=body,
            content_type="application/json",
            headers=headers,
        )
        status = postman.expected_status(item)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == status, f"{name}: {response.status_code} {content[:300]!r}"
        documented = operation["responses"].get(str(status))
        assert documented, f"{name}: status {status} is not documented"
        media_type = response["Content-Type"].split(";")[0].strip()
        assert media_type in documented.get("content", {}), f"{name}: {media_type} not documented for {status}"
        if media_type == "application/json":
            schema = copy.deepcopy(documented["content"][media_type]["schema"])
            errors = [e.message for e in postman.validator(schema, openapi).iter_errors(json.loads(content))]
            assert not errors, f"{name}: the answer does not match the schema: {errors}"
