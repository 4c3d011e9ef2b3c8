"""Where a request's time goes, for ``load_public --profile``: py-spy samples of each service's workers (Python time)
and PostgreSQL's own log of every statement with its duration (``log_min_duration_statement = 0`` for the span of
one run), both grouped into tables.

The statement log is switched on with ``ALTER SYSTEM`` and a configuration reload on the benchmark server (the
embedded one, ``BENCH_PG_URL``), so the services' persistent connections log too, and reset afterwards. The log
is the server's ``-l`` file (``--pg-log``; the embedded server writes ``.data/pg/server.log``).
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import common

_OURS = {path.name for root in (common.SEARCH_DIR, common.STICKER_DIR) for path in root.iterdir() if path.is_dir()}
_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] ", re.M)
_DURATION = re.compile(r"LOG:\s+duration: ([\d.]+) ms\s+statement: (.*)", re.S)


def _is_ours(frame: str) -> bool:
    """Is this py-spy frame ("func (path/file.py:line)") in this repository's code?"""
    match = re.search(r"\((?:.*/)?([^/(]+)/[^/]+\.py:\d+\)$", frame)
    return bool(match) and (match[1] in _OURS | {"servicekit"}) and "site-packages" not in frame


def _short(frame: str) -> str:
    return re.sub(r"\s+\(.*/(site-packages|wt-[^/]+|main|python3\.\d+)/", " (", frame)


@dataclass
class Hot:
    """py-spy's samples of one service: the hottest frames by self time and this repository's by inclusive time."""

    samples: int = 0
    leaf: Counter = field(default_factory=Counter)
    ours: Counter = field(default_factory=Counter)

    def rows(self, top: int = 12) -> list[tuple[str, str, str, str]]:
        total = max(self.samples, 1)
        leaf, ours = self.leaf.most_common(top), self.ours.most_common(top)
        return [
            (
                f"{leaf[i][1] / total:.1%}" if i < len(leaf) else "",
                f"`{leaf[i][0]}`" if i < len(leaf) else "",
                f"{ours[i][1] / total:.1%}" if i < len(ours) else "",
                f"`{ours[i][0]}`" if i < len(ours) else "",
            )
            for i in range(max(len(leaf), len(ours)))
        ]


def py_spy(groups: dict[str, list[int]], seconds: int, out: Path) -> dict[str, Hot]:
    """Sample every pid of each group at once for ``seconds`` (threads holding the GIL only: Python CPU)."""
    spy = common.VENV_BIN / "py-spy"
    procs = []
    for pids in groups.values():
        for pid in pids:
            command = [str(spy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200"]
            command += ["--format", "raw", "--output", str(out / f"{pid}.txt"), "--nonblocking", "--gil"]
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for proc in procs:
        proc.wait(timeout=seconds + 60)
    result = {}
    for name, pids in groups.items():
        hot = result[name] = Hot()
        for pid in pids:
            path = out / f"{pid}.txt"
            lines = path.read_text().splitlines() if path.exists() else []
            for line in lines:
                stack, _, count = line.rpartition(" ")
                frames = stack.split(";")
                hot.leaf[_short(frames[-1])] += int(count)
                for frame in {_short(f) for f in frames if _is_ours(f)}:
                    hot.ours[frame] += int(count)
                hot.samples += int(count)
    return result


def _statement_kind(sql: str) -> str:
    """A statement with its values blanked: string and number literals, vectors, IN lists."""
    text = re.sub(r"\s+", " ", sql).strip()
    text = re.sub(r"'(?:[^']|'')*'", "?", text)
    text = re.sub(r"\b\d+(?:\.\d+)?(?:e-?\d+)?\b", "?", text)
    text = re.sub(r"\((?:\?, )+\?\)", "(...)", text)
    return text[:150] + ("…" if len(text) > 150 else "")


@contextmanager
def statement_log(log: Path) -> Iterator[list[tuple[int, float, str]]]:
    """Every statement the server runs meanwhile: (backend pid, ms, statement kind), filled when the block ends."""
    common.admin_sql("ALTER SYSTEM SET log_min_duration_statement = 0")
    common.admin_sql("SELECT pg_reload_conf()")
    start = log.stat().st_size
    entries: list[tuple[int, float, str]] = []
    try:
        yield entries
    finally:
        common.admin_sql("ALTER SYSTEM RESET log_min_duration_statement")
        common.admin_sql("SELECT pg_reload_conf()")
        with log.open("rb") as file:
            file.seek(start)
            text = file.read().decode("utf-8", "replace")
        starts = list(_ENTRY.finditer(text))
        for match, following in zip(starts, [*starts[1:], None], strict=True):
            body = text[match.end() : following.start() if following else len(text)]
            if parsed := _DURATION.match(body):
                entries.append((int(match[1]), float(parsed[1]), _statement_kind(parsed[2])))


def statement_rows(
    entries: list[tuple[int, float, str]], databases: dict[int, str], requests: int, top: int = 8
) -> list[tuple[str, str, str, str, str]]:
    """Per database: statements per request and ms per request in all, then the kinds by time."""
    by_db: dict[str, Counter] = defaultdict(Counter)
    ms: dict[str, Counter] = defaultdict(Counter)
    for pid, duration, kind in entries:
        database = databases.get(pid, "unmapped")  # another database, or a connection closed before the mapping
        by_db[database][kind] += 1
        ms[database][kind] += duration
    rows = []
    for database in sorted(by_db):
        count, total = sum(by_db[database].values()), sum(ms[database].values())
        rows.append((f"**{database}**", "**all**", f"**{count / requests:.2f}**", f"**{total / requests:.3f}**", ""))
        for kind, spent in ms[database].most_common(top):
            n = by_db[database][kind]
            rows.append(("", f"`{kind}`", f"{n / requests:.2f}", f"{spent / requests:.3f}", f"{spent / n:.3f}"))
    return rows


def backend_databases(names: tuple[str, ...]) -> dict[int, str]:
    """pid -> database of the server's backends connected to ``names``."""
    import psycopg2

    with psycopg2.connect(common.db_url("postgres")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pid, datname FROM pg_stat_activity WHERE datname IN %s", [names])
        return dict(cursor.fetchall())
