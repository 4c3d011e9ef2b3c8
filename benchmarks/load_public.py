"""Load on the public search endpoint through gunicorn, both services running; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.load_public [--stickers 10000] [--model auto] [--duration 15] [--repeats 3]
        [--concurrency 8,32] [--profile] [--keep] [--no-write]

Set-up (127.0.0.1 only): search_service's table in ``bench_load`` gets ``--stickers`` random unit vectors
(loaded and HNSW-indexed by ``benchmarks.catalogue``, as in ``search_latency.py``); sticker_service gets a fresh
``bench_sticker`` database. Both run under gunicorn with their own ``gunicorn.conf.py`` (search_service 2 workers
x 4 threads, sticker_service 2 workers x 8 threads, access logs on, into a file), the service token set, and
sticker_service talking to search_service over HTTP. The one change from the defaults: the per-client rate limit of the
public search is lifted (``THROTTLE_RATE_SEARCH=``), since every benchmark connection comes from one address.

Then ``wrk`` (Debian's package) against ``GET /api/search/?query=...&limit=10`` for ``--duration`` seconds per
run, ``--repeats`` runs per cell, at each concurrency, with
* repeated queries: the same query every time (its embedding cached in search_service's LRU), and
* unique queries: a new query text on every request (a wrk Lua script), so search_service encodes each one
  and sticker_service inserts a new query-log row.
Medians over the runs of requests/s and of wrk's p50/p99 latency. ``--profile`` also samples both services'
workers with py-spy during one extra repeated-query run at the highest concurrency and prints where the time
goes. The databases are dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import catalogue, common
from benchmarks.data import Catalogue

SEARCH_DB, STICKER_DB = "bench_load", "bench_sticker"
REPEATED = "/api/search/?query=cat+in+a+park&limit=10"
UNIQUE_LUA = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  prefix = "/api/search/?limit=10&query=sticker+" .. args[1] .. "+" .. tostring(tid) .. "+"
  counter = 0
end
function request()
  counter = counter + 1
  return wrk.format("GET", prefix .. counter)
end
"""
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def parse_wrk(output: str) -> dict:
    def duration(text: str) -> float:
        match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
        return float(match[1]) * _UNITS[match[2]]

    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "requests": int(re.search(r"(\d+) requests in", output)[1]),
        "errors": 0,
    }
    for pct in ("50", "99"):
        result[f"p{pct}"] = duration(re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M)[1])
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["errors"] += int(match[1])
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        result["errors"] += sum(int(x) for x in match.groups())
    return result


