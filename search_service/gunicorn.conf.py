"""gunicorn settings of search_service (environment overrides)."""

import os

bind = os.environ.get("SEARCH_BIND", f"0.0.0.0:{os.environ.get('SEARCH_PORT', '8118')}")
workers = int(os.environ.get("SEARCH_WORKERS", "2"))
threads = int(os.environ.get("SEARCH_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
