""".env.example, the list of every setting, checked against what uses it: every variable docker-compose.yml
interpolates and every variable the settings, gunicorn and the container entrypoint read is in it;
docs/configuration.md's tables list exactly its variables; its secrets are the development values production
refuses; the run commands load it with a caller's database port."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from servicekit.settings import DEVELOPMENT_SECRETS
from testkit import REPO, env_example
from tests.repository.deploy import APP_SERVICES, variables_in, walk_strings

pytestmark = pytest.mark.repository

CONFIGURATION_DOC = REPO / "docs" / "configuration.md"


def test_every_line_is_a_variable_or_a_comment():
    """No line is skipped by the reading above (a malformed line would hide a variable from every check here)."""
    for number, line in enumerate(env_example.lines(), 1):
        text = line.strip()
        assert not text or text.startswith("#") or env_example.LINE.match(text), f".env.example:{number}: {line!r}"
    assert len(env_example.values()) > 50  # the reading works


def test_every_compose_variable_is_defined_in_env_example(raw_compose):
    used = set()
    for text in walk_strings(raw_compose):
        used |= variables_in(text)
    assert {"STICKER_PORT", "SEARCH_PORT", "STICKER_DB_PASSWORD"} <= used  # the scan itself works
    missing = sorted(used - env_example.values().keys())
    assert not missing, f"docker-compose.yml uses variables .env.example does not define: {missing}"


# --- settings audit: every variable the code reads is in .env.example -------------------------------

# Run in a fresh process with the production settings module of a service: every name the settings ask the
# environment for while they load (os.environ, os.getenv, django-environ; f-string names included), and the
# repository's files they load (whatever modules the settings are split into).
_RECORDER = r"""
import importlib, json, os, sys
from pathlib import Path

repo = Path.cwd().resolve()
installed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
read = set()

class Recorder(dict):
    # os.environ, noting the names our own code (not a library) asks for
    def _note(self, key):
        frame = sys._getframe(2)
        while frame and ("/environ/" in frame.f_code.co_filename or frame.f_code.co_filename == os.__file__):
            frame = frame.f_back
        path = Path(frame.f_code.co_filename).resolve() if frame else None
        if path and not path.name.startswith("<") and not installed & set(path.parents) and not (
                {"site-packages", "dist-packages"} & set(path.parts)):
            read.add(key)
    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)
    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)
    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

os.environ = Recorder(os.environ)  # os.getenv reads it too
import environ
environ.Env.ENVIRON = os.environ
importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
files = {Path(m.__file__).resolve() for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
ours = sorted(str(f.relative_to(repo)) for f in files if repo in f.parents and not installed & set(f.parents))
print(json.dumps({"read": sorted(read), "files": ours}))
"""


def production_settings_module(service: str) -> str:
    """The settings module gunicorn's workers load (the image's CMD runs ``<service>.config.wsgi``)."""
    wsgi = (REPO / service / "config" / "wsgi.py").read_text()
    match = re.search(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""", wsgi)
    assert match, f"{service}/config/wsgi.py names no DJANGO_SETTINGS_MODULE"
    return match[1]


