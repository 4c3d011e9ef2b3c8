"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints, JSON, on both services.

They are DRF views (no authentication, no throttling) so that the OpenAPI schema describes them and a
wrong method gets the one JSON error format.

Readiness runs every check. A failing *required* check (the database; search_service's model) makes it 503
``unavailable``: a load balancer should stop sending traffic. A failing *optional* check (sticker_service's
search_service) makes it 200 ``degraded``: the instance still serves what does not need it (feedback,
analytics, the counter). The public answer names each check's status only; the details (latencies, errors,
URLs) go to internal callers (:func:`servicekit.metrics.metrics_allowed`) and staff signed in to the admin.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

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


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])

    class Meta:
        ref_name = "Health"


class CheckResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    latency_ms = serializers.FloatField(required=False, help_text="Time the check took (database).")
    error = serializers.CharField(required=False, help_text="Why the check failed.")

    class Meta:
        ref_name = "CheckResult"


class ReadinessSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ok", "degraded", "unavailable"],
        help_text="ok; degraded (200: an optional dependency such as search_service is down); unavailable (503).",
    )
    checks = serializers.DictField(
        child=CheckResultSerializer(),
        help_text="One result per dependency (database, ...): `ok` for everyone; latency, error and more fields "
        "for internal callers and staff only.",
    )

    class Meta:
        ref_name = "Readiness"


class _Probe(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class HealthView(_Probe):
    @extend_schema(
        operation_id="healthz",
        summary="Liveness: the process answers",
        responses={200: HealthSerializer},
        tags=["health"],
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadinessView(_Probe):
    checks: dict[str, Check] = {}
    optional: frozenset[str] = frozenset()

    @extend_schema(
        operation_id="readyz",
        summary="Readiness: every dependency reachable",
        description="Runs each check (the database, and the service's own: search_service or the model). 503 "
        "`unavailable` when a required one fails; 200 `degraded` when only an optional one (sticker_service's "
        "search_service) fails. Details only for internal callers and staff.",
        responses={
            200: ReadinessSerializer,
            503: OpenApiResponse(ReadinessSerializer, description="A required check failed (`ok: false`)."),
        },
        tags=["health"],
    )
    def get(self, request: Request) -> Response:
        results = {name: check() for name, check in self.checks.items()}
        failed = {name for name, result in results.items() if not result["ok"]}
        status = "unavailable" if failed - self.optional else "degraded" if failed else "ok"
        if not _may_see_details(request):
            results = {name: {"ok": result["ok"]} for name, result in results.items()}
        return Response({"status": status, "checks": results}, status=503 if status == "unavailable" else 200)


def _may_see_details(request: Request) -> bool:
    """Internal callers (metrics networks or token) and staff signed in to the admin (their session read here:
    the probe itself stays unauthenticated, and DRF has already set ``request.user`` to anonymous)."""
    from django.contrib.auth import get_user

    from servicekit.metrics import metrics_allowed

    if metrics_allowed(request._request):
        return True
    if not hasattr(request._request, "session"):  # no SessionMiddleware in front (a bare test request)
        return False
    user = get_user(request._request)
    return bool(user.is_active and getattr(user, "is_staff", False))


def health_urls(extra_checks: dict[str, Check] | None = None, *, optional: frozenset[str] = frozenset()) -> list:
    """``/healthz`` and ``/readyz`` with the database check plus ``extra_checks``; those named in ``optional``
    make the service ``degraded`` (200) rather than ``unavailable`` (503) when they fail."""
    checks: dict[str, Check] = {"database": check_database, **(extra_checks or {})}
    return [
        path("healthz", HealthView.as_view(), name="healthz"),
        path("readyz", ReadinessView.as_view(checks=checks, optional=optional), name="readyz"),
    ]
