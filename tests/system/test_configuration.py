"""Production configuration of both services: ``check --deploy`` clean, DEBUG off unless asked for, no secret
committed to the repository."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys

import pytest

from servicekit.settings import DEVELOPMENT_SECRETS
from testkit import REPO
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


# What a leaked credential looks like (private keys, cloud and service tokens), and secret-named settings
# assigned a literal in code or configuration.
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}\b"),
    "OpenAI/Anthropic key": re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,}\b"),
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "password in a URL": re.compile(
        r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!\$\{|secret@|pass@|password@)"
        r"[^/\s@'\"]{8,}@"
    ),
}
SECRET_ASSIGNMENT = re.compile(
    r"""^\s*["']?(?P<name>[A-Z_]*(?:SECRET_KEY|PASSWORD|TOKEN|API_KEY))["']?\s*[:=]\s*(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"'#,]+)""",
    re.MULTILINE,
)
# Values that are not secrets: development placeholders, variable references, test fixtures' obvious fakes.
HARMLESS_VALUE = re.compile(
    r"dev-|test|fake|example|dummy|stand-in|placeholder|changeme|change-me|^[\"']?[$<{]", re.IGNORECASE
)
SKIP_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".bmp",
    ".ico",
    ".pt",
    ".safetensors",
    ".bin",
    ".npz",
    ".npy",
    ".gz",
    ".zip",
    ".woff",
    ".woff2",
    ".ttf",
)


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    return [name for name in listing.stdout.decode().split("\0") if name]


def secrets_in(name: str, text: str) -> list[str]:
    found = []
    for label, pattern in SECRET_PATTERNS.items():
        found += [f"{name}: {label}: {match.group(0)[:40]}" for match in pattern.finditer(text)]
    for match in SECRET_ASSIGNMENT.finditer(text):
        value = match.group("value")
        if name.endswith(".py") and value[:1] not in "\"'":
            continue  # code: only a string literal can be a committed secret (not secrets.token_hex() etc.)
        if len(value.strip("\"'")) >= 8 and not HARMLESS_VALUE.search(value):
            found.append(f"{name}: {match.group('name')} = {value[:12]}...")
    return found


def test_the_secret_scan_finds_planted_secrets():
    key_header = "-----BEGIN " + "RSA PRIVATE KEY-----"  # split: this file must not match itself
    planted = {
        "id_rsa": f"{key_header}\nMIIEow...\n",
        "settings.py": 'SECRET_KEY = "q8#fj29!xk2m-zz1"\n',
        "prod.env": "ADMIN_PASSWORD=Hunter2Hunter2\nDATABASE_URL=postgres://app:" + "S3cr3tPassw0rd@db/app\n",
        "ci.yml": "token: ghp_" + "a" * 36 + "\n",
        "aws.txt": "AKIA" + "ABCDEFGHIJKLMNOP",
    }
    for name, text in planted.items():
        assert secrets_in(name, text), name
    harmless = {
        ".env.example": "STICKER_SECRET_KEY=dev-insecure-sticker-secret-key-change-me\nADMIN_PASSWORD=\n",
        "settings.py": 'SECRET_KEY = secret_key("STICKER_SECRET_KEY", debug)\nTOKEN = "live-test-token"\n',
        "compose.yml": "url: postgres://${USER}:${PASSWORD}@db:5432/app\n",
    }
    for name, text in harmless.items():
        assert not secrets_in(name, text), (name, secrets_in(name, text))


def test_no_secret_is_committed():
    files = tracked_files()
    assert ".env" not in files, ".env (real settings) must never be committed; .env.example holds dev values"
    found, scanned = [], 0
    for name in files:
        path = REPO / name
        if name.lower().endswith(SKIP_SUFFIXES) or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        found += secrets_in(name, path.read_text(encoding="utf-8", errors="ignore"))
        scanned += 1
    assert not found, "possible secrets in tracked files:\n" + "\n".join(found)
    record("files scanned for secrets (git ls-files)", scanned)


def test_env_example_secrets_are_development_values_that_production_refuses():
    lines = (REPO / ".env.example").read_text().splitlines()
    secret_vars = [
        lines[i + 1].split("=", 1)[0]
        for i, line in enumerate(lines[:-1])
        if line.strip().startswith("# SECRET") and "=" in lines[i + 1]
    ]
    assert {"STICKER_SECRET_KEY", "SEARCH_SECRET_KEY", "SEARCH_SERVICE_TOKEN", "ADMIN_PASSWORD"} <= set(secret_vars)
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    for name in secret_vars:
        assert values[name] == "" or values[name].startswith("dev-"), (name, values[name])
    # Production refuses each of them by value (servicekit.settings.DEVELOPMENT_SECRETS), not only by prefix.
    assert DEVELOPMENT_SECRETS == {name: values[name] for name in secret_vars if values[name]}


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

    lines = (REPO / ".env.example").read_text().splitlines()
    example = dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    port = free_port()
    prefix = "STICKER" if service == "sticker_service" else "SEARCH"
    env = {
        **production_env(),
        **example,
        "DJANGO_DEBUG": "false",
        f"{prefix}_BIND": f"127.0.0.1:{port}",
        f"{prefix}_WORKERS": "1",
    }
    server = Gunicorn(REPO / service, env, port, tmp_path / "gunicorn.log")
    with pytest.raises(RuntimeError, match="exited"):
        server.start(ready_path="/healthz", timeout=120)
    server.stop()
    assert f"{prefix}_SECRET_KEY" in server.log_tail(20000)


@pytest.mark.parametrize(("port", "expected"), [(None, "54329"), ("54400", "54400")])
def test_the_run_commands_follow_a_callers_embedded_pg_port(port, expected):
    """make migrate / make run load .env.example through tools/load_env.sh: a caller's EMBEDDED_PG_PORT wins over
    the file's, and the database URLs follow it (they named 54329 whatever the port, so migrate was refused)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EMBEDDED_PG_PORT", "STICKER_DATABASE_URL", "SEARCH_DATABASE_URL")
    }
    if port:
        env["EMBEDDED_PG_PORT"] = port
    script = (
        'source tools/load_env.sh .env.example; echo "$EMBEDDED_PG_PORT $STICKER_DATABASE_URL $SEARCH_DATABASE_URL"'
    )
    out = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        expected,
        f"postgres://postgres@127.0.0.1:{expected}/sticker",
        f"postgres://postgres@127.0.0.1:{expected}/search",
    ]
