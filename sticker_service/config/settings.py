"""sticker_service settings: everything from environment variables (see .env.example).

The settings both services share are defined once in servicekit/settings.py and imported here by name (``X as X``:
there for Django, which reads this module's uppercase names, imported ones included); the rest is sticker_service's.
"""

from datetime import timedelta
from pathlib import Path

from servicekit.settings import (
    ALLOWED_HOSTS,
    DEBUG,
    database,
    env,
    refuse_unsafe_settings,
    secret_key,
    shared_apps,
    shared_middleware,
    shared_rest_framework,
    shared_storages,
    spectacular_settings,
)
from servicekit.settings import CSRF_COOKIE_SECURE as CSRF_COOKIE_SECURE
from servicekit.settings import CSRF_FAILURE_VIEW as CSRF_FAILURE_VIEW
from servicekit.settings import CSRF_TRUSTED_ORIGINS as CSRF_TRUSTED_ORIGINS
from servicekit.settings import DATA_UPLOAD_MAX_MEMORY_SIZE as DATA_UPLOAD_MAX_MEMORY_SIZE
from servicekit.settings import DEFAULT_AUTO_FIELD as DEFAULT_AUTO_FIELD
from servicekit.settings import LANGUAGE_CODE as LANGUAGE_CODE
from servicekit.settings import LOGGING as LOGGING
from servicekit.settings import METRICS_ALLOWED_NETWORKS as METRICS_ALLOWED_NETWORKS
from servicekit.settings import METRICS_TOKEN as METRICS_TOKEN
from servicekit.settings import SECURE_CONTENT_TYPE_NOSNIFF as SECURE_CONTENT_TYPE_NOSNIFF
from servicekit.settings import SECURE_HSTS_INCLUDE_SUBDOMAINS as SECURE_HSTS_INCLUDE_SUBDOMAINS
from servicekit.settings import SECURE_HSTS_PRELOAD as SECURE_HSTS_PRELOAD
from servicekit.settings import SECURE_HSTS_SECONDS as SECURE_HSTS_SECONDS
from servicekit.settings import SECURE_PROXY_SSL_HEADER as SECURE_PROXY_SSL_HEADER
from servicekit.settings import SECURE_REDIRECT_EXEMPT as SECURE_REDIRECT_EXEMPT
from servicekit.settings import SECURE_SSL_REDIRECT as SECURE_SSL_REDIRECT
from servicekit.settings import SESSION_COOKIE_SECURE as SESSION_COOKIE_SECURE
from servicekit.settings import STATIC_URL as STATIC_URL
from servicekit.settings import TEMPLATES as TEMPLATES
from servicekit.settings import TIME_ZONE as TIME_ZONE
from servicekit.settings import USE_I18N as USE_I18N
from servicekit.settings import USE_TZ as USE_TZ
from servicekit.settings import WHITENOISE_AUTOREFRESH as WHITENOISE_AUTOREFRESH
from servicekit.settings import WHITENOISE_USE_FINDERS as WHITENOISE_USE_FINDERS
from servicekit.settings import X_FRAME_OPTIONS as X_FRAME_OPTIONS

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = secret_key("STICKER_SECRET_KEY", DEBUG)
INSTALLED_APPS = [
    *shared_apps(),
    "rest_framework.authtoken",
    "sticker_service.accounts",
    "sticker_service.catalog",
    "sticker_service.searches",
    "sticker_service.feedback",
    "sticker_service.analytics",
    "sticker_service.counter",
    "sticker_service.demo",
    "axes",
]
# Admin login lockout (django-axes) runs last; its settings are below.
MIDDLEWARE = [*shared_middleware(), "axes.middleware.AxesMiddleware"]
ROOT_URLCONF = "sticker_service.config.urls"
WSGI_APPLICATION = "sticker_service.config.wsgi.application"
DATABASES = {"default": database("STICKER_DATABASE_URL")}
STATIC_ROOT = env.path("STICKER_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = shared_storages()
SPECTACULAR_SETTINGS = spectacular_settings(
    title="Sticker Search public API",
    description="Search stickers by text, send feedback on results, download feedback for the ML team.",
)

# The internal search service, reached over HTTP only: one base URL, or several (comma-separated) to spread
# calls over instances and fail over from one that is down (core/search_client.py).
SEARCH_SERVICE_URL = env.str("SEARCH_SERVICE_URL", default="http://127.0.0.1:8118").rstrip("/")
# Seconds an instance that failed is tried only after the others.
SEARCH_SERVICE_DOWN_SECONDS = env.float("SEARCH_SERVICE_DOWN_SECONDS", default=5.0)
SEARCH_SERVICE_TOKEN = env.str("SEARCH_SERVICE_TOKEN", default="")
SEARCH_SERVICE_CONNECT_TIMEOUT = env.float("SEARCH_SERVICE_CONNECT_TIMEOUT", default=0.5)
SEARCH_SERVICE_READ_TIMEOUT = env.float("SEARCH_SERVICE_READ_TIMEOUT", default=2.0)
# Deadline of one whole call (connect + response + body); public search answers 503 past it.
SEARCH_SERVICE_TOTAL_TIMEOUT = env.float("SEARCH_SERVICE_TOTAL_TIMEOUT", default=2.5)
# Public base URL of sticker images (a CDN or bucket in production); filenames are appended. The default is
# search_service on this machine (development); with DEBUG off a loopback or private host is refused.
STICKER_MEDIA_URL = env.str("STICKER_MEDIA_URL", default="http://127.0.0.1:8118/media/stickers/")

# Admin login lockout (django-axes): after ADMIN_LOGIN_FAILURE_LIMIT failed logins from one client address
# (as the rate limits see it), logins from it are refused (429, JSON) for ADMIN_LOGIN_COOLOFF_MINUTES.
# Attempts are kept in the sticker database (axes' tables), so the lockout holds across workers and replicas.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "sticker_service.core.clients.client_address"
AXES_LOCKOUT_CALLABLE = "sticker_service.core.clients.lockout_response"
AXES_VERBOSE = False

# Bootstrap admin (python -m sticker_service ensure_admin); no production default for the password or token.
ADMIN_USERNAME = env.str("ADMIN_USERNAME", default="admin")
ADMIN_EMAIL = env.str("ADMIN_EMAIL", default="admin@example.com")
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")
ADMIN_TOKEN = env.str("ADMIN_TOKEN", default="")

# Limits of POST /api/feedback/ (a bigger body is a 400 that records nothing).
FEEDBACK_MAX_ITEMS = env.int("FEEDBACK_MAX_ITEMS", default=100)
FEEDBACK_MAX_FILENAMES = env.int("FEEDBACK_MAX_FILENAMES", default=100)
# Votes (filenames in positive + negative) per client per minute, across requests, workers and replicas: 429
# with Retry-After past it (feedback/limits.py). 0 = unlimited.
FEEDBACK_MAX_VOTES_PER_MINUTE = env.int("FEEDBACK_MAX_VOTES_PER_MINUTE", default=1000)

# Immediate lift from votes (feedback/boosts.py): the largest boost a query's votes give a sticker (0 = off), the
# Beta prior's pseudo-votes on each side, and the distinct clients at which the confidence reaches one half.
FEEDBACK_BOOST_MAX = env.float("FEEDBACK_BOOST_MAX", default=0.1)
FEEDBACK_BOOST_PRIOR = env.float("FEEDBACK_BOOST_PRIOR", default=1.0)
FEEDBACK_BOOST_HALF_CLIENTS = env.float("FEEDBACK_BOOST_HALF_CLIENTS", default=3.0)

# Cache (rate-limit counters, feedback vote budgets): shared by every worker and replica. Redis when REDIS_URL
# is set; else a table in the sticker database (CACHE_TABLE, created by migrate). Never per-process memory: the
# limits would multiply by the number of workers. The limiter fails open when this store is down (core/api.py).
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_TABLE = "sticker_cache"
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("REDIS_KEY_PREFIX", default="sticker"),
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE, "TIMEOUT": 300}
    )
}

