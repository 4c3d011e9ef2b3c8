"""The two Dockerfiles, .dockerignore and docker/healthcheck.py checked without Docker: every file an image copies
or runs exists, the entrypoint runs existing commands, the build-time collectstatic loads the settings, and the
compose healthcheck's probe passes host validation and the HTTPS redirect."""

from __future__ import annotations

import json
import re
import runpy
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from testkit import REPO
from tests.repository.deploy import APP_SERVICES, Image, dockerignored

pytestmark = pytest.mark.repository


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
    # It waits for the database (podman-compose starts every container at once) with a module the image has.
    assert "python -m docker.wait_for_db " in code
    assert image.repo_path("docker/wait_for_db.py").is_file()
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
    """docker/healthcheck.py's functions (a script the images run, not a module)."""
    return runpy.run_path(str(REPO / "docker" / "healthcheck.py"))


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
