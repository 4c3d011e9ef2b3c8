import json

from django.http import HttpResponse
from django.test import RequestFactory

from servicekit.middleware import RequestSanityMiddleware

middleware = RequestSanityMiddleware(lambda request: HttpResponse("ok"))


def error_code(response) -> str:
    return json.loads(response.content)["error"]["code"]


def test_query_string_that_is_not_utf8_is_a_400():
    for query in ("query=%FF%FE", "a=1&query=caf%E9"):
        response = middleware(RequestFactory().get(f"/api/search/?{query}"))
        assert response.status_code == 400 and error_code(response) == "malformed_request"


def test_valid_query_strings_pass():
    for query in ("query=caf%C3%A9", "query=%F0%9F%90%B1+cat", "query=a%26b%23c%25", ""):
        assert middleware(RequestFactory().get(f"/api/search/?{query}")).status_code == 200


def test_body_without_content_length_is_a_411():
    request = RequestFactory().post("/api/feedback/", data=b"{}", content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    response = middleware(request)
    assert response.status_code == 411 and error_code(response) == "length_required"
    with_length = RequestFactory().post("/api/feedback/", data=b"{}", content_type="application/json")
    assert middleware(with_length).status_code == 200
