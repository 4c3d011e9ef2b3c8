"""One Django service of this repository under gunicorn (its own ``gunicorn.conf.py``), in its own process
group, and the free local port it listens on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self


def free_port() -> int:
    """A local port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn -c <service>/gunicorn.conf.py <service>.config.wsgi`` from the repository root (the folder holding
    ``service_dir``) with exactly ``env``; output to ``log``.

    The environment must bind it to ``port`` (``SEARCH_BIND`` / ``STICKER_BIND``). ``start()`` waits until
    ``ready_path`` answers 200; ``stop()`` (SIGTERM), ``kill()`` (SIGKILL) and ``quit()`` (SIGINT, gunicorn's
    quick shutdown) signal the master and its workers.
    """

    def __init__(self, service_dir: Path, env: dict[str, str], port: int, log: Path) -> None:
        self.service_dir, self.env, self.port, self.log = service_dir, env, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(
        self,
        ready_path: str = "/readyz",
        headers: dict[str, str] | None = None,
        timeout: float = 300,
        poll_interval: float = 0.5,
    ) -> Self:
        """Start gunicorn (unless it runs) and wait until ``ready_path`` answers 200."""
        import requests

        if self.running:
            return self
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    *("-c", f"{self.service_dir.name}/gunicorn.conf.py", f"{self.service_dir.name}.config.wsgi"),
                ],
                cwd=self.service_dir.parent,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.service_dir.name} exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(self.url + ready_path, headers=headers, timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(poll_interval)
        self.stop()
        raise RuntimeError(f"{self.service_dir.name} not ready after {timeout} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int | None:
        """The master's pid while it runs."""
        return self.process.pid if self.running else None

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.process is None:
            return []
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [self.process.pid, *map(int, children)]

    def signal(self, sig: int, wait: float) -> None:
        """Send ``sig`` to the master and its workers (own process group); SIGKILL if still up after ``wait``."""
        if not self.running:
            return
        assert self.process is not None
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, wait: float = 30) -> None:
        """Graceful stop (SIGTERM)."""
        self.signal(signal.SIGTERM, wait)

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as a crash would."""
        self.signal(signal.SIGKILL, 10)

    def quit(self) -> None:
        """gunicorn's quick shutdown (SIGINT)."""
        self.signal(signal.SIGINT, 10)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
