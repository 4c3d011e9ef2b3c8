"""gunicorn's own error answers in the one JSON error format instead of its HTML page.

gunicorn answers some requests before Django sees them: a request line over ``limit_request_line`` (414),
too many or too large headers (431), malformed HTTP (400). It writes those through
``gunicorn.util.write_error``; :func:`install` (called by both services' ``gunicorn.conf.py``) replaces it.
"""

from __future__ import annotations

import json

CODES = {
    400: "bad_request",
    403: "permission_denied",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    from gunicorn.util import write_nonblock

    from servicekit.errors import error_body  # imported here: a worker has Django loaded, the master need not

    message = f"{reason}: {mesg}" if mesg else reason
    body = json.dumps(error_body(CODES.get(status_int, "bad_request"), message)).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1", "replace")
    write_nonblock(sock, head + body)


def install() -> None:
    import gunicorn.util

    gunicorn.util.write_error = write_json_error
