"""Load on the public search endpoint through gunicorn, both services running; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.load_public [--stickers 10000] [--data uniform|seeded] [--model auto]
        [--duration 15] [--repeats 3] [--concurrency 8,32] [--result-cache 0,30] [--clients 1000]
        [--gunicorn sticker=2x8,search=2x4] [--redis URL] [--base-tree DIR] [--profile] [--pg-log FILE]
        [--section NAME] [--keep] [--no-write]

Set-up (127.0.0.1 only): search_service's table in ``bench_load`` (``bench_load_seeded``) gets ``--stickers``
generated stickers (``--data``: uniform random unit vectors, HNSW's worst case, or seeded ones, noisy copies of the
demo stickers' real embeddings; loaded and HNSW-indexed by ``benchmarks.catalogue``, as in ``search_latency.py``);
sticker_service gets a fresh ``bench_sticker`` database. Both run under gunicorn with their own
``gunicorn.conf.py`` (by default search_service 2 workers x 4 threads, sticker_service 2 workers x 8 threads;
``--gunicorn`` sets other counts through STICKER_WORKERS/THREADS and SEARCH_WORKERS/THREADS, several separated by
``;`` measured one after the other in the same run (``--profile`` profiles the first); access logs on, into a
file), the service token set, and sticker_service talking to search_service over HTTP.

Clients: with ``--clients N`` (default 1000) every request comes from one of N client addresses (X-Forwarded-For,
drawn at random; sticker_service trusts one proxy), so the per-client rate limit of the public search stays on at
its default (120/minute) and its store (the database cache, or Redis with ``--redis``) and the distinct-client rows of
the query log work as they would for N real clients. ``--clients 0``: one client, the rate limit lifted
(``THROTTLE_RATE_SEARCH=``).

``--base-tree DIR`` (another checkout, e.g. ``git worktree add --detach /work/wt-base main``): the same rows with
both services run from that checkout first (its own migrated ``bench_sticker_base``), then from this one: a
before/after in one run.

Then ``wrk`` (Debian's package) against ``GET /api/search/?query=...&limit=10`` for ``--duration`` seconds per
run, ``--repeats`` runs per cell, at each concurrency, with
* repeated queries: the same query every time (its embedding cached in search_service's LRU), and
* unique queries: a new query text on every request, so search_service encodes each one and sticker_service
  inserts a new query-log row.
Medians over the runs of requests/s and of wrk's p50/p99 latency. ``--profile`` adds, for each checkout, one
repeated-query and one unique-query run at the highest concurrency (no result cache) with py-spy sampling both
services' workers and PostgreSQL logging every statement with its duration (``benchmarks.profiling``): statements
per request and where their time goes, and each service's hottest Python frames. The databases are dropped at
the end unless ``--keep``.
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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import catalogue, common, profiling
from benchmarks.data import Catalogue, add_data_option

STICKER_DB = "bench_sticker"
DEFAULT_GUNICORN = "sticker=2x8,search=2x4"  # the services' gunicorn.conf.py defaults
SEARCH_PATH = "/api/search/?limit=10&query="
# One script for both kinds: repeated (one query) or unique (a new one per request), from ``clients`` addresses.
LUA = f"""
local threads = {{}}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  unique = args[1] == "unique"
  tag = args[2]
  clients = tonumber(args[3])
  counter = 0
  math.randomseed(tid * 7919 + os.time())
end
function request()
  counter = counter + 1
  local path = "{SEARCH_PATH}" .. "cat+in+a+park"
  if unique then
    path = "{SEARCH_PATH}" .. "sticker+" .. tag .. "+" .. tostring(tid) .. "+" .. counter
  end
  if clients > 0 then
    local c = math.random(0, clients - 1)
    return wrk.format("GET", path, {{["X-Forwarded-For"] = "10.1." .. math.floor(c / 256) .. "." .. (c % 256)}})
  end
  return wrk.format("GET", path)
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
        "non2xx": 0,
    }
    for pct in ("50", "99"):
        result[f"p{pct}"] = duration(re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M)[1])
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["errors"] += int(match[1])
        result["non2xx"] = int(match[1])
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


