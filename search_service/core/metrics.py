"""search_service's own Prometheus metrics (servicekit.metrics serves them at /metrics with the request metrics);
the stickers app adds ``search_stickers_indexed`` (stickers/metrics.py).

- ``search_text_encoding_seconds``: time the model took to encode a query text (cache misses only).
- ``search_ranking_seconds``: time of the ranking query in PostgreSQL (the text already encoded).
- ``search_cache_requests_total{cache, result}``: lookups of the per-process text-embedding LRU (``text_lru``),
  the shared Redis text cache (``text_redis``, also ``error``) and the result cache (``results``), by ``hit`` or
  ``miss``; the hit rate is ``hit / (hit + miss)``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

_FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

TEXT_ENCODING_SECONDS = Histogram(
    "search_text_encoding_seconds", "Time to encode one query text with the model.", buckets=_FAST_BUCKETS
)
RANKING_SECONDS = Histogram(
    "search_ranking_seconds", "Time to rank the stickers for an encoded query in PostgreSQL.", buckets=_FAST_BUCKETS
)
CACHE_REQUESTS = Counter(
    "search_cache_requests_total", "Cache lookups by cache and result (hit, miss, error).", ["cache", "result"]
)