def wrk(url: str, concurrency: int, duration: int, script: Path | None = None, args: tuple[str, ...] = ()) -> dict:
    command = ["wrk", f"-t{min(2, concurrency)}", f"-c{concurrency}", f"-d{duration}s", "--timeout", "5s", "--latency"]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    if args:
        command += ["--", *args]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    return parse_wrk(output)


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds each process has used so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots (processes started in between count whole; ended ones are lost)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def backend_pids() -> list[int]:
    """PostgreSQL backends serving the two benchmark databases."""
    import psycopg2

    with psycopg2.connect(common.db_url("postgres")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname IN %s", [(SEARCH_DB, STICKER_DB)])
        return [pid for (pid,) in cursor.fetchall()]


_OURS = {path.name for root in (common.SEARCH_DIR, common.STICKER_DIR) for path in root.iterdir() if path.is_dir()}


def _is_ours(frame: str) -> bool:
    """Is this py-spy frame ("func (path/file.py:line)") in this repository's code?"""
    match = re.search(r"\((?:.*/)?(?:work/main/)?([^/(]+)/[^/]+\.py:\d+\)$", frame)
    return bool(match) and (match[1] in _OURS | {"servicekit"}) and "site-packages" not in frame


def profile(pids: list[int], seconds: int, out: Path) -> dict[str, list[tuple[str, float]]]:
    """py-spy samples of the given processes, threads holding the GIL only (Python CPU): the hottest frames by
    self time, and the frames of this repository by inclusive time."""
    spy = common.VENV_BIN / "py-spy"
    procs = [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(out / f"{pid}.txt"),
                "--nonblocking",
                "--gil",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    for proc in procs:
        proc.wait(timeout=seconds + 60)
    leaf: Counter = Counter()
    ours: Counter = Counter()
    total = 0

    def short(frame: str) -> str:
        return re.sub(r"\s+\(.*/(site-packages|work/main|python3\.\d+)/", " (", frame)

    for pid in pids:
        path = out / f"{pid}.txt"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            leaf[short(frames[-1])] += int(count)
            for frame in {short(f) for f in frames if _is_ours(f)}:
                ours[frame] += int(count)
            total += int(count)
    if not total:
        return {}
    return {
        "self": [(frame, count / total) for frame, count in leaf.most_common(12)],
        "ours": [(frame, count / total) for frame, count in ours.most_common(12)],
    }


@dataclass
class Stack:
    """Both services' environments (databases ready, sticker_service migrated), the scratch folder, the wrk script."""

    env: dict[str, str]  # the model's settings
    search_env: dict[str, str]
    sticker_env: dict[str, str]
    search_port: int
    sticker_port: int
    token: str
    work: Path
    lua: Path


@dataclass
class Measured:
    rows: list[tuple] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    hot: dict[str, list[tuple[str, float]]] = field(default_factory=dict)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stickers", type=int, default=10_000)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument(
        "--result-cache",
        default="0,30",
        help="SEARCH_RESULT_CACHE_TTL values to run search_service with (seconds, 0 = off)",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    args.levels = [int(c) for c in args.concurrency.split(",")]
    args.ttls = [float(t) for t in args.result_cache.split(",")]
    return args


def set_up(args: argparse.Namespace) -> Stack:
    """search_service's catalogue (random unit vectors, indexed) and a fresh, migrated sticker_service database."""
    env = common.model_env(args.model)
    common.create_database(SEARCH_DB)
    common.setup_search_django(SEARCH_DB, env)
    from django.db import connections

    from search_service.encoders.loader import get_encoder
    from search_service.encoders.spec import resolve_model_spec

    catalogue.load_and_index(Catalogue.of("uniform", get_encoder()), resolve_model_spec().model_id, args.stickers, 30)
    connections.close_all()
    common.create_database(STICKER_DB, fresh=True, vector=False)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    token = secrets.token_urlsafe(24)
    search_port, sticker_port = common.free_port(), common.free_port()
    search_env = common.service_env(
        "search",
        SEARCH_DB,
        **env,
        SEARCH_BIND=f"127.0.0.1:{search_port}",
        SEARCH_SERVICE_TOKEN=token,
        SEARCH_MEDIA_ROOT=str(work / "media"),
    )
    sticker_env = common.service_env(
        "sticker",
        STICKER_DB,
        STICKER_BIND=f"127.0.0.1:{sticker_port}",
        SEARCH_SERVICE_URL=f"http://127.0.0.1:{search_port}",
        SEARCH_SERVICE_TOKEN=token,
        THROTTLE_RATE_SEARCH="",
    )
    common.manage(common.STICKER_DIR, sticker_env, "migrate", "--noinput", "-v0")
    lua = work / "unique.lua"
    lua.write_text(UNIQUE_LUA)
    return Stack(env, search_env, sticker_env, search_port, sticker_port, token, work, lua)


def measure_cell(
    stack: Stack,
    base: str,
    concurrency: int,
    kind: str,
    args: argparse.Namespace,
    groups: dict[str, Callable[[], list[int]]],
    loads: list[str],
) -> tuple:
    """``--repeats`` wrk runs of one kind of query at one concurrency, with the CPU each group of processes used:
    the table row."""
    runs = []
    for _ in range(args.repeats):
        before = {name: cpu_seconds(pids()) for name, pids in groups.items()}
        if kind == "repeated":
            runs.append(wrk(base + REPEATED, concurrency, args.duration))
        else:
            runs.append(wrk(base + "/", concurrency, args.duration, stack.lua, (secrets.token_hex(4),)))
        for name, pids in groups.items():
            used = cpu_used(before[name], cpu_seconds(pids()))
            runs[-1][f"cpu_{name}"] = used / max(runs[-1]["requests"], 1)
        loads.append(common.loadavg())
    cpu = {name: common.median([r[f"cpu_{name}"] for r in runs]) for name in ("sticker", "search", "postgres")}
    return (
        concurrency,
        kind,
        f"{common.median([r['rps'] for r in runs]):.0f}",
        " / ".join(f"{r['rps']:.0f}" for r in runs),
        common.fmt_ms(common.median([r["p50"] for r in runs])),
        common.fmt_ms(common.median([r["p99"] for r in runs])),
        sum(run["errors"] for run in runs),
        " / ".join(common.fmt_ms(value) for value in cpu.values()),
        f"{1 / sum(cpu.values()) * (os.cpu_count() or 1):.0f}",
    )


def profile_run(pids: list[int], base: str, concurrency: int, duration: int) -> dict[str, list[tuple[str, float]]]:
    """py-spy over the workers during one extra repeated-query run; prints and returns the hottest frames."""
    runner = subprocess.Popen(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{duration}s", base + REPEATED],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(2)
    raw = common.CACHE_DIR / "load_public_profile"  # py-spy's raw stacks, kept for a closer look
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    hot = profile(pids, duration - 4, raw)
    runner.wait(timeout=duration + 30)
    for kind, entries in hot.items():
        for frame, share in entries:
            print(f"{kind:4} {share:6.1%}  {frame}")
    return hot


def measure(stack: Stack, args: argparse.Namespace) -> Measured:
    """Every result-cache setting, concurrency and kind of query, through both services under gunicorn."""
    result = Measured()
    sticker = common.Gunicorn(common.STICKER_DIR, stack.sticker_env, stack.sticker_port, stack.work / "sticker.log")
    try:
        for ttl in args.ttls:
            search_env = {**stack.search_env, "SEARCH_RESULT_CACHE_TTL": str(ttl)}
            search = common.Gunicorn(common.SEARCH_DIR, search_env, stack.search_port, stack.work / "search.log")
            try:
                search.start(headers={"Authorization": f"Bearer {stack.token}"})
                if sticker.process is None:
                    sticker.start()
                measure_ttl(stack, args, ttl, search, sticker, result)
            finally:
                search.stop()
    finally:
        sticker.stop()
    return result


def measure_ttl(
    stack: Stack,
    args: argparse.Namespace,
    ttl: float,
    search: common.Gunicorn,
    sticker: common.Gunicorn,
    result: Measured,
) -> None:
    """The rows of one result-cache setting (both services running), and the profile after the last one."""
    base = sticker.url
    wrk(base + REPEATED, 8, 5)  # warm-up: connections, both workers' caches, plans
    wrk(base + "/", 8, 3, stack.lua, (secrets.token_hex(3),))
    groups = {"sticker": sticker.pids, "search": search.pids, "postgres": backend_pids}
    for concurrency in args.levels:
        for kind in ("repeated", "unique"):
            row = measure_cell(stack, base, concurrency, kind, args, groups, result.loads)
            result.rows.append((f"{ttl:g} s" if ttl else "off", *row))
            print(result.rows[-1], flush=True)
    if args.profile and ttl == args.ttls[-1]:
        pids = search.pids()[1:] + sticker.pids()[1:]
        result.hot = profile_run(pids, base, max(args.levels), args.duration)


def section_lines(args: argparse.Namespace, env: dict[str, str], measured: Measured) -> list[str]:
    lines = [
        common.machine_line(measured.loads[:1] + measured.loads[-1:]),
        "",
        f"`.venv/bin/python -m benchmarks.load_public --stickers {args.stickers} --duration {args.duration} "
        f"--repeats {args.repeats}`: {common.model_label(env)}, {args.stickers:,} stickers (random vectors). "
        "wrk on 127.0.0.1 against sticker_service's `GET /api/search/` (limit 10), which calls search_service "
        "over HTTP; both under gunicorn with their default gunicorn.conf.py (search 2x4, sticker 2x8 threads), "
        "access logs on; public search rate limit lifted; search_service's result cache "
        "(SEARCH_RESULT_CACHE_TTL, off by default) off and on. wrk, both services and PostgreSQL share the same 2 "
        f"cores. {args.duration} s per run, {args.repeats} runs per row (median; all runs listed).",
        "",
        *common.table(
            [
                "result cache",
                "concurrency",
                "queries",
                "requests/s (median)",
                "runs",
                "p50 ms",
                "p99 ms",
                "errors",
                "CPU ms/request: sticker / search / postgres",
                "CPU bound req/s",
            ],
            measured.rows,
        ),
        "",
        "CPU ms/request: user+system CPU time of each service's gunicorn processes and of the PostgreSQL "
        "backends serving the two databases during the run, divided by the requests answered (medians). CPU bound "
        f"= {os.cpu_count()} cores / their sum: the rate if those three had the cores to themselves (wrk, the "
        "kernel's network stack and everything else on the machine excluded).",
    ]
    if measured.hot:
        hot = measured.hot
        lines += [
            "",
            f"py-spy, repeated queries at concurrency {max(args.levels)}, result cache {args.ttls[-1]:g} s: share of "
            "samples of threads holding the GIL (Python CPU of both services' workers), by innermost frame "
            "(self) and, for this repository's functions, including what they call:",
            "",
            *common.table(
                ["self", "frame", "inclusive", "our function"],
                [
                    (f"{a[1]:.1%}", f"`{a[0]}`", f"{b[1]:.1%}" if b else "", f"`{b[0]}`" if b else "")
                    for a, b in itertools.zip_longest(hot["self"], hot["ours"][: len(hot["self"])])
                ],
            ),
        ]
    return lines


def main() -> None:
    args = arguments()
    stack = set_up(args)
    try:
        measured = measure(stack, args)
    finally:
        shutil.rmtree(stack.work, ignore_errors=True)
        if not args.keep:
            common.drop_database(STICKER_DB)
            common.drop_database(SEARCH_DB)
    lines = section_lines(args, stack.env, measured)
    common.write_section("load-public", "Public search under load", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
