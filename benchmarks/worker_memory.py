"""Memory of a search worker and its text encoding, torch (open_clip) against ONNX Runtime, in one run; writes its
section of RESULTS.md.

    .venv/bin/python -m benchmarks.worker_memory [--queries 100] [--stickers 64] [--repeats 30] [--no-write]

The default model is exported once (``python -m search_service export_onnx`` into benchmarks/.cache/onnx), and
``--stickers`` generated stickers are indexed into a fresh database ``bench_worker_memory``. Then, per runtime
(``SEARCH_RUNTIME=torch`` and ``onnx``), search_service runs under gunicorn as ``make run`` starts it, but with one
worker (4 threads, 1 intra-op thread): the worker's resident memory (VmRSS) is read once it is ready (model
loaded) and again after ``--queries`` distinct searches over HTTP (each query encoded: no cache holds it), with
its peak (VmHWM).

Text encoding: both encoders loaded in this process through the production classes (1 thread each), one query
at a time as a search encodes it, alternated query by query so that both see the same machine load; medians and
p99 over ``--repeats`` rounds of 8 queries.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from benchmarks import common
from benchmarks.data import make_images
from benchmarks.text_encoding import QUERIES

DB = "bench_worker_memory"
ONNX_DIR = common.CACHE_DIR / "onnx"
RUNTIMES = ("torch", "onnx")
HEADERS = ("peak MB", "text p50 ms", "text p99 ms")


def memory_mb(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def serve_and_measure(env: dict[str, str], runtime: str, queries: int) -> dict[str, float]:
    """Resident MB of the one worker after loading, after ``queries`` searches, and its peak."""
    import requests

    port, token = common.free_port(), secrets.token_urlsafe(16)
    service_env = common.service_env(
        "search", DB, **env, SEARCH_RUNTIME=runtime, SEARCH_BIND=f"127.0.0.1:{port}", SEARCH_SERVICE_TOKEN=token,
        SEARCH_WORKERS="1", SEARCH_THREADS="4", SEARCH_TORCH_THREADS="1", GUNICORN_ACCESS_LOG="",
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    log = common.CACHE_DIR / f"worker_memory-{runtime}.log"
    with common.Gunicorn(common.SEARCH_DIR, service_env, port, log).start(headers=headers) as server:
        (worker,) = server.pids()[1:]
        loaded = memory_mb(worker)["VmRSS"]
        session = requests.Session()
        for n in range(queries):
            query = f"{QUERIES[n % len(QUERIES)]} {n}"
            response = session.get(f"{server.url}/api/search/", params={"query": query}, headers=headers, timeout=60)
            response.raise_for_status()
        after = memory_mb(worker)
        model = response.json()["model"]
    print(f"  {runtime}: {loaded:.0f} MB loaded, {after['VmRSS']:.0f} MB after {queries} queries ({model})")
    return {"loaded": loaded, "after": after["VmRSS"], "peak": after["VmHWM"]}


def encoding_times(env: dict[str, str], repeats: int) -> dict[str, list[float]]:
    """Seconds per one-query ``encode_texts`` by each runtime's encoder, alternated query by query."""
    common.setup_search_django(DB, {**env, "SEARCH_ONNX_DIR": str(ONNX_DIR)}, migrate=False)
    from search_service.encoders.onnx_backend import OnnxEncoder, read_export
    from search_service.encoders.open_clip_backend import OpenClipEncoder
    from search_service.encoders.spec import resolve_model_spec

    spec = resolve_model_spec()
    encoders = {"torch": OpenClipEncoder(spec, device="cpu", threads=1), "onnx": OnnxEncoder(
        read_export(ONNX_DIR, spec.model_id), threads=1)}  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(repeats):
        for query in QUERIES:
            for name, encoder in encoders.items():
                times[name] += common.timed(lambda q, e=encoder: e.encode_texts([q]), [query])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--stickers", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    env = {**common.model_env("default"), "SEARCH_ONNX_DIR": str(ONNX_DIR)}
    common.create_database(DB, fresh=True)
    loads = [common.loadavg()]
    try:
        setup_env = common.service_env("search", DB, **env, SEARCH_RUNTIME="torch")
        print(common.manage(common.SEARCH_DIR, setup_env, "export_onnx").strip(), flush=True)
        common.manage(common.SEARCH_DIR, setup_env, "migrate", "--noinput", "-v0")
        folder = make_images(args.stickers, 128)
        common.manage(common.SEARCH_DIR, setup_env, "index_images", str(folder), "--no-progress")
        memory = {runtime: serve_and_measure(env, runtime, args.queries) for runtime in RUNTIMES}
        loads.append(common.loadavg())
        times = encoding_times(env, args.repeats)
        loads.append(common.loadavg())
    finally:
        common.drop_database(DB)
    rows = [
        (runtime, f"{memory[runtime]['loaded']:.0f}", f"{memory[runtime]['after']:.0f}",
         f"{memory[runtime]['peak']:.0f}", common.fmt_ms(common.median(times[runtime])),
         common.fmt_ms(common.percentile(times[runtime], 99)))
        for runtime in RUNTIMES
    ]  # fmt: skip
    lines = [
        common.machine_line(loads),
        "",
        f"Default model; one gunicorn worker (4 threads, 1 intra-op thread), {args.stickers} stickers indexed, "
        f"{args.queries} distinct searches over HTTP. Text encoding: one query per call, 1 thread, "
        f"{args.repeats} rounds of {len(QUERIES)} queries, runtimes alternated query by query.",
        "",
        *common.table(["runtime", "worker MB loaded", f"MB after {args.queries} queries", *HEADERS], rows),
        "",
        f"Text encoding, onnx / torch (p50): {common.median(times['onnx']) / common.median(times['torch']):.2f}.",
    ]
    common.write_section("worker-memory", "Search worker memory: torch vs ONNX Runtime", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
