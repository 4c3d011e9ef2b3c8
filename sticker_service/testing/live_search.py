"""The real search_service as a separate process, for integration tests and benchmarks.

It never imports search_service's code: it runs its ``manage.py`` and gunicorn as subprocesses, the way
``make run`` does, against a throwaway database on the search database server.

What :class:`LiveSearchService` does (``start()`` = ``prepare()`` + ``serve()``):

1. creates a uniquely named database on the server of ``SEARCH_DATABASE_URL`` (pgvector available there),
2. ``manage.py migrate``,
3. writes ``images`` small PNGs and a metadata JSON ``{"<filename>": {"title", "tags"}}`` (override with
   ``stickers=[(filename, title, tags), ...]``), then ``manage.py index_images DIR --metadata FILE``,
4. starts ``gunicorn -c gunicorn.conf.py config.wsgi`` in ``search_service/`` on ``127.0.0.1:<free port>``
   with ``SEARCH_SERVICE_TOKEN`` set, and waits for ``/readyz``.

``stop()`` / ``kill()`` end gunicorn (SIGTERM / SIGKILL, e.g. to test an outage) and ``serve()`` starts it
again on the same port; ``close()`` stops it, drops the database and removes the work folder.

Model: ``SEARCH_MODEL_NAME`` / ``SEARCH_MODEL_PRETRAINED`` from ``model_env``; by default an open_clip
ViT-B-32 with seeded random weights saved to a checkpoint file in the work folder (nothing is downloaded).
Pass ``model_env={}`` to use search_service's own default model instead.

Usage in pytest: the session fixture ``live_search_service`` (sticker_service/conftest.py) yields a started
instance, and ``use_live_search_service`` points sticker_service's settings at it. By hand::

    cd sticker_service && ../.venv/bin/python -m testing.live_search   # prints the URL, Ctrl-C stops it

Environment: ``SEARCH_DATABASE_URL`` (required: its server hosts the throwaway database),
``SEARCH_DATABASE_TEST_NAME`` (prefix of the database name, default ``test_search``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

REPO = Path(__file__).resolve().parents[2]
SEARCH_DIR = REPO / "search_service"
TEST_MODEL = "ViT-B-32"

# Titles and tags of the generated stickers (filename -> title, tags); shapes/colours differ per image.
DEFAULT_STICKERS: list[tuple[str, str, list[str]]] = [
    ("cat.png", "grinning cat", ["cat", "animal", "smile"]),
    ("dog.png", "happy dog", ["dog", "animal"]),
    ("tree.png", "green tree in a park", ["tree", "park", "nature"]),
    ("pizza.png", "pizza slice", ["food", "pizza"]),
    ("rocket.png", "rocket launch", ["space", "rocket"]),
    ("heart.png", "red heart", ["love", "heart"]),
    ("sun.png", "smiling sun", ["weather", "sun"]),
    ("car.png", "red sports car", ["car", "vehicle"]),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_sql(url: str, statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the server's ``postgres`` database, outside a transaction."""
    import psycopg2

    connection = psycopg2.connect(_with_database(url, "postgres"), connect_timeout=5)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def write_random_checkpoint(path: Path, model: str = TEST_MODEL, seed: int = 0) -> Path:
    """An open_clip checkpoint of ``model`` with seeded random weights (pretrained=None), for tests."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    network = open_clip.create_model(model, pretrained=None)
    torch.save(network.state_dict(), path)
    return path


def write_sticker_images(folder: Path, stickers: list[tuple[str, str, list[str]]]) -> Path:
    """One small distinct PNG per sticker, plus ``metadata.json``; returns the metadata file's path."""
    import random

    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    colours = ["red", "green", "blue", "yellow", "purple", "orange", "black", "cyan", "magenta", "brown"]
    for index, (filename, _title, _tags) in enumerate(stickers):
        rng = random.Random(index)
        image = Image.new("RGB", (96, 96), "white")
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x0, y0 = rng.randrange(0, 48), rng.randrange(0, 48)
            x1, y1 = x0 + rng.randrange(24, 48), y0 + rng.randrange(24, 48)
            rng.choice([draw.ellipse, draw.rectangle])([x0, y0, x1, y1], fill=rng.choice(colours))
        image.save(folder / filename, format="PNG")
    metadata = folder.parent / "metadata.json"
    metadata.write_text(json.dumps({name: {"title": title, "tags": tags} for name, title, tags in stickers}),
                        encoding="utf-8")
    return metadata


