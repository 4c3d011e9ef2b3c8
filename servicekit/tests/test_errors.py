from rest_framework import exceptions

from servicekit.errors import ApiError, exception_handler


def body(response):
    return response.data["error"]


def test_validation_error_has_fields_in_details():
    response = exception_handler(exceptions.ValidationError({"limit": ["too big"]}), {})
    assert response.status_code == 400
    assert body(response) == {"code": "invalid_request", "message": "The request is invalid; see details.",
                              "details": {"fields": {"limit": ["too big"]}}}


def test_throttled_sets_retry_after():
    response = exception_handler(exceptions.Throttled(wait=2.2), {})
    assert response.status_code == 429
    assert response["Retry-After"] == "3"
    assert body(response)["code"] == "throttled"


def test_api_error_keeps_code_status_and_details():
    response = exception_handler(ApiError("nope", code="model_mismatch", status_code=409, details={"a": 1}), {})
    assert response.status_code == 409
    assert body(response) == {"code": "model_mismatch", "message": "nope", "details": {"a": 1}}


def test_unexpected_exception_is_a_json_500():
    response = exception_handler(RuntimeError("boom"), {"view": object()})
    assert response.status_code == 500
    assert body(response)["code"] == "internal_error"
    assert "boom" not in str(response.data)
