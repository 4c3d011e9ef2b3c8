"""The shipped default model as search_service serves it, for benchmarks/quality.py: its costs (run in a fresh
process, ``python -m benchmarks.quality_served --threads N`` prints them as JSON, so that memory is the model's
and not the benchmark's caches) and how far the served image embeddings are from the head on cached features.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before the model libraries are imported

from benchmarks import common
from model_training import evaluation, sources
from search_service.default_model import build
from search_service.encoders.open_clip_backend import OpenClipEncoder


def served_encoder(threads: int) -> OpenClipEncoder:
    """search_service's encoder of the shipped model (padding-free text path, frozen image tower,
    ``index_images``' preprocessing), on the CPU."""
    from search_service.encoders.spec import ModelSpec

    return OpenClipEncoder(
        ModelSpec(f"local-dir:{build.ensure_model_dir()}", None, build.MODEL_ID), device="cpu", threads=threads
    )


def as_served(pool: evaluation.Pool, head: evaluation.Head, idx: Sequence[int], threads: int) -> float:
    """Largest |cosine difference| between the service's encoder on the pictures and the head on the cached
    features (fp16 cache: a few 1e-3 at most)."""
    served = served_encoder(threads).encode_images([sources.load_image(pool.items[i]) for i in idx])
    return float(np.abs((served * head.embed(pool, idx)).sum(1) - 1).max())


def status_mb(field: str) -> int:
    """A size of this process in MB from /proc/self/status (peaks: VmHWM, not ru_maxrss, which keeps the parent's
    size from before exec)."""
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024


def sticker(n: int) -> Image.Image:
    """A 128 px cut-out, different for each n."""
    im = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((8 + n % 20, 10, 118, 120 - n % 30), fill=(40 + n % 200, 90, 200 - n % 150, 255))
    return im


def costs(threads: int) -> dict[str, str]:
    """In the order a worker meets them: loading, text queries, single uploads; then the index command's
    batches."""
    encoder = served_encoder(threads)
    out = {
        "resident memory after loading the model (torch, open_clip and transformers alone: about 0.85 GB)": (
            f"{status_mb('VmRSS')} MB"
        )
    }
    words = ["cat in a park", "red heart", "pizza", "a happy face with sunglasses", "rocket", "birthday cake"]
    queries = [f"{w} {n}" for n in range(5) for w in words]  # all different: nothing is cached in between
    times = common.timed(lambda q: encoder.encode_texts([q]), queries)
    out[f"ms per text query (median of {len(queries)} different queries, text path {encoder.text_path})"] = (
        f"{1000 * float(np.median(times)):.1f}"
    )
    for n in range(10):  # single uploads (POST /api/images/), the first one freezes the image tower
        encoder.encode_images([sticker(n)])
    out["a worker: resident / peak memory after the text queries and 10 single uploads"] = (
        f"{status_mb('VmRSS')} / {status_mb('VmHWM')} MB"
    )
    for batch in (8, 32):
        images = [sticker(n) for n in range(batch)]
        encoder.encode_images(images)  # warm-up at this shape
        rounds, start = max(2, 128 // batch), time.perf_counter()
        for _ in range(rounds):
            encoder.encode_images(images)
        out[f"128 px stickers/s @ batch {batch} (preprocessing + model)"] = (
            f"{rounds * batch / (time.perf_counter() - start):.0f}"
        )
        out[f"after batches of {batch} (index_images --batch-size {batch}): resident / peak memory"] = (
            f"{status_mb('VmRSS')} / {status_mb('VmHWM')} MB"
        )
    out["load average during the run"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return out


def costs_in_fresh_process(threads: int) -> dict[str, str]:
    """:func:`costs` in a new interpreter (this module run as a script)."""
    command = [sys.executable, "-m", "benchmarks.quality_served", "--threads", str(threads)]
    out = subprocess.run(command, cwd=common.REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the costs of the shipped model as served, as JSON.")
    parser.add_argument("--threads", type=int, default=2)
    print(json.dumps(costs(parser.parse_args().threads)))


if __name__ == "__main__":
    main()
