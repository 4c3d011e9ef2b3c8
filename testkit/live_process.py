"""What the live-process test helpers share: a Django service of this repository run as its own gunicorn
process on a throwaway database, the way ``make run`` runs it (``python -m <service>`` and gunicorn as subprocesses;
no import of the service's code).

Subclasses (:class:`testkit.live_search.LiveSearchService`, :class:`testkit.live_sticker.LiveStickerService`)
say which folder, which environment (:meth:`env`), what :meth:`prepare` does and how readiness is probed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit, urlunsplit

from testkit import REPO
from testkit.gunicorn import Gunicorn, free_port
from testkit.processes import run_checked


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(url: str, statement: str, database: str = "postgres") -> None:
    """Run one statement (CREATE/DROP DATABASE, CREATE EXTENSION) on ``database`` of the server of ``url``,
    outside a transaction."""
    import psycopg2

    connection = psycopg2.connect(with_database(url, database), connect_timeout=5)
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

    def __init__(
        self,
        *,
        server_url: str,
        db_prefix: str,
        extra_env: dict[str, str] | None,
        workers: int,
        threads: int,
        ready_timeout: float,
    ) -> None:
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
        self.gunicorn: Gunicorn | None = None
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
        return run_checked(
            [sys.executable, "-m", self.name, *args],
            what=f"python -m {self.name} {' '.join(args)}",
            env=self.env(),
            cwd=REPO,
            timeout=timeout,
        )

    def serve(self) -> None:
        """Start gunicorn (again) on this instance's port and wait until ``ready_path`` answers 200."""
        if self.gunicorn is None:
            self.gunicorn = Gunicorn(self.service_dir, self.env(), self.port, self.log_path)
        self.gunicorn.start(
            self.ready_path, headers=self.ready_headers(), timeout=self.ready_timeout, poll_interval=self.poll_interval
        )

    def start(self) -> Self:
        try:
            self.prepare()
            self.serve()
        except BaseException:
            self.close()
            raise
        return self

    @property
    def process(self) -> subprocess.Popen | None:
        """gunicorn master's process (``None`` before the first ``serve()``)."""
        return self.gunicorn.process if self.gunicorn is not None else None

    @property
    def pid(self) -> int | None:
        """gunicorn master's pid while it runs (a test can check the service was not restarted)."""
        return self.gunicorn.pid if self.gunicorn is not None else None

    def stop(self) -> None:
        """Graceful stop (SIGTERM to gunicorn's process group)."""
        if self.gunicorn is not None:
            self.gunicorn.stop(wait=20)

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as a crash would."""
        if self.gunicorn is not None:
            self.gunicorn.kill()

    def close(self) -> None:
        if self.gunicorn is not None:
            self.gunicorn.quit()
        if self._db_created:
            with contextlib.suppress(Exception):  # the server may be gone already (its fixture closed it)
                admin_sql(self.server_url, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self._db_created = False
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, chars: int = 4000) -> str:
        return self.gunicorn.log_tail(chars) if self.gunicorn is not None else ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
