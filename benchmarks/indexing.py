"""Indexing throughput of ``python -m search_service index_images`` in images/s; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.indexing [--images 512] [--size 512] [--model auto] [--repeats 3]
        [--batch-size 16] [--no-write]

``--images`` generated sticker-like PNGs (RGBA, ``--size`` px square, a few shapes on a transparent
background; cached in benchmarks/.cache) are indexed by the real command, in a subprocess, into a fresh
database ``bench_index`` (dropped at the end) with a fresh media folder, ``--repeats`` times. The command
reports images embedded per second of its indexing loop (reading, hashing, decoding, preprocessing,
embedding, storing files and rows); the wall time of the whole command (model load included) is shown too.
The seed slept one second per image: 1 image/s.

A breakdown in this process tells what bounds it: decode + preprocess per image (PIL, torchvision
transforms) and the model's image tower per batch (``encode_preprocessed``), same torch threads as the
command (torch's default: all cores).
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import common
from benchmarks.data import make_images

DB = "bench_index"


def run_command(folder: Path, env: dict[str, str], batch_size: int, count: int) -> tuple[float, float]:
    """(images/s reported by the command, wall seconds of the whole command)."""
    common.create_database(DB, fresh=True)
    media = Path(tempfile.mkdtemp(prefix="bench-index-media-"))
    service_env = common.service_env("search", DB, **env, SEARCH_MEDIA_ROOT=str(media))
    try:
        common.manage(common.SEARCH_DIR, service_env, "migrate", "--noinput", "-v0")
        started = time.perf_counter()
        output = common.manage(
            common.SEARCH_DIR,
            service_env,
            "index_images",
            str(folder),
            "--batch-size",
            str(batch_size),
            "--no-progress",
        )
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(media, ignore_errors=True)
    match = re.search(r"(\d+) images embedded in ([\d.]+) s: ([\d.]+) images/s", output)
    if not match or int(match[1]) != count:
        raise RuntimeError(f"unexpected index_images output:\n{output}")
    return float(match[3]), wall


def breakdown(folder: Path, env: dict[str, str], batch_size: int) -> dict[str, Any]:
    """Seconds per image: decode + preprocess, and the image tower, in this process."""
    common.setup_search_django(DB, env, migrate=False)
    from search_service.encoders.loader import get_encoder
    from search_service.stickers.images import decode_image

    encoder = get_encoder()
    files = sorted(folder.glob("*.png"))[: batch_size * 4]
    started = time.perf_counter()
    tensors = [encoder.preprocess(decode_image(path.read_bytes(), max_pixels=25_000_000).image) for path in files]
    decode = (time.perf_counter() - started) / len(files)
    default_path = encoder.image_path
    model = {}
    for path in dict.fromkeys(["eager", default_path]):
        encoder.image_path = path
        encoder.encode_preprocessed(tensors[:batch_size])  # warm-up (and the frozen tower's build)
        started = time.perf_counter()
        for i in range(0, len(tensors), batch_size):
            encoder.encode_preprocessed(tensors[i : i + batch_size])
        model[path] = (time.perf_counter() - started) / len(tensors)
    encoder.image_path = default_path
    import torch

    return {
        "decode": decode,
        "model": model[default_path],
        "eager": model["eager"],
        "path": default_path,
        "threads": torch.get_num_threads(),
    }


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    # search_service's SEARCH_INDEX_BATCH_SIZE default: what index_images uses when not told otherwise.
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args()


def measure(
    folder: Path, env: dict[str, str], args: argparse.Namespace, count: int, loads: list[str]
) -> tuple[list[tuple[float, float]], dict[str, Any]]:
    """``--repeats`` runs of the command, then the breakdown; the scratch database is dropped afterwards."""
    runs = []
    try:
        for _ in range(args.repeats):
            runs.append(run_command(folder, env, args.batch_size, count))
            loads.append(common.loadavg())
            print(f"  {runs[-1][0]:.1f} images/s (command wall {runs[-1][1]:.1f} s)", flush=True)
        parts = breakdown(folder, env, args.batch_size)
        loads.append(common.loadavg())
    finally:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        common.drop_database(DB)
    return runs, parts


def section_lines(
    args: argparse.Namespace,
    env: dict[str, str],
    count: int,
    runs: list[tuple[float, float]],
    parts: dict[str, Any],
    loads: list[str],
) -> list[str]:
    rate = common.median([r[0] for r in runs])
    rows = [
        (
            f"{rate:.1f}",
            " / ".join(f"{r[0]:.1f}" for r in runs),
            f"{common.median([r[1] for r in runs]):.1f}",
            f"{1 / (parts['decode'] + parts['model']):.0f}",
            f"{parts['decode'] * 1000:.1f}",
            f"{parts['model'] * 1000:.1f} ({parts['path']})",
            f"{parts['eager'] * 1000:.1f}",
            f"{rate:.0f}x",
        )
    ]
    print(rows)
    return [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.indexing --images {args.images} --size {args.size} --batch-size "
        f"{args.batch_size}`: {common.model_label(env)}; {count} generated RGBA PNGs of {args.size}x{args.size} px "
        f"into a fresh database, {args.repeats} runs (median; all listed). Breakdown measured in-process with "
        f"{parts['threads']} torch threads: ms per image for decode + preprocess and for the image tower "
        f"(batches of {args.batch_size}; the encoder's default path, and the eager channels-last tower for "
        "comparison); decode + tower bounds the rate (reading runs in a thread beside them). Seed: 1 image/s (it "
        "slept 1 s per image).",
        "",
        *common.table(
            [
                "images/s (median)",
                "runs",
                "command wall s",
                "bound: 1/(decode+model)",
                "decode+preprocess ms/img",
                "image tower ms/img",
                "eager tower ms/img",
                "vs seed",
            ],
            rows,
        ),
    ]


def main() -> None:
    args = arguments()
    env = common.model_env(args.model)
    folder = make_images(args.images, args.size)
    count = len(list(folder.glob("*.png")))
    loads = [common.loadavg()]
    runs, parts = measure(folder, env, args, count, loads)
    lines = section_lines(args, env, count, runs, parts, loads)
    common.write_section("indexing", "Indexing throughput", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
