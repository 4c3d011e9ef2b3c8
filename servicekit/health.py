"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints, JSON, on both services.

They are DRF views (no authentication, no throttling) so that the OpenAPI schema describes them and a
wrong method gets the one JSON error format.
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
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    checks = serializers.DictField(
        child=CheckResultSerializer(), help_text="One result per dependency (database, ...); may carry more fields."
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

    @extend_schema(
        operation_id="readyz",
        summary="Readiness: every dependency reachable",
        description="Runs each check (the database, and the service's own: search_service or the model); "
        "503 when any fails.",
        responses={
            200: ReadinessSerializer,
            503: OpenApiResponse(ReadinessSerializer, description="A check failed (`ok: false`)."),
        },
        tags=["health"],
    )
    def get(self, request: Request) -> Response:
        results = {name: check() for name, check in self.checks.items()}
        ready = all(result["ok"] for result in results.values())
        return Response({"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503)


def health_urls(extra_checks: dict[str, Check] | None = None) -> list:
    checks: dict[str, Check] = {"database": check_database, **(extra_checks or {})}
    return [
        path("healthz", HealthView.as_view(), name="healthz"),
        path("readyz", ReadinessView.as_view(checks=checks), name="readyz"),
    ]