# Per-client request rates of the public endpoints ("<n>/<second|minute|hour|day>"; empty = unlimited).
# Read on every request (servicekit-style settings, so tests can override them).
THROTTLE_RATES = {
    "search": env.str("THROTTLE_RATE_SEARCH", default="120/minute") or None,
    "similar": env.str("THROTTLE_RATE_SIMILAR", default="120/minute") or None,
    "feedback": env.str("THROTTLE_RATE_FEEDBACK", default="60/minute") or None,
    "counter": env.str("THROTTLE_RATE_COUNTER", default="120/minute") or None,
    "suggest": env.str("THROTTLE_RATE_SUGGEST", default="600/minute") or None,  # suggest and trending
    "analytics": env.str("THROTTLE_RATE_ANALYTICS", default="600/minute") or None,
}
REST_FRAMEWORK = {
    **shared_rest_framework(),
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    # Number of trusted reverse proxies in front of the service: the client address is then taken from
    # X-Forwarded-For. 0 = use the socket address (never trust a client-sent header).
    "NUM_PROXIES": env.int("THROTTLE_NUM_PROXIES", default=0),
    # `format` is an ordinary query parameter here (analytics' format=csv), not DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PAGINATION_CLASS": None,
}

# Without DEBUG: no empty service token, no development secret, no wildcard host (servicekit/settings.py).
refuse_unsafe_settings(
    DEBUG,
    required={"SEARCH_SERVICE_TOKEN": SEARCH_SERVICE_TOKEN},
    secrets={"ADMIN_PASSWORD": ADMIN_PASSWORD, "ADMIN_TOKEN": ADMIN_TOKEN},
    database_urls={"STICKER_DATABASE_URL": env.str("STICKER_DATABASE_URL")},
    allowed_hosts=ALLOWED_HOSTS,
    # Every search result's url and the demo page's CSP name it: never an internal address in production.
    public_urls={"STICKER_MEDIA_URL": STICKER_MEDIA_URL},
)
