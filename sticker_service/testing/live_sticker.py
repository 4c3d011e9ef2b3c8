"""sticker_service itself as a separate gunicorn process, for tests that need the real server (several
workers and threads, real sockets, real process restarts) rather than Django's test client.

Like :mod:`testing.live_search` it runs ``manage.py`` and gunicorn as subprocesses, the way ``make run``
does: ``prepare()`` creates a uniquely named database on the server of ``database_url`` (default
``STICKER_DATABASE_URL``), migrates it and creates the admin user with a random password and token
(``.admin_token``); ``serve()`` starts ``gunicorn -c gunicorn.conf.py config.wsgi`` on a free port and waits
for ``/healthz``. ``stop()``/``kill()``/``close()`` as in :class:`testing.live_search.LiveSearchService`.
Rate limits are off unless ``extra_env`` sets ``THROTTLE_RATE_*``. ``sql()`` reads its database directly.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from testing.live_search import REPO, _admin_sql, _with_database, free_port

STICKER_DIR = REPO / "sticker_service"
THROTTLE_SCOPES = ("SEARCH", "SIMILAR", "FEEDBACK", "COUNTER", "ANALYTICS")


class LiveStickerService:
    def __init__(self, *, search_url: str, search_token: str, database_url: str | None = None,
                 extra_env: dict[str, str] | None = None, workers: int = 2, threads: int = 4,
                 ready_timeout: float = 60.0) -> None:
        server_url = database_url or os.environ.get("STICKER_DATABASE_URL", "")
        if not server_url:
            raise RuntimeError("STICKER_DATABASE_URL (or database_url) must name a PostgreSQL server.")
        prefix = os.environ.get("STICKER_DATABASE_TEST_NAME") or "test_sticker"
        self.db_name = f"{prefix}_live_{os.getpid()}_{secrets.token_hex(3)}"
        self.server_url = server_url
        self.database_url = _with_database(server_url, self.db_name)
        self.search_url, self.search_token = search_url, search_token
        self.admin_token = secrets.token_hex(20)  # DRF tokens are 40 characters
        self.extra_env = dict(extra_env or {})
        self.workers, self.threads = workers, threads
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="live-sticker-"))
        self.log_path = self.workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self._db_created = False
        self._env: dict[str, str] | None = None

    def env(self) -> dict[str, str]:
        if self._env is None:
            inherited = {key: value for key, value in os.environ.items()
                         if not key.startswith(("STICKER_", "SEARCH_", "DJANGO_", "PYTEST_", "THROTTLE_", "ADMIN_",
                                                "REDIS_"))}
            self._env = {
                **inherited,
                "DJANGO_DEBUG": "false",
                "STICKER_SECRET_KEY": secrets.token_urlsafe(50),
                "STICKER_DATABASE_URL": self.database_url,
                "SEARCH_SERVICE_URL": self.search_url,
                "SEARCH_SERVICE_TOKEN": self.search_token,
                "STICKER_BIND": f"127.0.0.1:{self.port}",
                "STICKER_WORKERS": str(self.workers),
                "STICKER_THREADS": str(self.threads),
                "STICKER_STATIC_ROOT": str(self.workdir / "static"),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECURE_COOKIES": "false",
                "GUNICORN_ACCESS_LOG": "",
                "LOG_LEVEL": "WARNING",
                "ADMIN_USERNAME": "admin",
                "ADMIN_PASSWORD": secrets.token_urlsafe(16),
                "ADMIN_TOKEN": self.admin_token,
                **{f"THROTTLE_RATE_{scope}": "" for scope in THROTTLE_SCOPES},
                **self.extra_env,
            }
        return self._env

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.admin_token}"}

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *args], cwd=STICKER_DIR, env=self.env(), capture_output=True, text=True,
            timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"sticker_service manage.py {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        """Rows of one read-only statement on this instance's database (a fresh connection each time)."""
        import psycopg2

        connection = psycopg2.connect(self.database_url, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall()
        finally:
            connection.close()

    # --- life cycle ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        _admin_sql(self.server_url, f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True
        self.manage("migrate", "--noinput", "-v0")
        self.manage("ensure_admin")

    def serve(self) -> None:
        """Start gunicorn (again) on this instance's port and wait until /healthz answers."""
        if self.process is not None and self.process.poll() is None:
            return
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn
            [str(gunicorn), "-c", "gunicorn.conf.py", "config.wsgi"], cwd=STICKER_DIR, env=self.env(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sticker_service exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"sticker_service not ready after {self.ready_timeout} s:\n{self.log_tail()}")

    def start(self) -> LiveStickerService:
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
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self._signal(signal.SIGTERM, wait=20)

    def kill(self) -> None:
        self._signal(signal.SIGKILL, wait=10)

    def close(self) -> None:
        self._signal(signal.SIGINT, wait=10)
        if self._db_created:
            with contextlib.suppress(Exception):  # the server may be gone already (its fixture closed it)
                _admin_sql(self.server_url, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self._db_created = False
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> LiveStickerService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
