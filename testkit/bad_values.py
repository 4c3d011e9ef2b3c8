"""Bad values both services' validation tests send, and the assertion on their answer (issue 23)."""

from __future__ import annotations

# Integer query parameters the schema's `integer` does not admit but Python's int() (DRF's IntegerField) did.
ODD_INTEGERS = ["７", "7.0", " 1 ", "1\n", "+1", "1e0", "0x1", "1_0"]


def assert_refused(response, field: str) -> None:
    """A 400 invalid_request in the one error format, naming ``field`` in details.fields."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and field in str(error["details"]["fields"]), error
