"""Shared pieces of the benchmark scripts: machine facts, statistics, RESULTS.md sections, scratch databases,
the model to use, and gunicorn processes (testkit's, shared with the tests).

Benchmarks are not tests: they are run by hand from the repository root (``.venv/bin/python -m benchmarks.<name>``),
print a table and replace their own section of ``benchmarks/RESULTS.md``. Bulk data goes into databases named
``bench_*`` on the embedded PostgreSQL server (``BENCH_PG_URL``, default ``postgres://postgres@127.0.0.1:54329``), never
the development or test databases.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from testkit.checkpoints import write_random_checkpoint
from testkit.gunicorn import Gunicorn, free_port  # noqa: F401 - the scripts use common.Gunicorn, common.free_port
from testkit.live_process import admin_sql as server_admin_sql
from testkit.live_process import with_database
from testkit.live_sticker import PUBLIC_MEDIA_URL

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]

SEARCH_DIR = REPO / "search_service"
STICKER_DIR = REPO / "sticker_service"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
CACHE_DIR = REPO / "benchmarks" / ".cache"  # git-ignored: the random ViT-B-32 checkpoint, generated images
VENV_BIN = Path(sys.executable).parent
DEFAULT_PROJECTION = SEARCH_DIR / "default_model" / "weights" / "projection.safetensors"


# --- machine and statistics ------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    import torch

    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{ram_gb:.0f} GB",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit or "?",
    }


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_line(loads: Iterable[str] = ()) -> str:
    info = machine()
    text = (
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM; Python {info['python']}, "
        f"torch {info['torch']}; {info['date']}, commit {info['commit']}."
    )
    loads = list(loads)
    if loads:
        text += f" Load average (1/5/15 min) during the run: {', '.join(loads)}."
    return text


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed(fn: Callable[[T], object], items: Iterable[T]) -> list[float]:
    """Seconds of ``fn(item)`` for each item."""
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - started)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 0.1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def write_section(key: str, title: str, lines: Sequence[str], *, write: bool = True) -> None:
    """Print the section and replace ``<!-- key:begin -->...<!-- key:end -->`` in RESULTS.md with it."""
    begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
    section = "\n".join([begin, f"## {title}", "", *lines, end])
    print("\n" + section)
    if not write:
        return
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other benchmark scripts may write their sections at the same time
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        if begin in text and end in text:
            text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        RESULTS.write_text(text)
    print(f"\n(written to {RESULTS.relative_to(REPO)})")


# --- scratch databases on the embedded server ------------------------------------------------------------
def server_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:54329").rstrip("/")


def db_url(name: str) -> str:
    return with_database(server_url(), name)


def admin_sql(statement: str, database: str = "postgres") -> None:
    server_admin_sql(server_url(), statement, database)


def database_exists(name: str) -> bool:
    import psycopg2

    with psycopg2.connect(db_url("postgres"), connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def create_database(name: str, *, fresh: bool = False, vector: bool = True) -> None:
    assert name.startswith("bench_"), "benchmark databases are named bench_*"
    if fresh:
        drop_database(name)
    if not database_exists(name):
        admin_sql(f'CREATE DATABASE "{name}"')
    if vector:
        admin_sql("CREATE EXTENSION IF NOT EXISTS vector", database=name)


def drop_database(name: str) -> None:
    assert name.startswith("bench_"), "benchmark databases are named bench_*"
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the model ---------------------------------------------------------------------------------------------
def vit_checkpoint() -> Path:
    """open_clip ViT-B-32 with seeded random weights (timing only; nothing downloaded), cached on disk."""
    path = CACHE_DIR / "vit-b-32-random-seed0.pt"
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        write_random_checkpoint(path, "ViT-B-32", seed=0)
    return path


def default_model_available() -> bool:
    return DEFAULT_PROJECTION.exists()


def model_env(kind: str) -> dict[str, str]:
    """search_service's model settings: ``default`` (the offline default model) or ``vit-b-32`` (random)."""
    if kind == "auto":
        kind = "default" if default_model_available() else "vit-b-32"
    if kind == "default":
        if not default_model_available():
            raise SystemExit(f"The default model's trained head {DEFAULT_PROJECTION} is missing; use --model vit-b-32.")
        return {"SEARCH_MODEL_NAME": "", "SEARCH_MODEL_PRETRAINED": ""}
    if kind == "vit-b-32":
        return {"SEARCH_MODEL_NAME": "ViT-B-32", "SEARCH_MODEL_PRETRAINED": str(vit_checkpoint())}
    raise SystemExit(f"unknown model {kind!r} (default, vit-b-32, auto)")


def model_label(env: dict[str, str]) -> str:
    return "default model" if not env.get("SEARCH_MODEL_NAME") else "open_clip ViT-B-32 (random weights)"


# --- service processes --------------------------------------------------------------------------------------
def service_env(service: str, database: str, **extra: str) -> dict[str, str]:
    """Environment of a service process (production settings, a bench database, the given overrides)."""
    prefix = service.upper()
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STICKER_", "SEARCH_", "DJANGO_", "PYTEST_", "THROTTLE_"))
    }
    return {
        **inherited,
        "DJANGO_DEBUG": "false",
        f"{prefix}_SECRET_KEY": secrets.token_urlsafe(50),
        f"{prefix}_DATABASE_URL": db_url(database),
        # Without DEBUG both services refuse an empty service token; a caller that talks to search_service
        # passes the one it uses.
        "SEARCH_SERVICE_TOKEN": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STICKER_MEDIA_URL": PUBLIC_MEDIA_URL,  # production settings refuse the internal default
        "SECURE_COOKIES": "false",
        "LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # open_clip unless a script asks for ONNX Runtime (worker_memory.py): what the other scripts measured.
        "SEARCH_RUNTIME": "torch",
        **extra,
    }


def manage(service_dir: Path, env: dict[str, str], *args: str, timeout: float = 3600) -> str:
    result = subprocess.run(
        [sys.executable, "-m", service_dir.name, *args],
        cwd=service_dir.parent,  # this checkout, or another one's service (load_public --base-tree)
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"python -m {service_dir.name} {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def setup_search_django(database: str, env: dict[str, str], *, migrate: bool = True) -> None:
    """Configure Django for search_service in this process (its settings from ``env``), run migrations."""
    os.environ.update(service_env("search", database, **env))
    os.environ["DJANGO_SETTINGS_MODULE"] = "search_service.config.settings"
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", "--noinput", verbosity=0)


def setup_sticker_django(database: str, *, migrate: bool = False, **extra: str) -> None:
    """Configure Django for sticker_service in this process (its settings as ``service_env`` makes them, the test
    client's host allowed, ``extra`` overrides), and run migrations if ``migrate``."""
    os.environ.update(service_env("sticker", database, **{"ALLOWED_HOSTS": "testserver", **extra}))
    os.environ["DJANGO_SETTINGS_MODULE"] = "sticker_service.config.settings"
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)
