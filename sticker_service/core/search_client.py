"""HTTP client of search_service: the only way sticker_service reaches it.

One pooled ``urllib3.PoolManager`` per process: urllib3 directly, not requests, whose per-call work (preparing and
merging the request, hooks, cookies) was about a third of this call's CPU in the load profiles (the call's share of
sticker_service's samples 28.9% -> 18.4%: benchmarks/RESULTS.md "... (seeded data, urllib3)"). Every call has
connect and read timeouts and a deadline for the whole call (``SEARCH_SERVICE_TOTAL_TIMEOUT``, under 3 s), sends the
service token, and percent-encodes its parameters (``urlencode``) so that ``&``, ``#``, ``%`` and emoji arrive
intact.

Several search_service instances: ``SEARCH_SERVICE_URL`` may list more than one base URL (comma-separated).
Calls are spread over them in turn; an instance that refuses the connection, times out connecting or answers
5xx/429 is set aside for ``SEARCH_SERVICE_DOWN_SECONDS`` and the call goes on to the next one, within the same
deadline (an instance that is merely slow to answer uses up that call's deadline: the call is not sent twice
past it).

Failures surface as two exceptions:
- :class:`SearchServiceUnavailable`: refused/timed out/5xx/unreadable answer (the caller answers 503);
- :class:`SearchServiceError`: a 4xx with search_service's JSON error (code, message, details).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import urllib3
from django.conf import settings
from prometheus_client import Counter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.util import Timeout

from servicekit.request_id import HEADER as REQUEST_ID_HEADER
from servicekit.request_id import current_request_id

# Largest answer accepted (a page of results or of the catalogue is a few kB).
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

CALL_FAILURES = Counter(
    "sticker_search_service_failures_total",
    "Calls to search_service that failed: unavailable (refused, timed out, 5xx, unreadable) or refused (4xx).",
    ["path", "kind"],
)


class SearchServiceUnavailable(Exception):
    """search_service could not answer in time or answered with a server error."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class SearchServiceError(Exception):
    """search_service refused the request (4xx) with its JSON error."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"search_service {self.status} {self.code}: {self.message}"


@dataclass(frozen=True)
class Answer:
    """search_service's answer: its status and whole body."""

    status: int
    content: bytes


# An internal call: never through HTTP(S)_PROXY (a PoolManager reads no environment), no automatic retries or
# redirects (the deadline is short; _send fails over itself); a pool of connections per instance sized for
# gunicorn's threads.
_pool = urllib3.PoolManager(num_pools=8, maxsize=32, retries=False)


def _headers() -> dict[str, str]:
    token = settings.SEARCH_SERVICE_TOKEN
    headers = {"Accept": "application/json"}
    if request_id := current_request_id():  # search_service logs the same id
        headers[REQUEST_ID_HEADER] = request_id
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _timeout(deadline: float) -> Timeout:
    remaining = max(deadline - time.monotonic(), 0.05)
    return Timeout(
        connect=min(settings.SEARCH_SERVICE_CONNECT_TIMEOUT, remaining),
        read=min(settings.SEARCH_SERVICE_READ_TIMEOUT, remaining),
        total=remaining,
    )


