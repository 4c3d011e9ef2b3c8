"""A private, throwaway embedded PostgreSQL (``tools/embedded_pg.py``) for tests that stop and restart it.

Never restart the shared server (port 54329): other test runs use it. This one lives in its own temporary
data folder on a free port (``EMBEDDED_PG_DATA`` / ``EMBEDDED_PG_PORT``), with the databases ``sticker``
and ``search`` (pgvector) that ``embedded_pg.py start`` creates::

    with EmbeddedCluster() as cluster:
        url = cluster.url("sticker")   # postgres://postgres@127.0.0.1:<port>/sticker
        cluster.stop(); cluster.start()
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from testkit import REPO
from testkit.gunicorn import free_port
from testkit.processes import run_checked

EMBEDDED_PG = REPO / "tools" / "embedded_pg.py"


class EmbeddedCluster:
    def __init__(self, port: int | None = None) -> None:
        # Directly under the temp folder: the server's unprivileged user must be able to reach it, and the
        # Unix socket path must stay short.
        self.data_dir = Path(tempfile.mkdtemp(prefix="pg-"))
        self.port = port or free_port()
        self.env = {**os.environ, "EMBEDDED_PG_DATA": str(self.data_dir), "EMBEDDED_PG_PORT": str(self.port)}
        self.restarts = 0

    def _run(self, command: str, timeout: float = 180) -> str:
        return run_checked(
            [sys.executable, str(EMBEDDED_PG), command],
            what=f"embedded_pg.py {command}",
            env=self.env,
            timeout=timeout,
            extra=self.log_tail(),
        )

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> EmbeddedCluster:
        self._run("start")
        return self

    def stop(self) -> None:
        """Fast shutdown: open sessions are terminated and their transactions rolled back."""
        self._run("stop", timeout=60)

    def restart(self, down_for: float = 0.0) -> float:
        """Stop, stay down ``down_for`` seconds, start; returns how long the server was unreachable."""
        started = time.monotonic()
        self.stop()
        time.sleep(down_for)
        self.start()
        self.restarts += 1
        return time.monotonic() - started

    def close(self) -> None:
        try:
            if (self.data_dir / "cluster" / "PG_VERSION").exists():
                self._run("stop", timeout=60)
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return (self.data_dir / "server.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
