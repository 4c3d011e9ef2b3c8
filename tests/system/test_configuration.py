"""Production configuration of both services, started for real: ``check --deploy`` clean, DEBUG off unless asked
for, unsafe values refused (also by gunicorn with the whole .env.example), and the compose healthcheck's probe
accepted by a production-configured sticker_service. The checks that only read the repository's files (the
secret scan, .env.example against the settings, compose and the docs) are in tests/repository/."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from servicekit.settings import DEVELOPMENT_SECRETS
from testkit import REPO, env_example
from testkit.live_sticker import PUBLIC_MEDIA_URL
from tests.system.figures import record

pytestmark = pytest.mark.system

SERVICES = ("sticker_service", "search_service")


def production_env(**overrides: str) -> dict[str, str]:
    """What an operator sets in production (README "Docker / production"); nothing else from this shell."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STICKER_", "SEARCH_", "DJANGO_", "PYTEST_", "SECURE_", "THROTTLE_", "ADMIN_"))
    }
    return {
        **inherited,
        "STICKER_SECRET_KEY": secrets.token_urlsafe(50),
        "SEARCH_SECRET_KEY": secrets.token_urlsafe(50),
        "STICKER_DATABASE_URL": "postgres://sticker:secret@sticker-db:5432/sticker",
        "SEARCH_DATABASE_URL": "postgres://search:secret@search-db:5432/search",
        "SEARCH_SERVICE_TOKEN": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "stickers.example.com",
        "STICKER_MEDIA_URL": PUBLIC_MEDIA_URL,
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
        **overrides,
    }


