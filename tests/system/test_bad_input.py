"""Hand-written bad input against both live services (gunicorn): control characters and NUL, invalid UTF-8,
bodies over the size limit, deeply nested JSON, wrong content types, huge numbers, malformed HTTP. Each gets
its 4xx as a JSON error (never a 5xx, never HTML) and changes nothing."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from tests.system.figures import add

pytestmark = pytest.mark.system

JSON = {"Content-Type": "application/json"}
MB = 1024 * 1024


@dataclass
class Case:
    label: str
    method: str
    path: str
    statuses: tuple[int, ...]
    code: str | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    admin: bool = False


def feedback(raw: bytes, label: str, statuses=(400,), code: str | None = None) -> Case:
    return Case(label, "POST", "/api/feedback/", statuses, code, raw, JSON)


STICKER_CASES = [
    # Control characters and NUL, in query strings and JSON bodies.
    Case("NUL in a query", "GET", "/api/search/?query=a%00b", (400,), "invalid_request"),
    Case("C0 control in a query", "GET", "/api/search/?query=%01cat", (400,), "invalid_request"),
    Case("DEL in a query", "GET", "/api/search/?query=cat%7F", (400,), "invalid_request"),
    Case("C1 control in a query", "GET", "/api/search/?query=ca%C2%9Bt", (400,), "invalid_request"),
    Case("only whitespace/controls", "GET", "/api/search/?query=%09%0A%0D", (400,), "invalid_request"),
    Case("NUL in a filename", "GET", "/api/similar/?filename=cat%00.png", (400,), "invalid_request"),
    Case("NUL in the analytics query", "GET", "/api/analytics/?query=%00", (400,), "invalid_request", admin=True),
    Case("NUL in n", "GET", "/api/counter/?n=12%00", (400,), "invalid_request"),
    feedback(
        b'{"feedback": [{"query": "a\\u0000b", "positive": ["cat.png"]}]}',
        "NUL in a feedback query",
        code="invalid_request",
    ),
    feedback(
        b'{"feedback": [{"query": "cat", "positive": ["cat\\u0000.png"]}]}',
        "NUL in a feedback filename",
        code="invalid_request",
    ),
    feedback(
        b'{"feedback": [{"query": "\\ud800", "positive": ["cat.png"]}]}', "lone surrogate", code="invalid_request"
    ),
    # Invalid UTF-8.
    Case("invalid UTF-8 in a query", "GET", "/api/search/?query=%FF%FE", (400,), "malformed_request"),
    Case("truncated UTF-8 in a filename", "GET", "/api/similar/?filename=%C3%28", (400,), "malformed_request"),
    feedback(
        b'{"feedback": [{"query": "\xff\xfe", "positive": ["cat.png"]}]}',
        "invalid UTF-8 in a body",
        code="malformed_request",
    ),
    # Size limits (DATA_UPLOAD_MAX_MEMORY_SIZE = 1 MiB; gunicorn: 4094-byte request line).
    feedback(b'{"feedback": "' + b"x" * (2 * MB) + b'"}', "2 MiB body", (413,), "payload_too_large"),
    Case("5000-byte URL", "GET", "/api/search/?query=" + "a" * 5000, (414,), "uri_too_long"),
    # Deep nesting.
    feedback(b"[" * 100_000 + b"]" * 100_000, "100000 nested arrays", code="malformed_request"),
    feedback(
        b'{"feedback": [{"query": "cat", "positive": ' + b"[" * 50_000 + b"]" * 50_000 + b"}]}",
        "nesting inside a valid shape",
        code="malformed_request",
    ),
    Case(
        "charset=rot13 (not a text encoding)",
        "POST",
        "/api/feedback/",
        (400,),
        "malformed_request",
        b'{"feedback": []}',
        {"Content-Type": "application/json; charset=rot13"},
    ),
    feedback(b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "20000 nested objects", code="malformed_request"),
    # Wrong content types and methods.
    Case(
        "text/plain body",
        "POST",
        "/api/feedback/",
        (415,),
        "unsupported_media_type",
        b'{"feedback": []}',
        {"Content-Type": "text/plain"},
    ),
    Case(
        "form body",
        "POST",
        "/api/feedback/",
        (415,),
        "unsupported_media_type",
        b"feedback=1",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "multipart body",
        "POST",
        "/api/feedback/",
        (415,),
        "unsupported_media_type",
        b'--b\r\nContent-Disposition: form-data; name="feedback"\r\n\r\nx\r\n--b--\r\n',
        {"Content-Type": "multipart/form-data; boundary=b"},
    ),
    Case(
        "XML body",
        "POST",
        "/api/feedback/",
        (415,),
        "unsupported_media_type",
        b"<feedback/>",
        {"Content-Type": "application/xml"},
    ),
    Case("no content type", "POST", "/api/feedback/", (415,), "unsupported_media_type", b"{}", {}),
    Case("GET on feedback", "GET", "/api/feedback/", (405,), "method_not_allowed"),
    Case("DELETE on search", "DELETE", "/api/search/?query=cat", (405,), "method_not_allowed"),
    # Huge and odd numbers.
    Case("limit 1e309", "GET", "/api/search/?query=cat&limit=1e309", (400,), "invalid_request"),
    Case("limit of 400 digits", "GET", "/api/search/?query=cat&limit=" + "9" * 400, (400,), "invalid_request"),
    Case("negative offset", "GET", "/api/search/?query=cat&offset=-1", (400,), "invalid_request"),
    Case("offset 10**30", "GET", "/api/search/?query=cat&offset=1" + "0" * 30, (400,), "result_window_exceeded"),
    Case("n of 1001 digits", "GET", "/api/counter/?n=" + "9" * 1001, (400,), "invalid_request"),
    Case("digit 10**100", "GET", "/api/counter/?digit=1" + "0" * 100 + "&n=5", (400,), "invalid_request"),
    Case("n in exponent form", "GET", "/api/counter/?n=1e3", (400,), "invalid_request"),
    Case("analytics page 10**30", "GET", "/api/analytics/?page=1" + "0" * 30, (400, 404), admin=True),
    feedback(b'{"feedback": [{"query": "cat", "positive": [1e999]}]}', "1e999 in a body", code="invalid_request"),
    feedback(b'{"feedback": NaN}', "NaN", code="malformed_request"),
    feedback(b'{"feedback": -Infinity}', "-Infinity", code="malformed_request"),
    feedback(b'{"feedback": [{"query": ' + b"9" * 5000 + b"}]}", "5000-digit integer", code="malformed_request"),
    feedback(
        b'{"feedback": [{"query": 12345, "positive": ["cat.png"]}]}', "number for a string", code="invalid_request"
    ),
]

SEARCH_CASES = [
    Case("NUL in a query", "GET", "/api/search/?query=%00", (400,), "invalid_request"),
    Case("invalid UTF-8 in a query", "GET", "/api/search/?query=%FF", (400,), "malformed_request"),
    Case("NUL in a filename", "GET", "/api/similar/?filename=cat%00.png", (400,), "invalid_request"),
    Case("limit 1e309", "GET", "/api/search/?query=cat&limit=1e309", (400,), "invalid_request"),
    Case("offset 10**30", "GET", "/api/search/?query=cat&offset=1" + "0" * 30, (400,), "result_window_exceeded"),
    Case("page 10**100", "GET", "/api/images/?page=1" + "0" * 100, (400,), "invalid_request"),
    Case("page_size 0", "GET", "/api/images/?page_size=0", (400,), "invalid_request"),
    Case("5000-byte URL", "GET", "/api/search/?query=" + "a" * 5000, (414,), "uri_too_long"),
    Case(
        "search body nested 1000 deep",
        "POST",
        "/api/search/",
        (400,),
        "malformed_request",
        b'{"query": ' * 1000 + b'"cat"' + b"}" * 1000,
        JSON,
    ),
    Case(
        "charset=base64 (not a text encoding)",
        "POST",
        "/api/search/",
        (400,),
        "malformed_request",
        b'{"query": "cat"}',
        {"Content-Type": "application/json; charset=base64"},
    ),
    Case("JSON to the upload", "POST", "/api/images/", (415,), "unsupported_media_type", b"{}", JSON),
]


def send(base: str, case: Case, headers: dict[str, str]) -> requests.Response:
    return requests.request(
        case.method, f"{base}{case.path}", data=case.body, timeout=30, headers={**headers, **case.headers}
    )


def raw_http(base: str, data: bytes) -> bytes:
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def assert_json_error(response: requests.Response, case: Case) -> None:
    assert response.status_code in case.statuses, (case.label, response.status_code, response.text[:300])
    assert response.headers.get("Content-Type", "").startswith("application/json"), (case.label, response.text[:300])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}, (case.label, error)
    if case.code:
        assert error["code"] == case.code, (case.label, error)


def sticker_state(sticker) -> tuple:
    return sticker.sql(
        "SELECT (SELECT count(*) FROM searches_query), (SELECT coalesce(sum(usage_count), 0) FROM "
        "searches_query), (SELECT count(*) FROM feedback_feedbackevent), (SELECT count(*) FROM "
        "catalog_sticker)"
    )[0]


def test_bad_input_to_sticker_service_is_a_json_4xx_and_changes_nothing(up):
    sticker = up.sticker
    assert requests.get(f"{sticker.url}/api/search/", params={"query": "cat"}, timeout=10).status_code == 200
    before = sticker_state(sticker)
    for case in STICKER_CASES:
        assert_json_error(send(sticker.url, case, sticker.admin_headers() if case.admin else {}), case)
    # A chunked body (no Content-Length): Django would read it as empty; refused instead.
    chunked = requests.post(
        f"{sticker.url}/api/feedback/", data=iter([b'{"feedback": ', b"[]}"]), headers=JSON, timeout=10
    )
    assert_json_error(chunked, Case("chunked body", "POST", "", (411,), "length_required"))
    # Malformed HTTP and oversized headers are answered by gunicorn itself, in JSON too.
    for label, request, status in [
        ("raw 0xFF in the request line", b"GET /api/search/?query=\xff HTTP/1.1\r\nHost: x\r\n", b"400"),
        ("not HTTP", b"GARBAGE\r\n", b"400"),
        ("200 headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200, b"431"),
    ]:
        answer = raw_http(sticker.url, request + b"Connection: close\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == status and b"Content-Type: application/json" in head, (label, answer[:300])
        assert body.startswith(b'{"error": {"code": '), (label, body[:200])
    assert sticker_state(sticker) == before
    add("hand-written bad-input cases", len(STICKER_CASES) + 4)


def search_state(search) -> int:
    return requests.get(f"{search.url}/api/images/", headers=search.headers(), timeout=10).json()["count"]


def test_bad_input_to_search_service_is_a_json_4xx_and_changes_nothing(up):
    search = up.search
    before = search_state(search)
    for case in SEARCH_CASES:
        assert_json_error(send(search.url, case, search.headers()), case)
    assert search_state(search) == before
    add("hand-written bad-input cases", len(SEARCH_CASES))
