"""The deployment files read as data, for tests/repository's checks (no Docker engine on the CI machine):
docker-compose.yml as compose renders it with .env = .env.example, a container's environment, gunicorn's bind in
it, and what a Dockerfile copies where."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import yaml

from testkit import REPO, env_example

COMPOSE_FILE = REPO / "docker-compose.yml"
# compose service -> settings prefix (STICKER_DATABASE_URL, SEARCH_PORT, ...)
APP_SERVICES = {"sticker_service": "STICKER", "search_service": "SEARCH"}
DB_SERVICES = {"sticker_db", "search_db"}
# Redis and the bulk-indexing Celery worker (search_service's image with another command; docs/scale.md).
SCALE_SERVICES = {"redis", "index_worker"}

_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def compose_file() -> dict:
    """docker-compose.yml as written (``${VAR}`` not substituted)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def variables_in(text: str) -> set[str]:
    text = text.replace("$$", "")  # "$$" is compose's escaped literal "$"
    return {m["braced"] or m["bare"] for m in _VAR.finditer(text)}


def interpolate(text: str, values: dict[str, str]) -> str:
    """compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err} and $VAR against ``values``."""

    def substitute(match: re.Match) -> str:
        name = match["braced"] or match["bare"]
        value = values.get(name)
        op = match["op"] or ""
        if op.endswith("-") and (value is None or (op == ":-" and value == "")):
            return match["arg"]
        if op.endswith("?") and (value is None or (op == ":?" and value == "")):
            raise AssertionError(f"compose would stop: {name} is required ({match['arg']})")
        return value or ""

    parts = text.split("$$")
    return "$".join(_VAR.sub(substitute, part) for part in parts)


def walk_strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from walk_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_strings(item)
    elif isinstance(node, str):
        yield node


def render(node, values: dict[str, str]):
    if isinstance(node, dict):
        return {key: render(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [render(item, values) for item in node]
    if isinstance(node, str):
        return interpolate(node, values)
    return node


def as_mapping(entries) -> dict[str, str]:
    """compose's `environment:` as a dict (it may be a mapping or a list of NAME=value)."""
    if isinstance(entries, dict):
        return {key: "" if value is None else str(value) for key, value in entries.items()}
    return dict(entry.split("=", 1) for entry in entries or [])


def rendered_compose() -> dict:
    """docker-compose.yml as compose sees it when .env is a copy of .env.example."""
    return render(compose_file(), env_example.values())


def container_env(compose: dict, service: str) -> dict[str, str]:
    """The environment of a service's container: its env_file (.env = .env.example) under `environment:`."""
    spec = compose["services"][service]
    env_files = spec.get("env_file") or []
    env_files = [env_files] if isinstance(env_files, str | dict) else env_files
    assert [f if isinstance(f, str) else f["path"] for f in env_files] == [".env"], (
        f"{service} must read its settings from .env (env_file: .env)"
    )
    return {**env_example.values(), **as_mapping(spec.get("environment"))}


def gunicorn_bind(service: str, env: dict[str, str]) -> tuple[str, int]:
    """Evaluates the service's gunicorn.conf.py in the container's environment."""
    code = f"import runpy; print(runpy.run_path('{service}/gunicorn.conf.py')['bind'])"
    bind = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    host, _, port = bind.rpartition(":")
    return host, int(port)


def published_container_ports(spec: dict) -> set[int]:
    ports = set()
    for entry in spec.get("ports", []):
        ports.add(int(entry["target"]) if isinstance(entry, dict) else int(str(entry).rsplit(":", 1)[-1]))
    return ports


def healthcheck_url_port(spec: dict) -> int:
    test = spec["healthcheck"]["test"]
    urls = [part for part in (test if isinstance(test, list) else test.split()) if part.startswith("http")]
    assert len(urls) == 1, f"healthcheck should probe one URL: {test}"
    return urlsplit(urls[0]).port


def aliases(spec: dict) -> set[str]:
    names = set()
    networks = spec.get("networks") or {}
    for network in networks.values() if isinstance(networks, dict) else []:
        names.update((network or {}).get("aliases", []))
    if spec.get("hostname"):
        names.add(spec["hostname"])
    return names


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    instructions, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            keyword, _, args = current.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
            current = ""
    return instructions


def dockerignored() -> set[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return {line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")}


class Image:
    """What a Dockerfile puts where: container paths mapped back to repository paths."""

    def __init__(self, service: str):
        self.service = service
        self.instructions = dockerfile_instructions(REPO / service / "Dockerfile")
        self.copies: list[tuple[PurePosixPath, Path]] = []
        workdir = PurePosixPath("/")
        for keyword, args in self.instructions:
            if keyword == "WORKDIR":
                workdir = workdir / args
            elif keyword == "COPY":
                parts = [p for p in shlex.split(args) if not p.startswith("--")]
                assert "--from" not in args, "multi-stage COPY --from is not modelled by this test"
                *sources, dest = parts
                for source in sources:
                    dest_path = workdir / dest if not dest.startswith("/") else PurePosixPath(dest)
                    if not dest.endswith("/") or source.endswith("/"):
                        self.copies.append((dest_path, REPO / source))
                    else:
                        self.copies.append((dest_path / PurePosixPath(source).name, REPO / source))
        self.workdir = workdir

    def last(self, keyword: str) -> str:
        values = [args for key, args in self.instructions if key == keyword]
        assert values, f"{self.service}/Dockerfile has no {keyword}"
        return values[-1]

    def repo_path(self, container_path: str) -> Path:
        path = PurePosixPath(container_path)
        if not path.is_absolute():
            path = self.workdir / path
        for dest, source in reversed(self.copies):
            if path == dest or dest in path.parents:
                return source / path.relative_to(dest)
        raise AssertionError(f"{self.service}: nothing in the image is copied to {container_path}")
