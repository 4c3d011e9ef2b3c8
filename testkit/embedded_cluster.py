"""A private, throwaway embedded PostgreSQL (``tools/embedded_pg.py``) for tests that stop and restart it, and a
streaming replica of it (:class:`EmbeddedReplica`).

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
                self.stop()
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


def _embedded_pg():
    """tools/embedded_pg.py as a module (its binaries and its way of running them, as root too)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("embedded_pg_tool", EMBEDDED_PG)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EmbeddedReplica(EmbeddedCluster):
    """A PostgreSQL streaming replica of an :class:`EmbeddedCluster`, with the embedded server's own binaries:
    ``pg_basebackup -R`` (a copy of the primary plus ``standby.signal`` and ``primary_conninfo``) into its own
    temporary folder, started on another free port. It follows the primary's WAL as it is written::

        with EmbeddedCluster() as primary, EmbeddedReplica(primary) as replica:
            replica.url("search")   # read-only; replica.lag_seconds(), replica.pause_replay(), replica.stop()
    """

    def __init__(self, primary: EmbeddedCluster, port: int | None = None) -> None:
        super().__init__(port)
        self.primary = primary
        self.pgdata = self.data_dir / "cluster"
        self.socket_dir = self.data_dir / "socket"
        self._tool = _embedded_pg()

    def _own(self) -> None:
        """As root the server runs as the unprivileged user of tools/embedded_pg.py: it must own the folder."""
        if os.geteuid() != 0:
            return
        from pgserver.utils import ensure_user_exists

        entry = ensure_user_exists(self._tool.SYSTEM_USER)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self) -> EmbeddedReplica:
        if not (self.pgdata / "PG_VERSION").exists():
            self.socket_dir.mkdir(parents=True, exist_ok=True)
            self._own()
            self._tool._run(
                [
                    self._tool._bin("pg_basebackup"),
                    *("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"),
                    *("-D", str(self.pgdata), "-R", "-X", "stream", "-c", "fast"),
                ]
            )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir} -c max_connections=200 -c hot_standby=on"
        self._tool._run(
            [
                self._tool._bin("pg_ctl"),
                *("-D", str(self.pgdata), "-o", options, "-l", str(self.data_dir / "server.log")),
                *("-w", "-t", "60", "start"),
            ]
        )
        return self

    def stop(self) -> None:
        self._tool._run([self._tool._bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"], check=False)

    def sql(self, statement: str, database: str = "postgres") -> str:
        proc = self._tool._run(
            [
                self._tool._bin("psql"),
                *("-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-c", statement),
            ]
        )
        return proc.stdout.strip()

    def wait_streaming(self, timeout: float = 60.0) -> None:
        """Until the replica streams WAL from the primary again (after either of them restarted)."""
        deadline = time.monotonic() + timeout
        while self.sql("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") != "1":
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica not streaming after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def pause_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")
