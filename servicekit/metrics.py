"""Prometheus metrics of both services (prometheus-client), served at ``/metrics`` to allowed callers only.

- :class:`MetricsMiddleware` observes every request: ``http_request_duration_seconds{method, endpoint, status}``
  (a histogram; its ``_count`` is the number of requests). ``endpoint`` is the URL route (``api/search/``), never
  the raw path, so the label set stays small; unmatched paths are ``unmatched``.
- Each service adds its own metrics where the work happens, and collectors that read the database at scrape
  time through :func:`register_scrape_collector`.
- Under gunicorn every worker is a process: gunicorn.conf.py sets ``PROMETHEUS_MULTIPROC_DIR`` before the
  workers fork (servicekit/gunicorn_metrics.py), each worker writes its samples there, and whichever worker
  answers the scrape aggregates all of them (prometheus-client's multiprocess mode).
- Access (:func:`metrics_allowed`): the socket address inside ``METRICS_ALLOWED_NETWORKS`` or
  ``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets a 403 in the one JSON error format.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from servicekit.errors import json_error_response

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method, URL route and status (the _count is the number of requests).",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

_scrape_collectors: list[Collector] = []


def register_scrape_collector(collector: Collector) -> None:
    """A collector run in the scraping process at each scrape (e.g. counts read from the database)."""
    _scrape_collectors.append(collector)


def _endpoint(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.route or match.view_name or "unnamed") if match is not None else "unmatched"


class MetricsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        REQUEST_LATENCY.labels(method, _endpoint(request), str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


@cache
def _networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = getattr(settings, "METRICS_ALLOWED_NETWORKS", [])  # a shared setting (servicekit/settings.py)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in networks if item.strip())


def metrics_allowed(request: HttpRequest) -> bool:
    """An internal caller: ``Authorization: Bearer <METRICS_TOKEN>`` or a socket address in
    ``METRICS_ALLOWED_NETWORKS`` (never X-Forwarded-For: a proxy in front makes every caller look local)."""
    token = getattr(settings, "METRICS_TOKEN", "")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks())


def render_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    if _scrape_collectors:
        extra = CollectorRegistry(auto_describe=False)
        for collector in _scrape_collectors:
            extra.register(collector)
        output += generate_latest(extra)
    return output


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return json_error_response(
            "permission_denied", "Metrics are served to configured addresses or with the metrics token only.", 403
        )
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)


def metrics_urls() -> list:
    return [path("metrics", metrics_view, name="metrics")]
