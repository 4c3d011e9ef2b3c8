"""What the live-process test helpers share: a Django service of this repository run as its own gunicorn
process on a throwaway database, the way ``make run`` runs it (``manage.py`` and gunicorn as subprocesses;
no import of the service's code).

Subclasses (:class:`testing.live_search.LiveSearchService`, :class:`testing.live_sticker.LiveStickerService`)
say which folder, which environment (:meth:`env`), what :meth:`prepare` does and how readiness is probed.
"""

from __future__ import annotations

import contextlib
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
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(url: str, statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the server's ``postgres`` database, outside a transaction."""
    import psycopg2

    connection = psycopg2.connect(with_database(url, "postgres"), connect_timeout=5)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


class LiveDjangoService:
    name: str  # "search_service" / "sticker_service": the folder and the name in messages
    ready_path = "/healthz"
    poll_interval = 0.2

    def __init__(self, *, server_url: str, db_prefix: str, extra_env: dict[str, str] | None, workers: int,
                 threads: int, ready_timeout: float) -> None:
        self.server_url = server_url
        self.db_name = f"{db_prefix}_live_{os.getpid()}_{secrets.token_hex(3)}"
        self.database_url = with_database(server_url, self.db_name)
        self.extra_env = dict(extra_env or {})
        self.workers, self.threads = workers, threads
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"live-{self.name}-"))
        self.log_path = self.workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self._db_created = False
        self._env: dict[str, str] | None = None

    @property
    def service_dir(self) -> Path:
        return REPO / self.name

    # --- what subclasses say ---------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def ready_headers(self) -> dict[str, str]:
        return {}

    def prepare(self) -> None:
        """The database and its migrations; subclasses add their data."""
        self.create_database()
        self.manage("migrate", "--noinput", "-v0")

    # --- shared ------------------------------------------------------------------------------------------
    def create_database(self) -> None:
        admin_sql(self.server_url, f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True

    def manage(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *args], cwd=self.service_dir, env=self.env(), capture_output=True,
            text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{self.name} manage.py {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    def serve(self) -> None:
        """Start gunicorn (again) on this instance's port and wait until ``ready_path`` answers 200."""
        if self.process is not None and self.process.poll() is None:
            return
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn
            [str(gunicorn), "-c", "gunicorn.conf.py", "config.wsgi"], cwd=self.service_dir, env=self.env(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                response = requests.get(f"{self.url}{self.ready_path}", headers=self.ready_headers(), timeout=2)
                if response.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(self.poll_interval)
        raise RuntimeError(f"{self.name} not ready after {self.ready_timeout} s:\n{self.log_tail()}")

    def start(self) -> Self:
        try:
            self.prepare()
            self.serve()
        except BaseException:
            self.close()
            raise
        return self

    @property
    def pid(self) -> int | None:
        """gunicorn master's pid while it runs (a test can check the service was not restarted)."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

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
            with contextlib.suppress(Exception):  # the server may be gone already (its fixture closed it)
                admin_sql(self.server_url, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self._db_created = False
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
