"""The stickers app's Prometheus metric, beside search_service's others (core/metrics.py):
``search_stickers_indexed{model}``, stickers with embeddings per model id, counted in the database at each scrape."""

from __future__ import annotations

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .models import Sticker


class StickersIndexedCollector(Collector):
    """``search_stickers_indexed{model}``, read from the database when Prometheus scrapes."""

    def collect(self):
        gauge = GaugeMetricFamily(
            "search_stickers_indexed", "Stickers with embeddings, per model id.", labels=["model"]
        )
        for row in Sticker.objects.order_by().values("model_id").annotate(n=Count("id")):
            gauge.add_metric([row["model_id"]], row["n"])
        yield gauge
