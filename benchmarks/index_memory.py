"""Peak memory of an indexing process (``python -m search_service index_images``) per batch size, with the real
model; writes its section of RESULTS.md. It picks SEARCH_INDEX_BATCH_SIZE's default: the largest batch whose
process stays under 1.5 GB (issue 23).

    .venv/bin/python -m benchmarks.index_memory [--images 256] [--size 512] [--batches 8,12,16,24,32] [--no-write]

Each batch size indexes ``--images`` generated sticker-like PNGs (benchmarks/data.py, ``--size`` px) into a fresh
database ``bench_index_memory`` with the default model (``SEARCH_MODEL_NAME`` empty), in a new process that prints
its own peak resident size (VmHWM of /proc/self/status, read at exit: the whole process, model load, decoding,
embedding, storing and the HNSW build included).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import common
from benchmarks.data import make_images

DB = "bench_index_memory"
LIMIT_MB = 1536  # 1.5 GB
# The indexing command, run by a wrapper that prints the process's peak resident size when it exits.
WRAPPER = (
    "import atexit, re, runpy, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', status).group(1), flush=True)\n"
    "atexit.register(peak)\n"
    "sys.argv = ['search_service', *sys.argv[1:]]\n"
    "runpy.run_module('search_service', run_name='__main__', alter_sys=True)\n"
)


def peak_mb(folder: Path, batch: int, count: int) -> int:
    common.create_database(DB, fresh=True)
    media = Path(tempfile.mkdtemp(prefix="bench-index-memory-"))
    env = common.service_env("search", DB, **common.model_env("default"), SEARCH_MEDIA_ROOT=str(media))
    try:
        common.manage(common.SEARCH_DIR, env, "migrate", "--noinput", "-v0")
        command = [sys.executable, "-c", WRAPPER, "index_images", str(folder), "--batch-size", str(batch)]
        result = subprocess.run([*command, "--no-progress"], cwd=common.REPO, env=env, capture_output=True, text=True)
        embedded = re.search(r"(\d+) images embedded", result.stdout)
        if result.returncode or not embedded or int(embedded[1]) != count:
            raise RuntimeError(f"index_images failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        return int(re.search(r"PEAK_RSS_KB (\d+)", result.stdout)[1]) // 1024
    finally:
        shutil.rmtree(media, ignore_errors=True)
        common.drop_database(DB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batches", default="8,12,16,24,32")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    folder = make_images(args.images, args.size)
    rows, loads = [], []
    for batch in [int(b) for b in args.batches.split(",")]:
        mb = peak_mb(folder, batch, args.images)
        loads.append(common.loadavg())
        rows.append((batch, mb, "yes" if mb < LIMIT_MB else "no"))
        print(f"  batch {batch}: peak {mb} MB", flush=True)
    under = [batch for batch, mb, _ in rows if mb < LIMIT_MB]
    lines = [
        common.machine_line(loads),
        "",
        f"`index_images` of {args.images} generated {args.size} px stickers with the default model, one new process "
        "per batch size; peak = the process's VmHWM at exit (model load, decoding, embedding, storing, HNSW build).",
        "",
        *common.table(["--batch-size", "peak resident MB", "under 1.5 GB"], rows),
        "",
        f"Largest batch under 1.5 GB: {max(under) if under else 'none'}.",
    ]
    common.write_section("index-memory", "Peak memory of an indexing process", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
