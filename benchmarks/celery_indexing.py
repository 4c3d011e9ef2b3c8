"""Bulk indexing on Celery workers vs the single-process command, in images/s; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.celery_indexing [--images 256] [--size 256] [--model auto] [--batch-size 16]
        [--broker redis://127.0.0.1:6379/12] [--no-write]

The same ``--images`` generated PNGs (``benchmarks.data.make_images``, indexing.py's, cached in benchmarks/.cache)
are indexed into a fresh database three ways, every process with ``SEARCH_TORCH_THREADS=1``:

1. ``python -m search_service index_images DIR`` (one process);
2. ``python -m search_service index_images DIR --queue`` with one Celery worker
   (``celery -A search_service.config.celery worker``, concurrency 1), started and ready (model loaded) before
   the command;
3. the same with two such workers.

Rate = images embedded / seconds of the indexing loop, as each command reports it (model loading and the final
HNSW build excluded in all three; the queue runs include enqueueing and collecting results). Goal: two workers
>= 1.7x one worker. The machine is shared: its load average is recorded with the figures.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks import common
from benchmarks.data import make_images
from testkit.celery_worker import CeleryWorker

DB = "bench_celery_index"
GOAL = 1.7


def _rate(output: str, count: int) -> tuple[float, float]:
    match = re.search(r"(\d+) images embedded in ([\d.]+) s: ([\d.]+) images/s", output)
    if not match or int(match[1]) != count:
        raise RuntimeError(f"unexpected index_images output:\n{output}")
    return float(match[3]), float(match[2])


def run(folder: Path, env: dict[str, str], *, workers: int, batch_size: int, count: int, broker: str) -> float:
    """images/s of one indexing run into a fresh database; ``workers`` 0 = the single-process command."""
    common.create_database(DB, fresh=True)
    media = Path(tempfile.mkdtemp(prefix="bench-celery-media-"))
    queue = f"bench-index-{secrets.token_hex(4)}"
    service_env = common.service_env(
        "search",
        DB,
        **env,
        SEARCH_MEDIA_ROOT=str(media),
        SEARCH_TORCH_THREADS="1",
        SEARCH_CELERY_BROKER_URL=broker,
        SEARCH_CELERY_QUEUE=queue,
    )
    started_workers: list[CeleryWorker] = []
    try:
        common.manage(common.SEARCH_DIR, service_env, "migrate", "--noinput", "-v0")
        for n in range(workers):
            started_workers.append(CeleryWorker({**service_env, "LOG_LEVEL": "INFO"}, name=f"bench{n}").start())
        for worker in started_workers:
            worker.wait_ready(timeout=600)
        args = ["index_images", str(folder), "--batch-size", str(batch_size), "--no-progress"]
        output = common.manage(common.SEARCH_DIR, service_env, *args, *(["--queue"] if workers else []))
        return _rate(output, count)[0]
    finally:
        for worker in started_workers:
            worker.stop()
        shutil.rmtree(media, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    env = common.model_env(args.model)
    folder = make_images(args.images, args.size)
    count = len(list(folder.glob("*.png")))
    loads, rates = [common.loadavg()], {}
    try:
        for label, workers in (("single process (index_images)", 0), ("1 Celery worker", 1), ("2 Celery workers", 2)):
            started = time.perf_counter()
            rates[label] = run(
                folder, env, workers=workers, batch_size=args.batch_size, count=count, broker=args.broker
            )
            loads.append(common.loadavg())
            print(f"  {label}: {rates[label]:.1f} images/s ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        common.drop_database(DB)
    one, two = rates["1 Celery worker"], rates["2 Celery workers"]
    speedup = two / one
    verdict = "met" if speedup >= GOAL else "missed"
    rows = [(label, f"{rate:.1f}", f"{rate / one:.2f}x") for label, rate in rates.items()]
    lines = [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.celery_indexing --images {args.images} --size {args.size} --batch-size "
        f"{args.batch_size}`: {common.model_label(env)}; {count} generated RGBA PNGs of {args.size}x{args.size} px, "
        "each run into a fresh database; every process with 1 torch thread (`SEARCH_TORCH_THREADS=1`); Celery "
        "workers with concurrency 1, ready (model loaded) before the command starts; Redis broker on this machine. "
        "Rate = images embedded per second of the command's indexing loop (queue runs: from the first batch "
        "enqueued to the last result collected).",
        "",
        *common.table(["indexing", "images/s", "vs 1 worker"], rows),
        "",
        f"Goal: 2 workers >= {GOAL}x one worker: {speedup:.2f}x, **{verdict}**. This machine is shared with other "
        "agents' test runs (see the load averages above, on its cores): two workers only scale when two cores are "
        "free for them.",
    ]
    common.write_section("celery-indexing", "Indexing on Celery workers", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
