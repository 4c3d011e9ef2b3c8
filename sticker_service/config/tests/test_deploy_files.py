"""Deployment files checked without Docker (no engine on the CI machine).

docker-compose.yml, the two Dockerfiles, docker/ and .env.example are read as data and checked
against each other and against the code: every variable compose uses is defined in .env.example,
ports and host names agree with gunicorn's bind and the settings, every file a Dockerfile copies or
runs exists, the images' build-time collectstatic works, and every environment variable the
settings read is listed in .env.example.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import environ
import pytest
import yaml
from django.http.request import host_validation_re

REPO = Path(__file__).resolve().parents[3]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
# compose service -> settings prefix (STICKER_DATABASE_URL, SEARCH_PORT, ...)
APP_SERVICES = {"sticker_service": "STICKER", "search_service": "SEARCH"}
DB_SERVICES = {"sticker_db", "search_db"}
# Redis and the bulk-indexing Celery worker (search_service's image with another command; docs/scale.md).
SCALE_SERVICES = {"redis", "index_worker"}
SEARCH_DIR_IN_REPO = REPO / "search_service"

_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_ENV_LINE = re.compile(r"^(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


# --- helpers ----------------------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    """The variables .env.example sets (active ``NAME=value`` lines)."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if (match := _ENV_LINE.match(line.strip())) and not match["comment"]:
            values[match["name"]] = match["value"].strip()
    return values


def env_example_documented() -> set[str]:
    """Set variables plus documented-only ones (``# NAME=value``: a computed default, uncomment to set)."""
    return {m["name"] for line in ENV_EXAMPLE.read_text().splitlines() if (m := _ENV_LINE.match(line.strip()))}


def variables_in(text: str) -> set[str]:
    text = text.replace("$$", "")  # "$$" is compose's escaped literal "$"
    return {m["braced"] or m["bare"] for m in _VAR.finditer(text)}


def interpolate(text: str, values: dict[str, str]) -> str:
    """compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err} and $VAR against ``values``."""

    def substitute(match: re.Match) -> str:
        name = match["braced"] or match["bare"]
        value = values.get(name)
        op = match["op"] or ""
        if op.endswith("-") and (value is None or (op == ":-" and value == "")):
            return match["arg"]
        if op.endswith("?") and (value is None or (op == ":?" and value == "")):
            raise AssertionError(f"compose would stop: {name} is required ({match['arg']})")
        return value or ""

    parts = text.split("$$")
    return "$".join(_VAR.sub(substitute, part) for part in parts)


def walk_strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from walk_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_strings(item)
    elif isinstance(node, str):
        yield node


