"""A real Celery index worker of search_service (``celery -A search_service.config.celery worker``) in its own
process group, for tests and benchmarks of ``index_images --queue``::

    worker = CeleryWorker(env, name="a").start()   # env: search_service's settings (database, broker, queue, model)
    worker.wait_ready()
    worker.kill()                                  # SIGKILL to the whole worker (main process and its pool)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testkit import REPO


class CeleryWorker:
    def __init__(self, env: dict[str, str], *, name: str, concurrency: int = 1, log: Path | None = None) -> None:
        self.env = env
        self.name = name
        self.concurrency = concurrency
        self.log_path = log or Path(tempfile.mkdtemp(prefix="celery-")) / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> CeleryWorker:
        queue = self.env.get("SEARCH_CELERY_QUEUE", "index")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    *(
                        "-m",
                        "celery",
                        "-A",
                        "search_service.config.celery",
                        "worker",
                        "-Q",
                        queue,
                        "-n",
                        f"{self.name}@%h",
                    ),
                    *("--concurrency", str(self.concurrency), "--loglevel", "INFO"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until the worker consumes (its "ready." line) and its pool processes have loaded the model."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"celery worker {self.name} exited:\n{self.log_tail()}")
            log = self.log_tail(10_000_000)
            if " ready." in log and log.count("Index worker process ") >= self.concurrency:
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker {self.name} not ready after {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to the worker's process group: no warm shutdown, its batch in progress is never acknowledged."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> CeleryWorker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
