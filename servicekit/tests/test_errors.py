from rest_framework import exceptions

from servicekit.errors import ApiError, DomainError, exception_handler


def body(response):
    return response.data["error"]


def test_validation_error_has_fields_in_details():
    response = exception_handler(exceptions.ValidationError({"limit": ["too big"]}), {})
    assert response.status_code == 400
    assert body(response) == {
        "code": "invalid_request",
        "message": "The request is invalid; see details.",
        "details": {"fields": {"limit": ["too big"]}},
    }


def test_throttled_sets_retry_after():
    response = exception_handler(exceptions.Throttled(wait=2.2), {})
    assert response.status_code == 429
    assert response["Retry-After"] == "3"
    assert body(response)["code"] == "throttled"


def test_api_error_keeps_code_status_and_details():
    response = exception_handler(ApiError("nope", code="model_mismatch", status_code=409, details={"a": 1}), {})
    assert response.status_code == 409
    assert body(response) == {"code": "model_mismatch", "message": "nope", "details": {"a": 1}}


class UnknownThing(DomainError):
    code = "not_found"
    status_code = 404


def test_domain_error_answers_with_its_code_status_message_and_details():
    response = exception_handler(UnknownThing("No thing named 'x'.", details={"name": "x"}), {"view": object()})
    assert response.status_code == 404
    assert body(response) == {"code": "not_found", "message": "No thing named 'x'.", "details": {"name": "x"}}


def test_unexpected_exception_is_a_json_500():
    response = exception_handler(RuntimeError("boom"), {"view": object()})
    assert response.status_code == 500
    assert body(response)["code"] == "internal_error"
    assert "boom" not in str(response.data)


def test_database_outage_is_a_json_503_not_a_500():
    from django.db import InterfaceError, OperationalError

    for exc in (
        OperationalError("could not connect to server: Connection refused"),
        InterfaceError("connection already closed"),
    ):
        response = exception_handler(exc, {"view": object()})
        assert response.status_code == 503
        assert body(response)["code"] == "database_unavailable"


def test_handler500_turns_a_database_outage_outside_drf_into_a_503():
    import json

    from django.db import OperationalError
    from django.test import RequestFactory

    from servicekit.errors import handler500

    request = RequestFactory().get("/admin/")
    try:
        raise OperationalError("terminating connection due to administrator command")
    except OperationalError:
        response = handler500(request)  # Django calls it inside its except block
    assert response.status_code == 503
    assert json.loads(response.content)["error"]["code"] == "database_unavailable"
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = handler500(request)
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "internal_error"
