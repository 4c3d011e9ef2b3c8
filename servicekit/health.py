"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints, JSON, on both services."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

Check = Callable[[], dict]


def check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()[:300]}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readiness_view(checks: dict[str, Check]):
    @require_GET
    def readyz(request: HttpRequest) -> JsonResponse:
        results = {name: check() for name, check in checks.items()}
        ready = all(result["ok"] for result in results.values())
        return JsonResponse({"status": "ok" if ready else "unavailable", "checks": results},
                            status=200 if ready else 503)

    return readyz


def health_urls(extra_checks: dict[str, Check] | None = None) -> list:
    checks: dict[str, Check] = {"database": check_database, **(extra_checks or {})}
    return [
        path("healthz", healthz, name="healthz"),
        path("readyz", readiness_view(checks), name="readyz"),
    ]