def _read_body(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """The body, read as it arrives with the socket timeout cut to the time left, so a slow or endless
    answer stops at the deadline (a read timeout alone restarts with every byte)."""
    sock = getattr(response.connection, "sock", None)
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SearchServiceUnavailable("timed out reading the answer", status=response.status)
        if sock is not None:
            sock.settimeout(remaining)
        try:
            chunk = response.read1(64 * 1024, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SearchServiceUnavailable(
                f"reading the answer failed ({type(exc).__name__})", status=response.status
            ) from exc
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise SearchServiceUnavailable("answer too large", status=response.status)


def service_urls() -> list[str]:
    """The configured search_service base URLs (``SEARCH_SERVICE_URL``, comma-separated)."""
    return [url.strip().rstrip("/") for url in str(settings.SEARCH_SERVICE_URL).split(",") if url.strip()]


class Instances:
    """Round-robin over the search_service URLs, instances that failed lately last."""

    def __init__(self) -> None:
        self._turn = itertools.count()
        self._down_until: dict[str, float] = {}

    def order(self) -> list[str]:
        urls = service_urls()
        if len(urls) <= 1:
            return urls
        start = next(self._turn) % len(urls)
        rotated = urls[start:] + urls[:start]
        now = time.monotonic()
        return sorted(rotated, key=lambda url: self._down_until.get(url, 0.0) > now)  # stable: up ones first

    def failed(self, url: str) -> None:
        self._down_until[url] = time.monotonic() + settings.SEARCH_SERVICE_DOWN_SECONDS

    def succeeded(self, url: str) -> None:
        self._down_until.pop(url, None)


instances = Instances()


class _Retryable(SearchServiceUnavailable):
    """The instance could not be reached: another one (or, with one instance, a second try) may answer."""


def _send(path: str, params: dict[str, Any], body: dict[str, Any] | None = None) -> Answer:
    """One GET (with ``body``, a POST of that JSON) on the first instance that answers, within one deadline:
    the next instance when one refuses, fails to connect or answers 5xx/429; with a single instance, retried
    once at once if a pooled connection turned out dead (search_service restarted)."""
    deadline = time.monotonic() + settings.SEARCH_SERVICE_TOTAL_TIMEOUT
    order = instances.order()
    candidates = order if len(order) > 1 else order * 2
    for index, base in enumerate(candidates):
        is_last = index == len(candidates) - 1
        try:
            response = _send_to(f"{base}{path}", params, deadline, body)
        except _Retryable as exc:
            instances.failed(base)
            if not is_last and _time_to_connect(deadline):
                continue
            raise SearchServiceUnavailable(exc.reason) from exc.__cause__
        failed = response.status >= 500 or response.status == 429
        if failed and len(order) > 1 and not is_last and _time_to_connect(deadline):
            instances.failed(base)
            continue
        instances.succeeded(base)
        return response
    raise SearchServiceUnavailable("no search_service URL configured")


def _time_to_connect(deadline: float) -> bool:
    """Time left before the deadline for one more connection attempt."""
    return deadline - time.monotonic() > settings.SEARCH_SERVICE_CONNECT_TIMEOUT


def _send_to(url: str, params: dict[str, Any], deadline: float, body: dict[str, Any] | None = None) -> Answer:
    """One GET (or POST of ``body``) on one instance, its body read within the deadline. :class:`_Retryable`
    when it cannot be reached."""
    headers = _headers()
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        response = _pool.urlopen(
            "GET" if body is None else "POST",
            f"{url}?{urlencode(params)}" if params else url,
            body=None if body is None else json.dumps(body).encode(),
            headers=headers,
            timeout=_timeout(deadline),
            preload_content=False,
            redirect=False,
        )
    except NewConnectionError as exc:  # refused or unresolvable (a subclass of ConnectTimeoutError: first)
        raise _Retryable(f"connection failed ({type(exc).__name__})") from exc
    except ConnectTimeoutError as exc:
        raise _Retryable(f"connect timed out ({type(exc).__name__})") from exc
    except ReadTimeoutError as exc:
        raise SearchServiceUnavailable(f"timed out ({type(exc).__name__})") from exc
    except (ProtocolError, OSError) as exc:
        # A stale keep-alive connection (search_service restarted) or a reset: the next instance, or one retry.
        raise _Retryable(f"connection failed ({type(exc).__name__})") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise SearchServiceUnavailable(f"request failed ({type(exc).__name__})") from exc
    try:
        content = _read_body(response, deadline)
    except SearchServiceUnavailable:
        response.close()  # drop the half-read connection instead of returning it to the pool
        raise
    finally:
        response.release_conn()  # a fully read connection goes back to the pool; a closed one is replaced
    return Answer(response.status, content)


def _error_of(response: Answer) -> tuple[str, str, dict[str, Any]]:
    try:
        error = json.loads(response.content)["error"]
        return str(error.get("code", "error")), str(error.get("message", "")), dict(error.get("details") or {})
    except (ValueError, KeyError, TypeError, AttributeError):
        return "error", response.content[:200].decode(errors="replace"), {}


def get_json(path: str, params: dict[str, Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET ``path`` on search_service (POST ``body`` when given) and return its JSON object, or raise one of the
    two errors (each counted in ``sticker_search_service_failures_total``)."""
    try:
        return _get_json(path, params, body)
    except SearchServiceUnavailable:
        CALL_FAILURES.labels(path, "unavailable").inc()
        raise
    except SearchServiceError:
        CALL_FAILURES.labels(path, "refused").inc()
        raise


def _get_json(path: str, params: dict[str, Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = _send(path, params, body)
    if response.status >= 500 or response.status == 429:
        code = _error_of(response)[0] if response.content.startswith(b"{") else ""
        reason = f"HTTP {response.status}" + (f" {code}" if code and code != "error" else "")
        raise SearchServiceUnavailable(reason, status=response.status)
    if response.status >= 400:
        code, message, details = _error_of(response)
        raise SearchServiceError(response.status, code, message, details)
    if response.status != 200:
        raise SearchServiceUnavailable(f"unexpected HTTP {response.status}", status=response.status)
    try:
        data = json.loads(response.content)
    except ValueError as exc:
        raise SearchServiceUnavailable("answer is not JSON", status=200) from exc
    if not isinstance(data, dict):
        raise SearchServiceUnavailable("answer is not a JSON object", status=200)
    return data


@dataclass(frozen=True)
class Hit:
    filename: str
    score: float
    title: str


@dataclass(frozen=True)
class Ranking:
    model: str
    hits: list[Hit]


def _ranking(data: dict[str, Any]) -> Ranking:
    try:
        hits = [
            Hit(filename=str(item["filename"]), score=float(item["score"]), title=str(item.get("title") or ""))
            for item in data["results"]
        ]
        return Ranking(model=str(data.get("model", "")), hits=hits)
    except (KeyError, TypeError, ValueError) as exc:
        raise SearchServiceUnavailable("answer does not have the expected shape", status=200) from exc


def search(query: str, *, limit: int, offset: int, boosts: dict[str, float] | None = None) -> Ranking:
    """Stickers ranked by similarity to ``query``; with ``boosts`` (filename -> additive score), search_service's
    ``POST /api/search/`` adds them (bounded there too), else a plain GET."""
    if not boosts:
        return _ranking(get_json("/api/search/", {"query": query, "limit": limit, "offset": offset}))
    body = {
        "query": query,
        "limit": limit,
        "offset": offset,
        "boosts": [{"filename": name, "boost": boost} for name, boost in boosts.items()],
    }
    return _ranking(get_json("/api/search/", {}, body))


def similar(filename: str, *, limit: int) -> Ranking:
    """Stickers that look like ``filename``; SearchServiceError 404 when search_service does not know it."""
    return _ranking(get_json("/api/similar/", {"filename": filename, "limit": limit}))


def list_images(*, after: str, page_size: int) -> dict[str, Any]:
    """One keyset page of search_service's catalogue: the ``page_size`` stickers whose filename sorts after
    ``after`` (``""``: the first ones), ``{"count", "next", "previous", "results": [...]}``."""
    data = get_json("/api/images/", {"after": after, "page_size": page_size})
    if not isinstance(data.get("results"), list):
        raise SearchServiceUnavailable("catalogue page has no results list", status=200)
    return data


def check_ready() -> dict:
    """Readiness of search_service, for /readyz."""
    started = time.perf_counter()
    try:
        response = _send("/healthz", {})
    except SearchServiceUnavailable as exc:
        return {"ok": False, "error": exc.reason, "url": settings.SEARCH_SERVICE_URL}
    ok = response.status == 200
    result: dict[str, Any] = {"ok": ok, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if not ok:
        result["error"] = f"HTTP {response.status}"
    return result
