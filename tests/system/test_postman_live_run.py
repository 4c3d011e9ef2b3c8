"""The Postman collection (assets/postman/) run like Newman, in order, against sticker_service backed by the real
search_service: each request gets the status its Postman test script expects and a JSON answer valid against
the schema. Its static checks are in tests/repository/test_postman_collection.py."""

from __future__ import annotations

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
    values = postman.variables(postman.load_collection())
    assert {values["filename"], values["negativeFilename"]} <= set(use_live_search_service.filenames)
    admin = User.objects.create_user("postman-admin", is_staff=True)
    Token.objects.create(user=admin, key=values["adminToken"])

    def send(method: str, path: str, body: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        response = client.generic(method, path, data=body, content_type="application/json", headers=headers)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, response["Content-Type"], content

    postman.run_collection(send, openapi, values)
