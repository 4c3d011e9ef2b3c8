"""sticker_service settings: everything from environment variables (see .env.example)."""

from pathlib import Path

from servicekit.settings import base_settings, env

BASE_DIR = Path(__file__).resolve().parent.parent

globals().update(
    base_settings(
        service="sticker",
        base_dir=BASE_DIR,
        apps=[
            "rest_framework.authtoken",
            "accounts",
            "catalog",
            "searches",
            "feedback",
            "analytics",
            "counter",
            "demo",
        ],
        title="Sticker Search public API",
        description="Search stickers by text, send feedback on results, download feedback for the ML team.",
    )
)

# The internal search service, reached over HTTP only.
SEARCH_SERVICE_URL = env.str("SEARCH_SERVICE_URL", default="http://127.0.0.1:8118").rstrip("/")
SEARCH_SERVICE_TOKEN = env.str("SEARCH_SERVICE_TOKEN", default="")
SEARCH_SERVICE_CONNECT_TIMEOUT = env.float("SEARCH_SERVICE_CONNECT_TIMEOUT", default=0.5)
SEARCH_SERVICE_READ_TIMEOUT = env.float("SEARCH_SERVICE_READ_TIMEOUT", default=2.0)
# Deadline of one whole call (connect + response + body); public search answers 503 past it.
SEARCH_SERVICE_TOTAL_TIMEOUT = env.float("SEARCH_SERVICE_TOTAL_TIMEOUT", default=2.5)
# Public base URL of sticker images (a CDN or bucket in production); filenames are appended.
STICKER_MEDIA_URL = env.str("STICKER_MEDIA_URL", default="http://127.0.0.1:8118/media/stickers/")

# Bootstrap admin (manage.py ensure_admin); no production default for the password or token.
ADMIN_USERNAME = env.str("ADMIN_USERNAME", default="admin")
ADMIN_EMAIL = env.str("ADMIN_EMAIL", default="admin@example.com")
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")
ADMIN_TOKEN = env.str("ADMIN_TOKEN", default="")

# Limits of POST /api/feedback/ (a bigger body is a 400 that records nothing).
FEEDBACK_MAX_ITEMS = env.int("FEEDBACK_MAX_ITEMS", default=100)
FEEDBACK_MAX_FILENAMES = env.int("FEEDBACK_MAX_FILENAMES", default=100)

# Immediate lift from votes (feedback/boosts.py): the largest boost a query's votes give a sticker (0 = off), the
# Beta prior's pseudo-votes on each side, and the distinct clients at which the confidence reaches one half.
FEEDBACK_BOOST_MAX = env.float("FEEDBACK_BOOST_MAX", default=0.1)
FEEDBACK_BOOST_PRIOR = env.float("FEEDBACK_BOOST_PRIOR", default=1.0)
FEEDBACK_BOOST_HALF_CLIENTS = env.float("FEEDBACK_BOOST_HALF_CLIENTS", default=3.0)

# Cache (throttling counters): local memory per process, or Redis when REDIS_URL is set.
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sticker",
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sticker"}
    )
}

# Per-client request rates of the public endpoints ("<n>/<second|minute|hour|day>"; empty = unlimited).
# Read on every request (servicekit-style settings, so tests can override them).
THROTTLE_RATES = {
    "search": env.str("THROTTLE_RATE_SEARCH", default="120/minute") or None,
    "similar": env.str("THROTTLE_RATE_SIMILAR", default="120/minute") or None,
    "feedback": env.str("THROTTLE_RATE_FEEDBACK", default="60/minute") or None,
    "counter": env.str("THROTTLE_RATE_COUNTER", default="120/minute") or None,
    "analytics": env.str("THROTTLE_RATE_ANALYTICS", default="600/minute") or None,
}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = THROTTLE_RATES  # noqa: F821 - set by base_settings
# Number of trusted reverse proxies in front of the service: the client address is then taken from
# X-Forwarded-For. 0 = use the socket address (never trust a client-sent header).
REST_FRAMEWORK["NUM_PROXIES"] = env.int("THROTTLE_NUM_PROXIES", default=0)  # noqa: F821
# `format` is an ordinary query parameter here (analytics' format=csv), not DRF's renderer override.
REST_FRAMEWORK["URL_FORMAT_OVERRIDE"] = None  # noqa: F821
REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] = None  # noqa: F821
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["config.api.LimitedJSONParser"]  # noqa: F821