def cpu_groups(args: argparse.Namespace) -> list[str]:
    return ["sticker", "search", "postgres", *(["redis"] if args.redis else [])]


def redis_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in found.split()]


def backend_pids(databases: tuple[str, ...]) -> list[int]:
    """PostgreSQL backends serving the benchmark databases."""
    return list(profiling.backend_databases(databases))


@dataclass
class Tree:
    """One checkout whose services are measured: its label, its services' folders, its sticker_service database."""

    label: str
    root: Path
    sticker_db: str

    @property
    def search_dir(self) -> Path:
        return self.root / common.SEARCH_DIR.name

    @property
    def sticker_dir(self) -> Path:
        return self.root / common.STICKER_DIR.name


@dataclass
class Stack:
    """Both services' environments (databases ready, sticker_service migrated), the scratch folder, the wrk script."""

    env: dict[str, str]  # the model's settings
    search_db: str
    search_env: dict[str, str]
    sticker_env: dict[str, str]
    search_port: int
    sticker_port: int
    token: str
    work: Path
    lua: Path
    trees: list[Tree]


@dataclass
class Measured:
    rows: list[tuple] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    profiles: list[tuple[str, str, dict[str, profiling.Hot], list[tuple]]] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)  # per checkout: sticker_service's answers, by status


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stickers", type=int, default=10_000)
    add_data_option(parser)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument(
        "--result-cache",
        default="0,30",
        help="SEARCH_RESULT_CACHE_TTL values to run search_service with (seconds, 0 = off)",
    )
    parser.add_argument("--clients", type=int, default=1000, help="client addresses (0: one, rate limit lifted)")
    parser.add_argument("--base-tree", type=Path, help="another checkout to measure first (before/after)")
    parser.add_argument(
        "--gunicorn", default=DEFAULT_GUNICORN, help="workers x threads per service; several separated by ';'"
    )
    parser.add_argument("--redis", default="", help="sticker_service's REDIS_URL (its cache and rate store)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--section", default="", help="a name for a separate RESULTS.md section")
    parser.add_argument("--pg-log", type=Path, default=common.REPO / ".data" / "pg" / "server.log")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    if args.profile and not args.pg_log.exists():
        raise SystemExit(f"--profile reads PostgreSQL's log: {args.pg_log} does not exist (--pg-log)")
    if not 0 <= args.clients <= 65536:
        raise SystemExit("--clients: 0..65536")
    args.levels = [int(c) for c in args.concurrency.split(",")]
    args.ttls = [float(t) for t in args.result_cache.split(",")]
    args.processes = [processes(config) for config in args.gunicorn.split(";")]
    return args


def processes(config: str) -> dict[str, tuple[int, int]]:
    """``sticker=2x8,search=2x4`` -> {service: (workers, threads)}."""
    parsed = {}
    try:
        for part in config.split(","):
            name, size = part.split("=", 1)
            workers, threads = size.split("x")
            parsed[name] = (int(workers), int(threads))
        assert set(parsed) == {"sticker", "search"}
    except (ValueError, AssertionError):
        raise SystemExit("--gunicorn: sticker=<workers>x<threads>,search=<workers>x<threads>[;...]") from None
    return parsed


def describe(config: dict[str, tuple[int, int]]) -> str:
    return ", ".join(f"{service} {workers}x{threads}" for service, (workers, threads) in config.items())


def gunicorn_env(config: dict[str, tuple[int, int]]) -> dict[str, str]:
    return {
        f"{service.upper()}_{name}": str(value)
        for service, counts in config.items()
        for name, value in zip(("WORKERS", "THREADS"), counts, strict=True)
    }


def _commit(root: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=False
    ).stdout.strip()


