"""HTTP client of search_service: the only way sticker_service reaches it."""

from __future__ import annotations

import time

import requests
from django.conf import settings

_session = requests.Session()


def _headers() -> dict[str, str]:
    token = settings.SEARCH_SERVICE_TOKEN
    return {"Authorization": f"Bearer {token}"} if token else {}


def check_ready() -> dict:
    """Readiness of search_service, for /readyz."""
    started = time.perf_counter()
    try:
        response = _session.get(f"{settings.SEARCH_SERVICE_URL}/healthz", headers=_headers(),
                                timeout=(settings.SEARCH_SERVICE_CONNECT_TIMEOUT, settings.SEARCH_SERVICE_READ_TIMEOUT))
    except requests.RequestException as exc:
        return {"ok": False, "error": f"{type(exc).__name__}", "url": settings.SEARCH_SERVICE_URL}
    ok = response.status_code == 200
    result = {"ok": ok, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if not ok:
        result["error"] = f"HTTP {response.status_code}"
    return result
