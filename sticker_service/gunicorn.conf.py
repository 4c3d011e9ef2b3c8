"""gunicorn settings of sticker_service (environment overrides)."""

import os

from servicekit.gunicorn_errors import install as install_json_errors

bind = os.environ.get("STICKER_BIND", f"0.0.0.0:{os.environ.get('STICKER_PORT', '8000')}")
workers = int(os.environ.get("STICKER_WORKERS", "2"))
threads = int(os.environ.get("STICKER_THREADS", "8"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None

# gunicorn's own error answers (414 request line too long, 431, malformed HTTP) as JSON, not HTML.
install_json_errors()