def set_up(args: argparse.Namespace) -> Stack:
    """search_service's catalogue (generated, indexed) and a fresh, migrated sticker_service database per checkout."""
    env = common.model_env(args.model)
    search_db = "bench_load" if args.data == "uniform" else f"bench_load_{args.data}"
    common.create_database(search_db)
    common.setup_search_django(search_db, env)
    from django.db import connections

    from search_service.encoders.loader import get_encoder
    from search_service.encoders.spec import resolve_model_spec

    catalogue.load_and_index(Catalogue.of(args.data, get_encoder()), resolve_model_spec().model_id, args.stickers, 30)
    connections.close_all()
    trees = [Tree(f"this ({_commit(common.REPO)})", common.REPO, STICKER_DB)]
    if args.base_tree:
        trees.insert(0, Tree(f"base ({_commit(args.base_tree)})", args.base_tree.resolve(), f"{STICKER_DB}_base"))
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    token = secrets.token_urlsafe(24)
    search_port, sticker_port = common.free_port(), common.free_port()
    search_env = common.service_env(
        "search",
        search_db,
        **env,
        SEARCH_BIND=f"127.0.0.1:{search_port}",
        SEARCH_SERVICE_TOKEN=token,
        SEARCH_MEDIA_ROOT=str(work / "media"),
    )
    clients = {"THROTTLE_NUM_PROXIES": "1"} if args.clients else {"THROTTLE_RATE_SEARCH": ""}
    sticker_env = common.service_env(
        "sticker",
        STICKER_DB,
        STICKER_BIND=f"127.0.0.1:{sticker_port}",
        SEARCH_SERVICE_URL=f"http://127.0.0.1:{search_port}",
        SEARCH_SERVICE_TOKEN=token,
        REDIS_URL=args.redis,
        **clients,
    )
    for tree in trees:
        common.create_database(tree.sticker_db, fresh=True, vector=False)
        tree_env = {**sticker_env, "STICKER_DATABASE_URL": common.db_url(tree.sticker_db)}
        common.manage(tree.sticker_dir, tree_env, "migrate", "--noinput", "-v0")
    lua = work / "search.lua"
    lua.write_text(LUA)
    return Stack(env, search_db, search_env, sticker_env, search_port, sticker_port, token, work, lua, trees)


def run_wrk(stack: Stack, base: str, concurrency: int, duration: int, kind: str, clients: int) -> dict:
    return wrk(base + "/", concurrency, duration, stack.lua, (kind, secrets.token_hex(4), str(clients)))


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
        runs.append(run_wrk(stack, base, concurrency, args.duration, kind, args.clients))
        for name, pids in groups.items():
            used = cpu_used(before[name], cpu_seconds(pids()))
            runs[-1][f"cpu_{name}"] = used / max(runs[-1]["requests"], 1)
        loads.append(common.loadavg())
    cpu = {name: common.median([r[f"cpu_{name}"] for r in runs]) for name in groups}
    return (
        concurrency,
        kind,
        f"{common.median([r['rps'] for r in runs]):.0f}",
        " / ".join(f"{r['rps']:.0f}" for r in runs),
        common.fmt_ms(common.median([r["p50"] for r in runs])),
        common.fmt_ms(common.median([r["p99"] for r in runs])),
        f"{sum(run['errors'] for run in runs)} ({sum(run['non2xx'] for run in runs)} non-2xx)",
        " / ".join(common.fmt_ms(value) for value in cpu.values()),
        common.fmt_ms(sum(cpu.values())),
        f"{1 / sum(cpu.values()) * (os.cpu_count() or 1):.0f}",
    )


