"""docker-compose.yml for real (issue 24): both Dockerfiles built and the whole stack run with podman and
podman-compose, from a clean copy of the repository with a production-like .env (DJANGO_DEBUG=false, random
secrets). Where no image registry is reachable the base images are the Debian stand-ins of tools/container_base.sh
(run first; it also sets the host up). Every step of issue 24's item 3, in order, each a test:

build -> up until every healthcheck passes -> the Postman collection against sticker_service -> votes -> down, up:
votes and index still there -> index a folder through the index worker (index_images --queue) with a second
worker beside the first -> stop search_service: public search 503 JSON, feedback still works -> down -v.

Root only (podman, debootstrap): `make test` runs it last when root, and skips it otherwise except with CI=true,
where it fails (as the browser test does); `make test-containers` runs it alone. Timings are printed at the end
(no goal is asserted here). podman-compose ignores depends_on's service_healthy: the entrypoint waits for the
database, and this test polls `podman healthcheck run` (podman 4.3 runs healthchecks only from systemd timers).
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from testkit import REPO, env_example, postman
from testkit.gunicorn import free_port
from testkit.live_search import write_sticker_images
from testkit.live_sticker import PUBLIC_MEDIA_URL

pytestmark = pytest.mark.containers
if os.geteuid() != 0 and os.environ.get("CI") != "true":
    pytest.skip(
        "needs root (podman, debootstrap): run make test or make test-containers as root", allow_module_level=True
    )

PROJECT = "sticker-search-systest"  # compose project: its own containers, network and volumes
HEALTH_TIMEOUT = 900.0  # first start: migrations, model load, 1847 demo stickers indexed, on 2 shared cores
TIMINGS: dict[str, float] = {}
QUERY = "cat"  # searched, then voted on: the votes must survive down/up
CLIENT = "compose-stack-test"
LOCAL_INDEX_PORT = 18765
BROKER_ATTEMPTS = 5  # celery_inspect: tries while the broker's name does not resolve (getaddrinfo's two messages)
UNRESOLVED = ("Name or service not known", "Temporary failure in name resolution")
IMPORTED = [(f"imported-{i}.png", f"imported sticker {i}", ["imported"]) for i in range(12)]


def run(*command: str, cwd: Path | None = None, timeout: float = 3600, check: bool = True) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode:
        raise AssertionError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


def timed(name: str, started: float) -> None:
    TIMINGS[name] = time.monotonic() - started
    print(f"[compose stack] {name}: {TIMINGS[name]:.0f} s", file=sys.stderr)


def clean_copy(dest: Path) -> Path:
    """The repository's files as git sees them (tracked or new, not ignored), from the working tree: a clean
    checkout of what would be committed, without .env, .venv or .data."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def production_env(sticker_port: int, search_port: int) -> dict[str, str]:
    """.env.example's values with DJANGO_DEBUG=false, random secrets and free ports."""
    values = env_example.values()

    def token(length: int = 32) -> str:
        return secrets.token_urlsafe(length)[:length].replace("-", "x").replace("_", "y")

    values.update(
        DJANGO_DEBUG="false",
        ALLOWED_HOSTS="localhost,127.0.0.1",
        STICKER_PORT=str(sticker_port),
        SEARCH_PORT=str(search_port),
        STICKER_SECRET_KEY=token(50),
        SEARCH_SECRET_KEY=token(50),
        SEARCH_SERVICE_TOKEN=token(),
        ADMIN_PASSWORD=token(),
        ADMIN_TOKEN=token(40),
        STICKER_DB_PASSWORD=token(),
        SEARCH_DB_PASSWORD=token(),
        # With DEBUG off an internal (loopback/private) media address is refused (issue 23 item 9): the public URL a
        # bucket/CDN would serve; the test reads filenames, not images.
        STICKER_MEDIA_URL=PUBLIC_MEDIA_URL,
    )
    return values


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # pip asks for every package; 404s are expected
        pass


def local_torch_index() -> str | None:
    """A pip index on this machine's disk that holds the pinned torch (pip's extra-index-url file:// folders), served
    over HTTP for the search_service build (TORCH_INDEX_URL) where the PyTorch index is unreachable; None = the
    Dockerfile's default index."""
    config = run(sys.executable, "-m", "pip", "config", "list", check=False)
    for folder in re.findall(r"file://(/[^\s'\"]+)", config):
        root = Path(folder)
        if (root / "torch").is_dir() and (root.parent / "files").is_dir():
            handler = functools.partial(QuietHandler, directory=str(root.parent))
            try:  # a fixed port keeps the build argument, hence podman's cached dependency layer, the same
                server = ThreadingHTTPServer(("127.0.0.1", LOCAL_INDEX_PORT), handler)
            except OSError:
                server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            return f"http://127.0.0.1:{server.server_port}/{root.name}/"
    return None


