"""What both services' settings share, from environment variables (twelve-factor).

Each service has one settings module (``sticker_service.config.settings``, ``search_service.config.settings``) that
Django reads. It imports the shared settings below by name (Django reads a module's uppercase names, imported ones
included) and assigns its own, some from the helpers here (``secret_key``, ``database``, ``shared_apps``, ...).
Production is the default: DEBUG is off unless ``DJANGO_DEBUG=true``, and without DEBUG a real secret key is
required and :func:`refuse_unsafe_settings` refuses development secrets and wildcard hosts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_WEAK_KEY_MARKERS = ("insecure", "change-me", "changeme", "dev-")


def secret_key(var: str, debug: bool) -> str:
    """The secret key from ``var``; refuses a missing or development key unless DEBUG is on."""
    key = env.str(var, default="")
    if debug:
        return key or "dev-insecure-only-for-debug"
    if len(key) < 40 or any(marker in key.lower() for marker in _WEAK_KEY_MARKERS):
        raise ImproperlyConfigured(
            f"{var} must be set to a random secret of at least 40 characters when DJANGO_DEBUG is off "
            f"(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    return key


# The development values of every secret in .env.example (tests/repository/test_env_example.py keeps this in
# sync with the file). Without DEBUG none of them is accepted for any secret or database password.
DEVELOPMENT_SECRETS = {
    "STICKER_SECRET_KEY": "dev-insecure-sticker-secret-key-change-me",
    "SEARCH_SECRET_KEY": "dev-insecure-search-secret-key-change-me",
    "ADMIN_PASSWORD": "dev-admin-password",
    "ADMIN_TOKEN": "dev-admin-token-0123456789abcdef01234567",
    "SEARCH_SERVICE_TOKEN": "dev-service-token",
    "STICKER_DB_PASSWORD": "dev-sticker-db-password",
    "SEARCH_DB_PASSWORD": "dev-search-db-password",
}


def unsafe_settings(
    *,
    required: Mapping[str, str],
    secrets: Mapping[str, str],
    database_urls: Mapping[str, str],
    allowed_hosts: list[str],
    public_urls: Mapping[str, str] | None = None,
) -> list[str]:
    """What is unsafe for production in these values, one sentence per problem naming its variable.

    ``required``: secrets that must be set (name -> value); ``secrets``: optional ones (an empty value is
    fine); ``database_urls``: URL variables whose password is checked; ``public_urls``: URLs handed to the public
    (in answers, in the demo page's CSP), which must not name a loopback, private or link-local host. A development
    value of .env.example is refused wherever it appears.
    """
    development = set(DEVELOPMENT_SECRETS.values())
    problems = [f"{name} is empty" for name, value in required.items() if not value]
    problems += [
        f"{name} is the development value from .env.example"
        for name, value in {**required, **secrets}.items()
        if value in development
    ]
    for name, url in database_urls.items():
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password in development:
            problems.append(f"{name} has the development database password from .env.example")
    if "*" in allowed_hosts:
        problems.append("ALLOWED_HOSTS contains '*' (name the service's host names)")
    problems += [
        f"{name} names the internal host {host!r} ({url}); set the public bucket/CDN URL of the sticker images"
        for name, url in (public_urls or {}).items()
        if (host := internal_host(url))
    ]
    return problems


def internal_host(url: str) -> str | None:
    """The host of ``url`` when it is one the public cannot or must not reach: ``localhost`` (and ``*.localhost``)
    or an IP address that is loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7, ...), link-local,
    unspecified or reserved. Host names are not resolved (DNS may differ where the URL is used)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    internal = address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified
    return host if internal or address.is_reserved else None


def refuse_unsafe_settings(debug: bool, **values: Any) -> None:
    """Raise ImproperlyConfigured when DEBUG is off and :func:`unsafe_settings` finds anything."""
    if debug:
        return
    if problems := unsafe_settings(**values):
        raise ImproperlyConfigured(
            "Unsafe configuration with DJANGO_DEBUG off: "
            + "; ".join(problems)
            + ". Set real secrets (see docs/configuration.md), or DJANGO_DEBUG=true for development."
        )