def profile_run(
    stack: Stack, tree: Tree, kind: str, args: argparse.Namespace, groups: dict[str, list[int]]
) -> tuple[dict[str, profiling.Hot], list[tuple]]:
    """One extra run of ``kind`` at the highest concurrency with py-spy on the workers and the statement log on."""
    base, concurrency = f"http://127.0.0.1:{stack.sticker_port}", max(args.levels)
    raw = common.CACHE_DIR / "load_public_profile" / f"{tree.sticker_db}-{kind}"  # raw stacks, for a closer look
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    with profiling.statement_log(args.pg_log) as entries:
        runner = subprocess.Popen(
            [
                *("wrk", "-t2", f"-c{concurrency}", f"-d{args.duration}s", "--latency", "-s", str(stack.lua)),
                *(base + "/", "--", kind, secrets.token_hex(4), str(args.clients)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        hot = profiling.py_spy(groups, args.duration, raw)
        output, _ = runner.communicate(timeout=args.duration + 60)
        databases = profiling.backend_databases((stack.search_db, tree.sticker_db))
    requests = parse_wrk(output)["requests"]
    names = {stack.search_db: "search_service", tree.sticker_db: "sticker_service"}
    rows = profiling.statement_rows(entries, {pid: names[db] for pid, db in databases.items()}, requests)
    for name, found in hot.items():
        print(f"{tree.label} {kind} {name}: {found.samples} samples")
    for row in rows:
        print(*row)
    return hot, rows


def measure(stack: Stack, args: argparse.Namespace) -> Measured:
    """Every checkout, result-cache setting, concurrency and kind of query, through both services under gunicorn."""
    result = Measured()
    for tree, config in itertools.product(stack.trees, args.processes):
        if len(args.processes) > 1:
            tree = Tree(f"{tree.label}, {describe(config)}", tree.root, tree.sticker_db)
        sticker_env = {
            **stack.sticker_env,
            **gunicorn_env(config),
            "STICKER_DATABASE_URL": common.db_url(tree.sticker_db),
        }
        log = stack.work / f"{tree.label}.log"
        sticker = common.Gunicorn(tree.sticker_dir, sticker_env, stack.sticker_port, log)
        try:
            for ttl in args.ttls:
                search_env = {**stack.search_env, **gunicorn_env(config), "SEARCH_RESULT_CACHE_TTL": str(ttl)}
                search = common.Gunicorn(tree.search_dir, search_env, stack.search_port, stack.work / "search.log")
                try:
                    search.start(headers={"Authorization": f"Bearer {stack.token}"})
                    if sticker.process is None:
                        sticker.start()
                    measure_ttl(stack, tree, args, ttl, search, sticker, result, config is args.processes[0])
                finally:
                    search.stop()
        finally:
            sticker.stop()
        statuses = Counter(re.findall(r'"GET /api/search/[^"]*" (\d{3}) ', log.read_text(errors="replace")))
        result.statuses[tree.label] = ", ".join(f"{n:,} x {code}" for code, n in sorted(statuses.items()))
    return result


def measure_ttl(
    stack: Stack,
    tree: Tree,
    args: argparse.Namespace,
    ttl: float,
    search: common.Gunicorn,
    sticker: common.Gunicorn,
    result: Measured,
    profile: bool,
) -> None:
    """The rows of one checkout and result-cache setting (both services running); the profiles without the cache."""
    base = sticker.url
    for kind in ("repeated", "unique"):  # warm-up: connections, both workers' caches, plans
        run_wrk(stack, base, 8, 4, kind, args.clients)
    databases = (stack.search_db, tree.sticker_db)
    groups = {"sticker": sticker.pids, "search": search.pids, "postgres": lambda: backend_pids(databases)}
    if args.redis:  # the rate store's work moves there: counted too
        groups["redis"] = redis_pids
    for concurrency in args.levels:
        for kind in ("repeated", "unique"):
            row = measure_cell(stack, base, concurrency, kind, args, groups, result.loads)
            result.rows.append((tree.label, f"{ttl:g} s" if ttl else "off", *row))
            print(result.rows[-1], flush=True)
    if profile and not ttl:
        workers = {"sticker_service": sticker.pids()[1:], "search_service": search.pids()[1:]}
        for kind in ("repeated", "unique"):
            result.profiles.append((tree.label, kind, *profile_run(stack, tree, kind, args, workers)))
            result.loads.append(common.loadavg())


def section_lines(args: argparse.Namespace, env: dict[str, str], measured: Measured) -> list[str]:
    clients = (
        f"requests from {args.clients:,} client addresses (X-Forwarded-For, one trusted proxy), the public search "
        "rate limit on at its default (120/minute per client; "
        + (
            f"Redis as its store, REDIS_URL={args.redis})"
            if args.redis
            else "the database cache as its store, REDIS_URL empty)"
        )
        if args.clients
        else "one client, the public search rate limit lifted"
    )
    command = (
        f"`.venv/bin/python -m benchmarks.load_public --stickers {args.stickers} --data {args.data} --duration "
        f"{args.duration} --repeats {args.repeats} --concurrency {args.concurrency} --result-cache "
        f"{args.result_cache} --clients {args.clients}"
        + (f" --gunicorn '{args.gunicorn}'" if args.gunicorn != DEFAULT_GUNICORN else "")
        + (f" --redis {args.redis}" if args.redis else "")
        + (f" --base-tree {args.base_tree}" if args.base_tree else "")
        + (" --profile" if args.profile else "")
        + (f" --section {args.section}" if args.section else "")
        + "`"
    )
    lines = [
        common.machine_line(measured.loads[:1] + measured.loads[-1:]),
        "",
        f"{command}: {common.model_label(env)}, {args.stickers:,} stickers ({args.data} vectors). wrk on 127.0.0.1 "
        "against sticker_service's `GET /api/search/` (limit 10), which calls search_service over HTTP; both under "
        f"gunicorn with their gunicorn.conf.py (workers x threads: {' / '.join(map(describe, args.processes))}), "
        "access logs on; "
        f"{clients}; search_service's result cache (SEARCH_RESULT_CACHE_TTL, off by default) as listed. wrk, both "
        f"services and PostgreSQL share the same 2 cores. {args.duration} s per run, {args.repeats} runs per row "
        "(median; all runs listed)"
        + (
            "; the rows of each checkout were measured one after the other (base first), both in this run"
            if args.base_tree
            else ""
        )
        + ".",
        "",
        *common.table(
            [
                "code",
                "result cache",
                "concurrency",
                "queries",
                "requests/s (median)",
                "runs",
                "p50 ms",
                "p99 ms",
                "errors (of which HTTP status)",
                "CPU ms/request: " + " / ".join(cpu_groups(args)),
                "CPU ms/request, all " + ("four" if args.redis else "three"),
                "CPU bound req/s",
            ],
            measured.rows,
        ),
        "",
        "CPU ms/request: user+system CPU time of each service's gunicorn processes and of the PostgreSQL "
        "backends serving the two databases"
        + (" (and of redis-server, the whole server)" if args.redis else "")
        + " during the run, divided by the requests answered (medians). CPU bound "
        f"= {os.cpu_count()} cores / their sum: the rate if those processes had the cores to themselves (wrk, the "
        "kernel's network stack and everything else on the machine excluded). Statuses of sticker_service's "
        "answers to the searches over the whole run (warm-up and profile runs included), from its access log: "
        + "; ".join(f"{label}: {statuses}" for label, statuses in measured.statuses.items())
        + ".",
    ]
    for label, kind, hot, statements in measured.profiles:
        lines += [
            "",
            f"**{label}, {kind} queries**, concurrency {max(args.levels)}, no result cache, one extra run of "
            f"{args.duration} s with PostgreSQL logging every statement's duration (which slows it: the run's own "
            "rate is not comparable to the rows above). Statements per request and the server's time in them "
            "(ms per request; a statement's duration as the server logs it, waits for locks included):",
            "",
            *common.table(["database", "statement", "per request", "ms/request", "ms each"], statements),
            "",
            "py-spy, the same run: share of each service's samples of threads holding the GIL (Python CPU), by "
            "innermost frame (self) and, for this repository's functions, including what they call:",
        ]
        for name, found in hot.items():
            lines += [
                "",
                f"{name} ({found.samples:,} samples):",
                "",
                *common.table(["self", "frame", "inclusive", "our function"], found.rows()),
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
            for tree in stack.trees:
                common.drop_database(tree.sticker_db)
            common.drop_database(stack.search_db)
    key, title = "load-public", "Public search under load"
    if args.data != "uniform":
        key, title = f"{key}-{args.data}", f"{title} ({args.data} data)"
    if args.section:
        key, title = (
            f"{key}-{args.section}",
            f"{title[:-1]}, {args.section})" if title.endswith(")") else f"{title} ({args.section})",
        )
    common.write_section(key, title, section_lines(args, stack.env, measured), write=not args.no_write)


if __name__ == "__main__":
    main()
