"""gunicorn settings of search_service (environment overrides).

The model is loaded in each worker after the fork (post_worker_init), never in the master: torch's
thread pools do not survive a fork, and preloading would share nothing useful (weights are read-only
but Python refcounts would copy them page by page anyway).
"""

import logging
import os

from servicekit.gunicorn_errors import install as install_json_errors
from servicekit.gunicorn_metrics import child_exit, on_exit, on_starting, use_multiprocess_dir

bind = os.environ.get("SEARCH_BIND", f"0.0.0.0:{os.environ.get('SEARCH_PORT', '8118')}")
workers = int(os.environ.get("SEARCH_WORKERS", "2"))
threads = int(os.environ.get("SEARCH_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = int(os.environ.get("SEARCH_WORKER_TIMEOUT", "120"))  # includes loading the model at worker start
graceful_timeout = 10
# No control socket (gunicorn >= 25's gunicornc interface, at $HOME/.gunicorn): nothing uses it, and in the images
# HOME is read-only (sticker_service) or the shared model-cache volume (search_service).
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# The combined format plus the request id (the X-Request-ID the service answers with) and the time in µs.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" rid=%({x-request-id}o)s %(D)sus'

# Prometheus: every worker writes its samples to one shared directory; the scrape aggregates them.
use_multiprocess_dir("search")
__all__ = ["child_exit", "on_exit", "on_starting"]  # gunicorn server hooks

# gunicorn's own error answers (414 request line too long, 431, malformed HTTP) as JSON, not HTML.
install_json_errors()

# Each worker's torch threads share the machine's cores: by default cores / workers (at least 1).
if os.environ.get("SEARCH_TORCH_THREADS", "0").strip() in ("", "0"):
    os.environ["SEARCH_TORCH_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, workers)))


def post_worker_init(worker):
    """Load the model before this worker accepts requests (a failure is logged; /readyz reports it)."""
    worker.tmp.notify()
    from search_service.encoders.loader import ModelUnavailable, get_encoder

    try:
        encoder = get_encoder()
    except ModelUnavailable as exc:
        logging.getLogger("gunicorn.error").error("Worker %s: model not loaded: %s", worker.pid, exc)
        return
    worker.log.info("Worker %s: model %s ready (dim %d)", worker.pid, encoder.model_id, encoder.dim)
    worker.tmp.notify()