class Stack:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.url = f"http://127.0.0.1:{env['STICKER_PORT']}"
        self.search_url = f"http://127.0.0.1:{env['SEARCH_PORT']}"
        self.compose_bin = str(Path(sys.executable).parent / "podman-compose")

    def compose(self, *args: str, timeout: float = 3600) -> str:
        return run(self.compose_bin, "-p", PROJECT, *args, cwd=self.workdir, timeout=timeout)

    def container(self, service: str, index: int = 1) -> str:
        return f"{PROJECT}_{service}_{index}"

    def containers(self) -> list[str]:
        return run(
            "podman", "ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format", "{{.Names}}"
        ).split()

    def wait_healthy(self, containers: list[str]) -> None:
        """Polls each container's healthcheck (`podman healthcheck run`) until all pass; fails at once, with its
        log, when one restarted more than 3 times."""
        pending, deadline = set(containers), time.monotonic() + HEALTH_TIMEOUT
        while pending:
            for name in sorted(pending):
                if subprocess.run(["podman", "healthcheck", "run", name], capture_output=True).returncode == 0:
                    pending.discard(name)
                    continue
                if int(run("podman", "inspect", "--format", "{{.RestartCount}}", name)) > 3:
                    pytest.fail(f"{name} keeps exiting:\n{run('podman', 'logs', '--tail', '60', name, check=False)}")
            if time.monotonic() > deadline:
                logs = {name: run("podman", "logs", "--tail", "30", name, check=False) for name in pending}
                pytest.fail(f"not healthy after {HEALTH_TIMEOUT:.0f} s: {sorted(pending)}\n{logs}")
            time.sleep(5)

    def celery_inspect(self, container: str, *args: str) -> str:
        """`celery inspect` run in a worker's container. Retried while the broker's name does not resolve: podman's
        aardvark-dns drops queries while it reloads its configuration, which it does whenever a container joins
        the network (containers/aardvark-dns#389), and the CI run of 2026-12-06 failed on one such query right
        after the second worker started. A worker itself reconnects; this one-shot command does not."""
        command = ["podman", "exec", container, "celery", "-A", "search_service.config.celery", "inspect", *args]
        for tries in range(1, BROKER_ATTEMPTS + 1):
            done = subprocess.run([*command, "--timeout", "10"], capture_output=True, text=True, timeout=120)
            unresolved = any(error in done.stdout + done.stderr for error in UNRESOLVED)
            if done.returncode == 0 or not unresolved or tries == BROKER_ATTEMPTS:
                break
            time.sleep(5)
        if done.returncode:
            raise AssertionError(f"{' '.join(command)} exited {done.returncode} (try {tries}):\n{done.stdout[-3000:]}"
                                 f"\n{done.stderr[-3000:]}")  # fmt: skip
        return done.stdout

    def healthchecked(self) -> list[str]:
        return [name for name in self.containers() if "_db_" in name or "_redis_" in name or "_service_" in name]

    def up(self, label: str) -> None:
        started = time.monotonic()
        self.compose("up", "-d")
        # podman-compose runs each container with --requires (its depends_on); a run that found a dependency
        # restarting leaves its container created but not started.
        for name in self.containers():
            if run("podman", "inspect", "--format", "{{.State.Status}}", name).strip() == "created":
                run("podman", "start", name)
        self.wait_healthy([*self.healthchecked(), self.container("index_worker")])
        timed(label, started)

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.env['ADMIN_TOKEN']}"}

    def catalogue_count(self) -> int:
        response = requests.get(
            f"{self.search_url}/api/images/",
            headers={"Authorization": f"Bearer {self.env['SEARCH_SERVICE_TOKEN']}"},
            params={"page_size": 1},
            timeout=30,
        )
        assert response.status_code == 200, response.text[:300]
        return response.json()["count"]

    def votes(self) -> list[dict]:
        response = requests.get(f"{self.url}/api/analytics/", params={"query": QUERY}, headers=self.admin(), timeout=30)
        assert response.status_code == 200, response.text[:300]
        return response.json()["stickers"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    started = time.monotonic()
    subprocess.run([str(REPO / "tools" / "container_base.sh")], check=True, timeout=3600)
    timed("base images (tools/container_base.sh)", started)
    workdir = clean_copy(tmp_path_factory.mktemp("compose") / "sticker-search")
    env = production_env(free_port(), free_port())
    (workdir / ".env").write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    stack = Stack(workdir, env)
    stack.compose("down", "-v")  # leftovers of an interrupted run
    try:
        yield stack
    finally:
        for name in stack.containers():  # containers compose does not know of (the second worker)
            run("podman", "rm", "-f", "-t", "10", name, check=False)
        stack.compose("down", "-v")
        assert not stack.containers()
        timed("whole test (base images to down -v)", started)
        print(f"[compose stack] timings (s): {json.dumps({k: round(v) for k, v in TIMINGS.items()})}", file=sys.stderr)


def test_build(stack):
    """Both Dockerfiles, unchanged compose file; search_service's torch from a local index where one is configured."""
    index = local_torch_index()
    started = time.monotonic()
    stack.compose(
        "--podman-build-args",
        "--network host",
        "build",
        *(["--build-arg", f"TORCH_INDEX_URL={index}"] if index else []),
    )
    timed("build (both services and the worker)", started)
    for service in ("search_service", "sticker_service", "index_worker"):
        user = run("podman", "image", "inspect", "--format", "{{.Config.User}}", f"{PROJECT}_{service}").strip()
        assert user == "app", f"{service} runs as {user!r}"
        size = run("podman", "image", "inspect", "--format", "{{.Size}}", f"{PROJECT}_{service}").strip()
        print(f"[compose stack] image {service}: {int(size) / 1e6:.0f} MB", file=sys.stderr)


def test_first_up_gets_healthy_with_demo_stickers(stack):
    stack.up("first up to healthy (migrations, demo stickers)")
    assert stack.catalogue_count() == len(list((REPO / "search_service" / "demo_stickers").glob("*.png")))
    ready = requests.get(f"{stack.url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ok", ready.text


def test_postman_collection_runs_against_the_stack(stack):
    session = requests.Session()

    def send(method: str, path: str, body: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        response = session.request(
            method,
            stack.url + path,
            data=body or None,
            timeout=30,
            headers={"Content-Type": "application/json", **headers},
        )
        return response.status_code, response.headers.get("Content-Type", ""), response.content

    openapi = session.get(f"{stack.url}/api/schema/", headers={"Accept": "application/json"}, timeout=30).json()
    values = {**postman.variables(postman.load_collection()), "adminToken": stack.env["ADMIN_TOKEN"]}
    assert postman.run_collection(send, openapi, values) >= 20


def test_votes_and_index_survive_down_and_up(stack):
    found = requests.get(f"{stack.url}/api/search/", params={"query": QUERY, "client_id": CLIENT}, timeout=30)
    assert found.status_code == 200, found.text[:300]
    top = [item["filename"] for item in found.json()["stickers"][:2]]
    vote = {"client_id": CLIENT, "feedback": [{"query": QUERY, "positive": [top[0]], "negative": [top[1]]}]}
    assert requests.post(f"{stack.url}/api/feedback/", json=vote, timeout=30).status_code == 200
    votes, count = stack.votes(), stack.catalogue_count()
    assert any(item["filename"] == top[0] and item["clients_positive"] >= 1 for item in votes), votes

    stack.compose("down")
    assert not stack.containers()
    stack.up("second up to healthy (volumes kept)")
    assert stack.votes() == votes
    assert stack.catalogue_count() == count


def test_index_worker_indexes_a_folder_with_two_workers(stack, tmp_path):
    # A second worker: podman-compose parses --scale but ignores it, so the second instance is a `compose run` of the
    # same service definition (image, volumes, environment, command).
    second = stack.container("index_worker", 2)
    stack.compose("run", "-d", "--no-deps", "--name", second, "index_worker")
    stack.wait_healthy([second])
    pings = stack.celery_inspect(stack.container("index_worker"), "ping")
    assert pings.count("pong") == 2, pings

    folder = tmp_path / "batch"
    write_sticker_images(folder, IMPORTED).rename(folder / "metadata.json")  # written beside the folder: into it
    run("podman", "cp", str(folder), f"{stack.container('search_service')}:/data/import/")
    before = stack.catalogue_count()
    started = time.monotonic()
    run("podman", "exec", stack.container("search_service"), "python", "-m", "search_service", "index_images",
        "/data/import/batch", "--queue", "--batch-size", "1", "--metadata", "/data/import/batch/metadata.json",
        "--no-progress")  # fmt: skip
    timed(f"index_images --queue, {len(IMPORTED)} images in batches of 1, 2 workers", started)
    assert stack.catalogue_count() == before + len(IMPORTED)
    stats = json.loads(stack.celery_inspect(second, "stats", "--json"))
    done = {worker: sum(info.get("total", {}).values()) for worker, info in stats.items()}
    assert len(done) == 2 and all(done.values()), f"both workers should have embedded batches: {done}"


def test_search_service_down_public_search_503_feedback_works(stack):
    run("podman", "stop", "-t", "15", stack.container("search_service"))
    found = requests.get(f"{stack.url}/api/search/", params={"query": QUERY, "client_id": CLIENT}, timeout=30)
    assert found.status_code == 503, found.text[:300]
    assert found.headers["Content-Type"].startswith("application/json")
    assert set(found.json()["error"]) == {"code", "message", "details"}
    vote = {"client_id": CLIENT, "feedback": [{"query": QUERY, "positive": [stack.votes()[0]["filename"]]}]}
    assert requests.post(f"{stack.url}/api/feedback/", json=vote, timeout=30).status_code == 200
    ready = requests.get(f"{stack.url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
