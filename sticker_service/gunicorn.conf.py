"""gunicorn settings of sticker_service (environment overrides)."""

import os

from servicekit.gunicorn_errors import install as install_json_errors
from servicekit.gunicorn_metrics import child_exit, on_exit, on_starting, use_multiprocess_dir

bind = os.environ.get("STICKER_BIND", f"0.0.0.0:{os.environ.get('STICKER_PORT', '8000')}")
workers = int(os.environ.get("STICKER_WORKERS", "2"))
threads = int(os.environ.get("STICKER_THREADS", "8"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 10
# No control socket (gunicorn >= 25's gunicornc interface, at $HOME/.gunicorn): nothing uses it, and in the images
# HOME is read-only (sticker_service) or the shared model-cache volume (search_service).
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# The combined format plus the request id (the X-Request-ID the service answers with) and the time in µs.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" rid=%({x-request-id}o)s %(D)sus'

# Prometheus: every worker writes its samples to one shared directory; the scrape aggregates them.
use_multiprocess_dir("sticker")
__all__ = ["child_exit", "on_exit", "on_starting"]  # gunicorn server hooks

# gunicorn's own error answers (414 request line too long, 431, malformed HTTP) as JSON, not HTML.
install_json_errors()
