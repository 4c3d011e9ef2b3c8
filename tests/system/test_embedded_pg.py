"""tools/embedded_pg.py as a new user meets it: a busy port is one line naming EMBEDDED_PG_PORT, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import REPO

pytestmark = pytest.mark.system


def test_a_busy_port_is_one_line_naming_embedded_pg_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "EMBEDDED_PG_PORT": str(port), "EMBEDDED_PG_DATA": str(tmp_path / "pg")}
        result = subprocess.run(
            [sys.executable, "tools/embedded_pg.py", "start"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"port {port}" in lines[0] and "EMBEDDED_PG_PORT" in lines[0], lines[0]


def test_make_test_stops_only_the_server_it_started():
    """The test command's recipe: it notes whether the embedded server ran before, and stops it afterwards
    only then (running it here would run the whole test suite inside itself)."""
    recipe = (REPO / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "embedded_pg.py status" in recipe and "started=1" in recipe
    assert "if [ $$started = 1 ]; then $(PY) tools/embedded_pg.py stop; fi" in recipe
    assert recipe.index("run_tests.sh") < recipe.index("embedded_pg.py stop")


def test_make_db_reads_the_port_from_the_env_file(tmp_path):
    """Issue 23: `make db` ignored .env, so a port set only there was not the one started (make run then failed).
    The env file names a busy port: `make db` must try that one and say so."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env_file = tmp_path / "test.env"
        env_file.write_text(f"EMBEDDED_PG=true\nEMBEDDED_PG_PORT={port}\n")
        env = {key: value for key, value in os.environ.items() if key != "EMBEDDED_PG_PORT"}
        env["EMBEDDED_PG_DATA"] = str(tmp_path / "pg")
        result = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "db",
                f"ENV_FILE={env_file}",
                f"VENV={Path(sys.executable).parent.parent}",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    try:
        assert result.returncode != 0, result.stdout + result.stderr
        assert f"port {port}" in result.stderr and "EMBEDDED_PG_PORT" in result.stderr, result.stderr
    finally:
        subprocess.run(
            [sys.executable, "tools/embedded_pg.py", "stop"], cwd=REPO, env=env, capture_output=True, check=False
        )