def settings_load(service: str) -> tuple[set[str], set[Path]]:
    """(every variable the settings ask for when they load, the repository files they load)."""
    env = {
        "PATH": "/usr/bin:/bin",
        **env_example.values(),
        "DJANGO_SETTINGS_MODULE": production_settings_module(service),
    }
    result = subprocess.run(
        [sys.executable, "-c", _RECORDER], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return set(found["read"]), {REPO / name for name in found["files"]}


def names_read_statically(path: Path) -> set[str]:
    """Literal names in env.<type>("NAME"), env("NAME"), os.environ.get/os.getenv/os.environ["NAME"]."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        target = None
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = ast.unparse(node.func)
            if re.fullmatch(r"env(\.\w+)?|os\.environ\.get|os\.getenv", func):
                target = node.args[0].value
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            if isinstance(node.slice, ast.Constant):
                target = node.slice.value
        if isinstance(target, str):
            names.add(target)
    return names


def test_every_variable_the_settings_read_is_in_env_example():
    dynamic, settings_files = set(), set()
    for service in APP_SERVICES:
        read, files = settings_load(service)
        assert any(REPO / service in f.parents for f in files), f"{service}: its settings loaded none of its files"
        dynamic |= read
        settings_files |= files
    # Every file the settings load (in any branch, not only the one taken here), and gunicorn's configuration.
    scanned = settings_files | set(REPO.glob("*/gunicorn.conf.py"))
    static = set().union(*(names_read_statically(path) for path in scanned))
    read = static | dynamic | variables_in((REPO / "docker" / "entrypoint.sh").read_text())
    # the scans work: literal names, the names read as the settings load, gunicorn's os.environ reads
    assert {"SEARCH_SERVICE_URL", "DJANGO_DEBUG", "STICKER_WORKERS", "MIGRATE_ON_START"} <= read
    assert {"STICKER_SECRET_KEY", "SEARCH_DATABASE_URL", "SEARCH_STATIC_ROOT"} <= dynamic
    missing = sorted(read - env_example.documented())
    assert not missing, f"settings read variables that .env.example does not list: {missing}"


# --- docs/configuration.md ----------------------------------------------------------------------------


def documented_variables() -> list[str]:
    """The first column of every table row in the "Variables" section of docs/configuration.md."""
    text = CONFIGURATION_DOC.read_text(encoding="utf-8")
    section = text.split("\n## Variables\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, flags=re.MULTILINE)


def test_every_env_example_variable_is_in_the_configuration_tables_and_nothing_else():
    listed = documented_variables()
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    expected = env_example.documented()
    assert expected, ".env.example lists no variables?"
    assert expected - set(listed) == set(), "add these to docs/configuration.md's tables"
    assert set(listed) - expected == set(), "docs/configuration.md lists variables .env.example does not have"


def test_the_readme_links_the_configuration_doc():
    assert "docs/configuration.md" in (REPO / "README.md").read_text(encoding="utf-8")


# --- secrets and the run commands ---------------------------------------------------------------------


def test_env_example_secrets_are_development_values_that_production_refuses():
    lines = env_example.lines()
    secret_vars = [
        lines[i + 1].split("=", 1)[0]
        for i, line in enumerate(lines[:-1])
        if line.strip().startswith("# SECRET") and "=" in lines[i + 1]
    ]
    assert {"STICKER_SECRET_KEY", "SEARCH_SECRET_KEY", "SEARCH_SERVICE_TOKEN", "ADMIN_PASSWORD"} <= set(secret_vars)
    values = env_example.values()
    for name in secret_vars:
        assert values[name] == "" or values[name].startswith("dev-"), (name, values[name])
    # Production refuses each of them by value (servicekit.settings.DEVELOPMENT_SECRETS), not only by prefix.
    assert DEVELOPMENT_SECRETS == {name: values[name] for name in secret_vars if values[name]}


@pytest.mark.parametrize(("port", "expected"), [(None, "54329"), ("54400", "54400")])
def test_the_run_commands_follow_a_callers_embedded_pg_port(port, expected):
    """make migrate / make run load .env.example through tools/load_env.sh: a caller's EMBEDDED_PG_PORT wins over
    the file's, and the database URLs follow it (they named 54329 whatever the port, so migrate was refused)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EMBEDDED_PG_PORT", "STICKER_DATABASE_URL", "SEARCH_DATABASE_URL")
    }
    if port:
        env["EMBEDDED_PG_PORT"] = port
    script = (
        'source tools/load_env.sh .env.example; echo "$EMBEDDED_PG_PORT $STICKER_DATABASE_URL $SEARCH_DATABASE_URL"'
    )
    out = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        expected,
        f"postgres://postgres@127.0.0.1:{expected}/sticker",
        f"postgres://postgres@127.0.0.1:{expected}/search",
    ]