def render(node, values: dict[str, str]):
    if isinstance(node, dict):
        return {key: render(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [render(item, values) for item in node]
    if isinstance(node, str):
        return interpolate(node, values)
    return node


def as_mapping(entries) -> dict[str, str]:
    """compose's `environment:` as a dict (it may be a mapping or a list of NAME=value)."""
    if isinstance(entries, dict):
        return {key: "" if value is None else str(value) for key, value in entries.items()}
    return dict(entry.split("=", 1) for entry in entries or [])


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose(raw_compose) -> dict:
    """docker-compose.yml as compose sees it when .env is a copy of .env.example."""
    return render(raw_compose, env_example())


def container_env(compose: dict, service: str) -> dict[str, str]:
    """The environment of a service's container: its env_file (.env = .env.example) under `environment:`."""
    spec = compose["services"][service]
    env_files = spec.get("env_file") or []
    env_files = [env_files] if isinstance(env_files, str | dict) else env_files
    assert [f if isinstance(f, str) else f["path"] for f in env_files] == [".env"], (
        f"{service} must read its settings from .env (env_file: .env)"
    )
    return {**env_example(), **as_mapping(spec.get("environment"))}


def gunicorn_bind(service: str, env: dict[str, str]) -> tuple[str, int]:
    """Evaluates the service's gunicorn.conf.py in the container's environment."""
    code = f"import runpy; print(runpy.run_path('{service}/gunicorn.conf.py')['bind'])"
    bind = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    host, _, port = bind.rpartition(":")
    return host, int(port)


def published_container_ports(spec: dict) -> set[int]:
    ports = set()
    for entry in spec.get("ports", []):
        ports.add(int(entry["target"]) if isinstance(entry, dict) else int(str(entry).rsplit(":", 1)[-1]))
    return ports


def healthcheck_url_port(spec: dict) -> int:
    test = spec["healthcheck"]["test"]
    urls = [part for part in (test if isinstance(test, list) else test.split()) if part.startswith("http")]
    assert len(urls) == 1, f"healthcheck should probe one URL: {test}"
    return urlsplit(urls[0]).port


def aliases(spec: dict) -> set[str]:
    names = set()
    networks = spec.get("networks") or {}
    for network in networks.values() if isinstance(networks, dict) else []:
        names.update((network or {}).get("aliases", []))
    if spec.get("hostname"):
        names.add(spec["hostname"])
    return names


# --- .env.example and compose variables -------------------------------------------------------------


def test_every_compose_variable_is_defined_in_env_example(raw_compose):
    used = set()
    for text in walk_strings(raw_compose):
        used |= variables_in(text)
    assert {"STICKER_PORT", "SEARCH_PORT", "STICKER_DB_PASSWORD"} <= used  # the scan itself works
    missing = sorted(used - env_example().keys())
    assert not missing, f"docker-compose.yml uses variables .env.example does not define: {missing}"


def test_every_app_service_reads_env_file_and_builds_from_repo_root(compose):
    for service in APP_SERVICES:
        spec = compose["services"][service]
        container_env(compose, service)  # asserts env_file: .env
        assert spec["build"]["context"] == "."
        assert (REPO / spec["build"]["dockerfile"]) == REPO / service / "Dockerfile"
        assert (REPO / service / "Dockerfile").is_file()


# --- services, healthchecks, dependencies, volumes --------------------------------------------------


def test_compose_has_the_services_each_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) == set(APP_SERVICES) | DB_SERVICES | SCALE_SERVICES
    for name, spec in services.items():
        test = (spec.get("healthcheck") or {}).get("test")
        assert test and test != ["NONE"], f"{name} has no healthcheck"
        assert not spec["healthcheck"].get("disable"), name
    for name in DB_SERVICES:
        assert services[name]["image"].startswith("pgvector/pgvector:"), name
        assert "pg_isready" in " ".join(services[name]["healthcheck"]["test"])


def test_depends_on_waits_for_healthy_services(compose):
    services = compose["services"]
    for name, spec in services.items():
        depends_on = spec.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions (mapping form)"
        for dependency, condition in depends_on.items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert condition.get("condition") == "service_healthy", f"{name} -> {dependency}"
            assert services[dependency].get("healthcheck"), f"{dependency} has no healthcheck to wait for"
    assert set(services["sticker_service"]["depends_on"]) == {"sticker_db", "search_service"}
    assert set(services["search_service"]["depends_on"]) == {"search_db"}


def test_databases_and_media_live_on_named_volumes(compose):
    declared = set(compose.get("volumes") or {})

    def named_mounts(spec) -> dict[str, str]:
        mounts = {}
        for entry in spec.get("volumes", []):
            source, target = (entry["source"], entry["target"]) if isinstance(entry, dict) else entry.split(":")[:2]
            if not source.startswith((".", "/")):
                assert source in declared, f"volume {source} is not declared under top-level volumes:"
                mounts[target] = source
        return mounts

    for name in DB_SERVICES:
        assert "/var/lib/postgresql/data" in named_mounts(compose["services"][name]), name
    search = compose["services"]["search_service"]
    media_root = container_env(compose, "search_service")["SEARCH_MEDIA_ROOT"]
    assert media_root in named_mounts(search), "SEARCH_MEDIA_ROOT must be on the shared media volume"
    assert "/data/cache" in named_mounts(search), "the model cache (XDG_CACHE_HOME) must be a volume"
    assert "XDG_CACHE_HOME=/data/cache" in (REPO / "search_service" / "Dockerfile").read_text()


def test_database_urls_point_at_the_compose_databases(compose):
    services = compose["services"]
    for service, prefix in APP_SERVICES.items():
        url = container_env(compose, service)[f"{prefix}_DATABASE_URL"]
        config = environ.Env.db_url_config(url)
        host = config["HOST"]
        assert host in DB_SERVICES, f"{service}: {prefix}_DATABASE_URL host {host!r} is not a compose database"
        db = as_mapping(services[host]["environment"])
        assert config["ENGINE"] == "django.db.backends.postgresql"
        assert (config["NAME"], config["USER"], config["PASSWORD"], int(config["PORT"] or 5432)) == (
            db["POSTGRES_DB"],
            db["POSTGRES_USER"],
            db["POSTGRES_PASSWORD"],
            5432,
        )
        assert host in services[service]["depends_on"]
    # one database server per service
    hosts = {
        environ.Env.db_url_config(container_env(compose, s)[f"{p}_DATABASE_URL"])["HOST"]
        for s, p in APP_SERVICES.items()
    }
    assert len(hosts) == 2


# --- ports and host names against gunicorn and the settings -----------------------------------------


def test_ports_agree_with_gunicorn_bind_and_healthchecks(compose):
    for service in APP_SERVICES:
        spec = compose["services"][service]
        host, port = gunicorn_bind(service, container_env(compose, service))
        # all interfaces inside its container, so that other containers and the port mapping reach it
        assert host == "0.0.0.0", service  # noqa: S104
        assert healthcheck_url_port(spec) == port, service
        assert published_container_ports(spec) == {port}, service
        assert f"EXPOSE {port}" in (REPO / service / "Dockerfile").read_text(), service
    sticker_port = gunicorn_bind("sticker_service", container_env(compose, "sticker_service"))[1]
    assert sticker_port == 8000
    # search_service is internal: published on the host's loopback only (or not at all)
    for entry in compose["services"]["search_service"].get("ports", []):
        assert str(entry).startswith("127.0.0.1:"), entry


def test_sticker_service_reaches_search_service_by_its_compose_name(compose):
    services = compose["services"]
    url = urlsplit(container_env(compose, "sticker_service")["SEARCH_SERVICE_URL"])
    search = services["search_service"]
    assert url.hostname in {"search_service"} | aliases(search), f"{url.hostname} is not search_service"
    search_env = container_env(compose, "search_service")
    assert url.port == gunicorn_bind("search_service", search_env)[1]
    # Django must accept the Host header sticker_service sends ("_" is not allowed in host names).
    assert host_validation_re.fullmatch(url.netloc.lower()), f"Django rejects Host {url.netloc!r}"
    allowed = environ.Env.parse_value(search_env["ALLOWED_HOSTS"], list)
    assert url.hostname in allowed or "*" in allowed, f"search_service ALLOWED_HOSTS lacks {url.hostname}"


# --- Dockerfiles ------------------------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    instructions, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            keyword, _, args = current.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
            current = ""
    return instructions


def dockerignored() -> set[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return {line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")}


class Image:
    """What a Dockerfile puts where: container paths mapped back to repository paths."""

    def __init__(self, service: str):
        self.service = service
        self.instructions = dockerfile_instructions(REPO / service / "Dockerfile")
        self.copies: list[tuple[PurePosixPath, Path]] = []
        workdir = PurePosixPath("/")
        for keyword, args in self.instructions:
            if keyword == "WORKDIR":
                workdir = workdir / args
            elif keyword == "COPY":
                parts = [p for p in shlex.split(args) if not p.startswith("--")]
                assert "--from" not in args, "multi-stage COPY --from is not modelled by this test"
                *sources, dest = parts
                for source in sources:
                    dest_path = workdir / dest if not dest.startswith("/") else PurePosixPath(dest)
                    if not dest.endswith("/") or source.endswith("/"):
                        self.copies.append((dest_path, REPO / source))
                    else:
                        self.copies.append((dest_path / PurePosixPath(source).name, REPO / source))
        self.workdir = workdir

    def last(self, keyword: str) -> str:
        values = [args for key, args in self.instructions if key == keyword]
        assert values, f"{self.service}/Dockerfile has no {keyword}"
        return values[-1]

    def repo_path(self, container_path: str) -> Path:
        path = PurePosixPath(container_path)
        if not path.is_absolute():
            path = self.workdir / path
        for dest, source in reversed(self.copies):
            if path == dest or dest in path.parents:
                return source / path.relative_to(dest)
        raise AssertionError(f"{self.service}: nothing in the image is copied to {container_path}")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_dockerfile_copies_existing_files_and_runs_existing_commands(service):
    image = Image(service)
    assert image.last("FROM") == "python:3.11-slim"
    assert image.last("USER") not in {"root", "0", "0:0"}
    ignored = dockerignored()
    for _dest, source in image.copies:
        assert source.exists(), f"{service}/Dockerfile copies {source.relative_to(REPO)}, which does not exist"
        assert source.relative_to(REPO).parts[0] not in ignored, f"{source} is excluded by .dockerignore"
    run_lines = " ".join(args for key, args in image.instructions if key == "RUN")
    assert f"pip install -r requirements/{service.split('_')[0]}.txt" in run_lines or (
        f"-r requirements/{service.split('_')[0]}.txt" in run_lines
    )
    assert image.repo_path("servicekit") == REPO / "servicekit"

    entrypoint = json.loads(image.last("ENTRYPOINT"))
    script = image.repo_path(entrypoint[0])
    assert script.is_file(), script
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    subprocess.run(["sh", "-n", str(script)], check=True)
    assert "migrate --noinput" in script.read_text()
    code = "\n".join(line for line in script.read_text().splitlines() if not line.lstrip().startswith("#"))
    for command in re.findall(r"python -m \S+ (\w+)", code):
        assert command in {"migrate", "check"} or list(REPO.glob(f"*/*/management/commands/{command}.py")), (
            f"the entrypoint runs a management command that does not exist: {command}"
        )
    assert script.read_text().rstrip().endswith('exec "$@"')
    # Demo stickers only into an empty index: never --reindex (or plain re-indexing) at every start.
    for line in re.findall(r"python -m search_service index_images(?:\\\n|[^\n])*", code):
        assert "--if-empty" in line and "--reindex" not in line, line

    command = json.loads(image.last("CMD"))
    assert command == ["gunicorn", "-c", f"{service}/gunicorn.conf.py", f"{service}.config.wsgi"]
    assert image.repo_path(service) == REPO / service  # the working directory holds the repository's layout
    assert image.repo_path(f"{service}/gunicorn.conf.py").is_file()
    assert image.repo_path(f"{service}/config/wsgi.py").is_file()
    assert image.repo_path(f"{service}/__main__.py").is_file()


def test_compose_healthchecks_run_a_script_the_images_contain(compose):
    for service in APP_SERVICES:
        test = compose["services"][service]["healthcheck"]["test"]
        scripts = [part for part in test if part.endswith(".py")]
        assert scripts, test
        assert Image(service).repo_path(scripts[0]).is_file()


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    assert {".venv", ".data", ".env", ".git"} <= dockerignored()


def test_dockerignore_keeps_tests_and_the_test_kit_out_of_the_images():
    assert {"testkit", "tests", "**/tests", "**/conftest.py"} <= dockerignored()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_build_time_collectstatic_loads_the_settings(service, tmp_path):
    """Runs the Dockerfile's collectstatic step (dry run) with only the environment it sets."""
    image = Image(service)
    steps = [args for key, args in image.instructions if key == "RUN" and "collectstatic" in args]
    assert len(steps) == 1
    words = shlex.split(steps[0])
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[:3] == ["python", "-m", service]
    env[f"{APP_SERVICES[service]}_STATIC_ROOT"] = str(tmp_path / "static")
    result = subprocess.run(
        [sys.executable, *words[1:], "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


# --- healthcheck script -----------------------------------------------------------------------------


def load_healthcheck():
    namespace: dict = {}
    code = (REPO / "docker" / "healthcheck.py").read_text()
    exec(compile(code, "healthcheck.py", "exec"), namespace)  # noqa: S102 - our own file, not a module
    return namespace


def test_healthcheck_probe_passes_host_validation_and_ssl_redirect(monkeypatch):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.headers["Host"], self.headers["X-Forwarded-Proto"]))
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        check = load_healthcheck()["check"]
        base = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("ALLOWED_HOSTS", "*.internal, .stickers.example.com,other.example.com")
        assert check(f"{base}/healthz") == 0
        assert seen[-1] == ("stickers.example.com", "https")
        assert check(f"{base}/broken") == 1
        monkeypatch.delenv("ALLOWED_HOSTS")
        assert check(f"{base}/healthz") == 0
        assert seen[-1][0] == "localhost"
    finally:
        server.shutdown()
        server.server_close()
    assert check(f"{base}/healthz", timeout=2) == 1  # nothing listens any more


def test_healthcheck_probe_passes_real_host_validation_and_ssl_redirect(live_server, settings, monkeypatch):
    """Against the real sticker_service: production-like ALLOWED_HOSTS and HTTPS redirect."""
    settings.ALLOWED_HOSTS = ["stickers.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    url = f"{live_server.url}/healthz"
    with pytest.raises(urllib.error.HTTPError) as plain:  # what a naive probe would get
        urllib.request.urlopen(url, timeout=5)
    assert plain.value.code in {301, 400}
    monkeypatch.setenv("ALLOWED_HOSTS", "stickers.example.com")
    assert load_healthcheck()["check"](url) == 0


# --- settings audit: every variable the code reads is in .env.example -------------------------------

SETTINGS_FILES = [
    REPO / "servicekit" / "settings.py",
    *sorted(REPO.glob("*/config/settings.py")),
    *sorted(REPO.glob("*/gunicorn.conf.py")),
]

_RECORDER = r"""
import json, os, sys
from pathlib import Path
import environ

installed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
read = set()

class Recorder(dict):
    # os.environ for django-environ, noting the names our own code (not a library) asks for
    def _note(self, key):
        frame = sys._getframe(2)
        while frame and ("/environ/" in frame.f_code.co_filename):
            frame = frame.f_back
        path = Path(frame.f_code.co_filename).resolve() if frame else None
        if path and not path.name.startswith("<") and not installed & set(path.parents) and not (
                {"site-packages", "dist-packages"} & set(path.parts)):
            read.add(key)
    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)
    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)
    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

environ.Env.ENVIRON = Recorder(os.environ)
import importlib
importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
print(json.dumps(sorted(read)))
"""


def names_read_statically(path: Path) -> set[str]:
    """Literal names in env.<type>("NAME"), env("NAME"), os.environ.get/os.getenv/os.environ["NAME"]."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        target = None
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = ast.unparse(node.func)
            if re.fullmatch(r"env(\.\w+)?|os\.environ\.get|os\.getenv", func):
                target = node.args[0].value
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            if isinstance(node.slice, ast.Constant):
                target = node.slice.value
        if isinstance(target, str):
            names.add(target)
    return names


def names_read_at_import(service: str) -> set[str]:
    """Every variable the settings module actually asks for when it loads (f-string names included)."""
    env = {"PATH": "/usr/bin:/bin", **env_example(), "DJANGO_SETTINGS_MODULE": f"{service}.config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", _RECORDER], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def names_in_entrypoint() -> set[str]:
    return variables_in((REPO / "docker" / "entrypoint.sh").read_text())


def test_every_variable_the_settings_read_is_in_env_example():
    static = set().union(*(names_read_statically(path) for path in SETTINGS_FILES))
    dynamic = names_read_at_import("sticker_service") | names_read_at_import("search_service")
    read = static | dynamic | names_in_entrypoint()
    # the scans work: literal names, f-string names built by servicekit, gunicorn's os.environ reads
    assert {"SEARCH_SERVICE_URL", "DJANGO_DEBUG", "STICKER_WORKERS", "MIGRATE_ON_START"} <= read
    assert {"STICKER_SECRET_KEY", "SEARCH_DATABASE_URL", "SEARCH_STATIC_ROOT"} <= dynamic
    missing = sorted(read - env_example_documented())
    assert not missing, f"settings read variables that .env.example does not list: {missing}"


def test_index_worker_runs_the_celery_app_on_search_services_database_media_and_import_folder(compose):
    services = compose["services"]
    worker, search = services["index_worker"], services["search_service"]
    assert worker["build"] == search["build"]
    command = worker["command"]
    assert command[:4] == ["celery", "-A", "search_service.config.celery", "worker"]
    assert (SEARCH_DIR_IN_REPO / "config" / "celery.py").is_file()
    worker_env, search_env = as_mapping(worker["environment"]), as_mapping(search["environment"])
    assert worker_env["SEARCH_DATABASE_URL"] == search_env["SEARCH_DATABASE_URL"]
    assert worker_env["SEARCH_CELERY_BROKER_URL"] == search_env["SEARCH_CELERY_BROKER_URL"]
    assert urlsplit(worker_env["SEARCH_CELERY_BROKER_URL"]).hostname == "redis"
    assert command[command.index("-Q") + 1] == env_example()["SEARCH_CELERY_QUEUE"]
    mounts = {volume.split(":")[1] for volume in worker["volumes"]}
    assert {"/data/media/stickers", "/data/import"} <= mounts
    assert {volume.split(":")[1] for volume in search["volumes"]} >= {"/data/import"}
    assert set(worker["depends_on"]) == {"search_db", "redis", "search_service"}