class LiveSearchService:
    def __init__(self, *, stickers: list[tuple[str, str, list[str]]] | None = None, token: str | None = None,
                 model_env: dict[str, str] | None = None, extra_env: dict[str, str] | None = None,
                 workers: int = 1, threads: int = 4, database_url: str | None = None,
                 ready_timeout: float = 180.0) -> None:
        server_url = database_url or os.environ.get("SEARCH_DATABASE_URL", "")
        if not server_url:
            raise RuntimeError("SEARCH_DATABASE_URL must name the search database server (pgvector available).")
        prefix = os.environ.get("SEARCH_DATABASE_TEST_NAME") or "test_search"
        self.db_name = f"{prefix}_live_{os.getpid()}_{secrets.token_hex(3)}"
        self.database_url = _with_database(server_url, self.db_name)
        self.server_url = server_url
        self.stickers = list(stickers or DEFAULT_STICKERS)
        self.token = token if token is not None else secrets.token_urlsafe(24)
        self.workdir = Path(tempfile.mkdtemp(prefix="live-search-"))
        self.model_env = model_env
        self.extra_env = dict(extra_env or {})
        self.workers, self.threads = workers, threads
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self._db_created = False
        self._env: dict[str, str] | None = None

    # --- environment ---------------------------------------------------------------------------------
    @property
    def filenames(self) -> list[str]:
        return [name for name, _title, _tags in self.stickers]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def env(self) -> dict[str, str]:
        if self._env is None:
            if self.model_env is None:
                checkpoint = write_random_checkpoint(self.workdir / "vit-b-32-random.pt")
                self.model_env = {"SEARCH_MODEL_NAME": TEST_MODEL, "SEARCH_MODEL_PRETRAINED": str(checkpoint)}
            inherited = {key: value for key, value in os.environ.items()
                         if not key.startswith(("STICKER_", "SEARCH_", "DJANGO_", "PYTEST_"))}
            self._env = {
                **inherited,
                "DJANGO_DEBUG": "false",
                "SEARCH_SECRET_KEY": secrets.token_urlsafe(50),
                "SEARCH_DATABASE_URL": self.database_url,
                "SEARCH_SERVICE_TOKEN": self.token,
                "SEARCH_MEDIA_ROOT": str(self.workdir / "media"),
                "SEARCH_BIND": f"127.0.0.1:{self.port}",
                "SEARCH_WORKERS": str(self.workers),
                "SEARCH_THREADS": str(self.threads),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECURE_COOKIES": "false",
                "GUNICORN_ACCESS_LOG": "",
                "LOG_LEVEL": "WARNING",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                **self.model_env,
                **self.extra_env,
            }
        return self._env

    def manage(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *args], cwd=SEARCH_DIR, env=self.env(), capture_output=True, text=True,
            timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"search_service manage.py {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    # --- life cycle ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Database, migrations, images indexed."""
        _admin_sql(self.server_url, f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True
        self.manage("migrate", "--noinput", "-v0")
        metadata = write_sticker_images(self.workdir / "images", self.stickers)
        self.manage("index_images", str(self.workdir / "images"), "--metadata", str(metadata), "--no-progress")

    def serve(self) -> None:
        """Start gunicorn (again) on this instance's port and wait until /readyz says ready."""
        if self.process is not None and self.process.poll() is None:
            return
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn
            [str(gunicorn), "-c", "gunicorn.conf.py", "config.wsgi"], cwd=SEARCH_DIR, env=self.env(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"search_service exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/readyz", headers=self.headers(), timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"search_service not ready after {self.ready_timeout} s:\n{self.log_tail()}")

    def start(self) -> LiveSearchService:
        try:
            self.prepare()
            self.serve()
        except BaseException:
            self.close()
            raise
        return self

    def _signal(self, sig: int, wait: float) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)  # gunicorn's master and its workers (own session)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Graceful stop (SIGTERM to gunicorn's process group)."""
        self._signal(signal.SIGTERM, wait=20)

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as a crash would."""
        self._signal(signal.SIGKILL, wait=10)

    def close(self) -> None:
        self._signal(signal.SIGINT, wait=10)  # gunicorn's quick shutdown
        if self._db_created:
            try:
                _admin_sql(self.server_url, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            finally:
                self._db_created = False
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> LiveSearchService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def main() -> None:  # pragma: no cover - manual use
    with LiveSearchService() as service:
        print(f"search_service at {service.url} (token {service.token}); Ctrl-C stops it", flush=True)
        try:
            while service.process and service.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