def manage(service: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", service, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_check_deploy_is_clean_with_production_settings(service):
    result = manage(service, "check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout
    record(
        f"{service}: python -m {service} check --deploy --fail-level WARNING", result.stdout.strip().splitlines()[-1]
    )


SHOW_DEBUG = "from django.conf import settings; print('DEBUG =', settings.DEBUG)"


def debug_of(service: str, env: dict[str, str]) -> str:
    result = manage(service, "shell", "--no-imports", "-c", SHOW_DEBUG, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("service", SERVICES)
def test_debug_is_off_unless_asked_for(service):
    assert debug_of(service, production_env()) == "DEBUG = False"
    assert debug_of(service, production_env(DJANGO_DEBUG="no")) == "DEBUG = False"
    assert debug_of(service, production_env(DJANGO_DEBUG="true")) == "DEBUG = True"
    # Without DEBUG the development secret key of .env.example is refused.
    weak = manage(
        service,
        "shell",
        "--no-imports",
        "-c",
        SHOW_DEBUG,
        env=production_env(
            STICKER_SECRET_KEY="dev-insecure-sticker-secret-key-change-me",
            SEARCH_SECRET_KEY="dev-insecure-search-secret-key-change-me",
        ),
    )
    assert weak.returncode != 0 and "SECRET_KEY" in weak.stderr


# Each development value of .env.example (or an empty service token, or a wildcard host) given to a production
# start, and the variable the refusal must name. The services are started for real: `python -m <service> check --deploy`
# loads the settings the way gunicorn's workers do.
DEV = DEVELOPMENT_SECRETS
UNSAFE = [
    ("sticker_service", {"SEARCH_SERVICE_TOKEN": ""}, "SEARCH_SERVICE_TOKEN is empty"),
    ("search_service", {"SEARCH_SERVICE_TOKEN": ""}, "SEARCH_SERVICE_TOKEN is empty"),
    (
        "sticker_service",
        {"SEARCH_SERVICE_TOKEN": DEV["SEARCH_SERVICE_TOKEN"]},
        "SEARCH_SERVICE_TOKEN is the development",
    ),
    (
        "search_service",
        {"SEARCH_SERVICE_TOKEN": DEV["SEARCH_SERVICE_TOKEN"]},
        "SEARCH_SERVICE_TOKEN is the development",
    ),
    ("sticker_service", {"ADMIN_PASSWORD": DEV["ADMIN_PASSWORD"]}, "ADMIN_PASSWORD is the development"),
    ("sticker_service", {"ADMIN_TOKEN": DEV["ADMIN_TOKEN"]}, "ADMIN_TOKEN is the development"),
    ("sticker_service", {"STICKER_SECRET_KEY": DEV["STICKER_SECRET_KEY"]}, "STICKER_SECRET_KEY must be set"),
    ("search_service", {"SEARCH_SECRET_KEY": DEV["SEARCH_SECRET_KEY"]}, "SEARCH_SECRET_KEY must be set"),
    (
        "sticker_service",
        {"STICKER_DATABASE_URL": "postgres://sticker:" + DEV["STICKER_DB_PASSWORD"] + "@sticker-db:5432/sticker"},
        "STICKER_DATABASE_URL has the development database password",
    ),
    (
        "search_service",
        {"SEARCH_DATABASE_URL": "postgres://search:" + DEV["SEARCH_DB_PASSWORD"] + "@search-db:5432/search"},
        "SEARCH_DATABASE_URL has the development database password",
    ),
    ("sticker_service", {"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS contains '*'"),
    ("search_service", {"ALLOWED_HOSTS": "stickers.example.com,*"}, "ALLOWED_HOSTS contains '*'"),
    # Issue 23 item 9: every search result's url and the demo page's CSP named http://127.0.0.1:8118.
    ("sticker_service", {"STICKER_MEDIA_URL": "http://127.0.0.1:8118/media/stickers/"}, "STICKER_MEDIA_URL names"),
    ("sticker_service", {"STICKER_MEDIA_URL": "http://10.0.3.7/stickers/"}, "STICKER_MEDIA_URL names"),
    ("sticker_service", {"STICKER_MEDIA_URL": "http://localhost:8118/media/"}, "STICKER_MEDIA_URL names"),
]


@pytest.mark.parametrize(("service", "overrides", "message"), UNSAFE, ids=[f"{s}-{m[:30]}" for s, _o, m in UNSAFE])
def test_production_start_refuses_unsafe_configuration(service, overrides, message):
    result = manage(service, "check", "--deploy", env=production_env(**overrides))
    assert result.returncode != 0, result.stdout
    assert message in result.stderr, result.stderr[-3000:]
    refusal = next(line for line in result.stderr.splitlines() if message in line)
    record(f"refusal: {service}, {message}", refusal.split("ImproperlyConfigured: ")[-1])
    # The same values with DEBUG on (make run's .env.example) are accepted.
    if "SECRET_KEY" not in message:
        assert manage(service, "check", env=production_env(DJANGO_DEBUG="true", **overrides)).returncode == 0


@pytest.mark.parametrize("service", SERVICES)
def test_gunicorn_refuses_the_development_env_example(service, tmp_path):
    """The whole .env.example with DJANGO_DEBUG=false: gunicorn (the production server) exits instead of serving,
    and says which variables to change."""
    from testkit.gunicorn import Gunicorn, free_port

    port = free_port()
    prefix = "STICKER" if service == "sticker_service" else "SEARCH"
    env = {
        **production_env(),
        **env_example.values(),
        "DJANGO_DEBUG": "false",
        f"{prefix}_BIND": f"127.0.0.1:{port}",
        f"{prefix}_WORKERS": "1",
    }
    server = Gunicorn(REPO / service, env, port, tmp_path / "gunicorn.log")
    with pytest.raises(RuntimeError, match="exited"):
        server.start(ready_path="/healthz", timeout=120)
    server.stop()
    assert f"{prefix}_SECRET_KEY" in server.log_tail(20000)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is the answer under test


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def test_healthcheck_probe_passes_real_host_validation_and_ssl_redirect():
    """docker/healthcheck.py (the compose healthcheck) against the real sticker_service with production-like
    ALLOWED_HOSTS and HTTPS redirect. The WSGI handler is built under these settings (the security middleware reads
    SECURE_SSL_REDIRECT once, when it is built), and served over HTTP in a thread."""
    with override_settings(ALLOWED_HOSTS=["stickers.example.com"], SECURE_SSL_REDIRECT=True):
        server = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            base = f"http://127.0.0.1:{server.server_port}"
            opener = urllib.request.build_opener(NoRedirects)

            def status(path: str, **headers: str) -> int:
                try:
                    return opener.open(urllib.request.Request(base + path, headers=headers), timeout=5).status
                except urllib.error.HTTPError as error:
                    return error.code

            assert status("/healthz") == 400  # what a naive probe gets: the container's address is not a host
            assert status("/api/counter/?n=1", Host="stickers.example.com") == 301  # the redirect is in effect
            env = {**os.environ, "ALLOWED_HOSTS": "stickers.example.com"}
            probe = subprocess.run(
                [sys.executable, str(REPO / "docker" / "healthcheck.py"), f"{base}/healthz"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert probe.returncode == 0, probe.stderr
        finally:
            server.shutdown()
            server.server_close()
