"""gunicorn hooks for prometheus-client's multiprocess mode (both services' gunicorn.conf.py use them).

:func:`use_multiprocess_dir` runs in the master while gunicorn reads its config, before any worker forks and
before prometheus_client is imported: it keeps the operator's ``PROMETHEUS_MULTIPROC_DIR`` or creates a private
temporary one, and sets the variable so every worker inherits it. ``on_starting`` empties it (samples of an
earlier run must not count), ``child_exit`` drops a dead worker's live gauges, ``on_exit`` removes a directory
created here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_created: list[str] = []


def use_multiprocess_dir(service: str) -> str:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not directory:
        directory = tempfile.mkdtemp(prefix=f"prometheus-{service}-")
        _created.append(directory)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    Path(directory).mkdir(parents=True, exist_ok=True)
    return directory


def on_starting(server) -> None:
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    for entry in directory.glob("*.db"):
        entry.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    for directory in _created:
        shutil.rmtree(directory, ignore_errors=True)