def database(var: str) -> dict[str, Any]:
    if not env.str(var, default=""):
        raise ImproperlyConfigured(f"{var} is not set (e.g. postgres://user:pass@host:5432/name).")
    config = env.db_url(var)
    config.update(
        CONN_MAX_AGE=env.int("DB_CONN_MAX_AGE", default=60),
        CONN_HEALTH_CHECKS=True,
        ATOMIC_REQUESTS=False,
    )
    config.setdefault("OPTIONS", {}).update(connect_timeout=env.int("DB_CONNECT_TIMEOUT", default=3))
    # Lets parallel test runs on one server use distinct test databases (default: test_<name>).
    if test_name := env.str(var.replace("_URL", "_TEST_NAME"), default=""):
        config["TEST"] = {"NAME": test_name}
    return config


def networks(var: str) -> list[str]:
    """A comma-separated list of CIDRs (``10.0.0.0/8,::1/128``); a bad entry refuses to start."""
    values = [item.strip() for item in env.list(var, default=[]) if item.strip()]
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var}: {value!r} is not a network (e.g. 10.0.0.0/8 or ::1/128).") from exc
    return values


def log_format() -> str:
    """``LOG_FORMAT``: ``plain`` (default) or ``json`` (one JSON object per line)."""
    value = env.str("LOG_FORMAT", default="plain").strip().lower() or "plain"
    if value not in ("plain", "json"):
        raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
    return value


def shared_apps() -> list[str]:
    """The apps both services install, before their own."""
    return [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "rest_framework",
        "drf_spectacular",
        "drf_spectacular_sidecar",  # Swagger UI / ReDoc files served from here, not from a CDN
    ]


def shared_middleware() -> list[str]:
    """The middleware both services run, in order (a service may append its own)."""
    return [
        "servicekit.request_id.RequestIdMiddleware",  # X-Request-ID in, out and on every log line
        "servicekit.metrics.MetricsMiddleware",  # requests and latency per endpoint and status
        "django.middleware.security.SecurityMiddleware",
        "servicekit.middleware.RequestSanityMiddleware",  # bad UTF-8 query 400, chunked body 411
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]


def shared_storages() -> dict[str, dict[str, Any]]:
    """Uploaded files on the file system, static files compressed by WhiteNoise (a service may add storages)."""
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }


def shared_rest_framework() -> dict[str, Any]:
    """DRF: JSON only, servicekit's error format and OpenAPI schema class; no authentication unless a service
    adds its own."""
    return {
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["servicekit.parsers.LimitedJSONParser"],
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
        "DEFAULT_SCHEMA_CLASS": "servicekit.schema.AutoSchema",
        "EXCEPTION_HANDLER": "servicekit.errors.exception_handler",
    }


def spectacular_settings(*, title: str, description: str) -> dict[str, Any]:
    """drf-spectacular's settings for a service's OpenAPI schema."""
    return {
        "TITLE": title,
        "DESCRIPTION": description,
        "VERSION": "1.0.0",
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "servicekit.schema.optional_query_parameters_allow_empty",
            "servicekit.schema.document_uri_too_long",
        ],
        "SERVE_INCLUDE_SCHEMA": False,  # servicekit.docs.SchemaView documents itself
        # Swagger UI's files come from the drf-spectacular-sidecar package (static files), never a CDN.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }


# --- The settings both services share, imported by name by each service's settings module ---

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
CSRF_FAILURE_VIEW = "servicekit.errors.csrf_failure"

# Security: production-safe defaults; TLS terminates at the load balancer.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and Prometheus scrapes come from inside the cluster over plain HTTP: never redirected.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "servicekit.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "servicekit.request_id.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": log_format(),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Prometheus metrics at /metrics: only from these networks (CIDRs) or with "Authorization: Bearer <METRICS_TOKEN>";
# both empty = closed to everyone.
METRICS_ALLOWED_NETWORKS = networks("METRICS_ALLOWED_NETWORKS")
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
