"""Quick numbers for search_service on this machine (the real benchmarks live in benchmarks/).

    cd search_service && ../.venv/bin/python bench/quick_bench.py [--stickers 10000] [--queries 300] [--images 256]

Uses a scratch database next to SEARCH_DATABASE_URL's (created and dropped here) and a temporary media folder:
1. index_images throughput: ``--images`` generated PNGs indexed by the real command with open_clip ViT-B-32
   (random weights, saved to a temporary checkpoint file: no download);
2. search latency: ``--stickers`` synthetic unit vectors (CLIP-like clusters, or uniformly random with
   --random; half with a title/tags vector) inserted directly, then p50/p95 of ``ranking.selectors.search``
   (the SQL: HNSW candidates + exact re-score), its recall@10 against an exact scan, and p50/p95 of the whole
   ``GET /api/search/`` with distinct queries (text tower included, no cache hits).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SERVICE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SERVICE_DIR))


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stickers", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--random", action="store_true", help="uniformly random vectors instead of CLIP-like ones")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    base_url = os.environ["SEARCH_DATABASE_URL"]
    parts = urlsplit(base_url)
    scratch = f"{parts.path.lstrip('/')}_quickbench_{os.getpid()}"
    import psycopg2

    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{scratch}"')
    tmp = Path(tempfile.mkdtemp(prefix="quickbench-"))
    try:
        run(args, urlunsplit(parts._replace(path=f"/{scratch}")), tmp)
    finally:
        from django.db import connections

        connections.close_all()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)  # the 600 MB checkpoint, images and media


def run(args, database_url: str, tmp: Path) -> None:
    import open_clip
    import torch

    checkpoint = tmp / "vit-b-32-random.pt"
    torch.manual_seed(0)
    torch.save(open_clip.create_model("ViT-B-32", pretrained=None).state_dict(), checkpoint)
    os.environ.update(SEARCH_DATABASE_URL=database_url, SEARCH_MODEL_NAME="ViT-B-32",
                      SEARCH_MODEL_PRETRAINED=str(checkpoint), SEARCH_MEDIA_ROOT=str(tmp / "media"),
                      SEARCH_SERVICE_TOKEN="", DJANGO_SETTINGS_MODULE="config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, torch threads "
          f"{torch.get_num_threads()}")

    # 1. index_images
    from testing.images import make_image

    folder = tmp / "images"
    folder.mkdir()
    for i in range(args.images):
        make_image(i, size=256, mode="RGBA" if i % 2 else "RGB").save(folder / f"bench_{i:05d}.png")
    from encoders.loader import get_encoder

    encoder = get_encoder()  # load the model outside the timing, as a worker does at start
    started = time.perf_counter()
    call_command("index_images", str(folder), "--batch-size", str(args.batch_size), "--no-progress")
    print(f"index_images wall time {time.perf_counter() - started:.1f} s for {args.images} images")

    # 2. search latency at --stickers
    import numpy as np
    from django.conf import settings
    from django.db import connection

    from ranking import selectors
    from stickers.blending import blend
    from stickers.models import Sticker
    from stickers.vector_index import drop_stale_vector_indexes, ensure_vector_indexes

    Sticker.objects.all().delete()
    drop_stale_vector_indexes()  # bulk load, then one index build (as index_images does for a new model)
    rng = np.random.default_rng(0)
    dim, model_id = encoder.dim, encoder.model_id

    def unit(x):
        return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)

    # CLIP-like vectors unless --random: a shared direction, 100 topics, noise; title/tags vectors follow
    # their image's topic. Uniformly random 512-d vectors are HNSW's worst case (no structure to navigate).
    common, topics = rng.standard_normal(dim), rng.standard_normal((100, dim))

    def vectors(n, weight):
        if args.random:
            return unit(rng.standard_normal((n, dim)))
        topic = rng.integers(0, 100, n)
        return unit(weight * common + topics[topic] + 0.8 * rng.standard_normal((n, dim))), topic

    w = settings.SEARCH_TEXT_WEIGHT
    started = time.perf_counter()
    for start in range(0, args.stickers, 1000):
        n = min(1000, args.stickers - start)
        if args.random:
            images, texts = vectors(n, 0), vectors(n, 0)
        else:
            images, topic = vectors(n, 2.0)
            texts = unit(common + topics[topic] + 0.8 * rng.standard_normal((n, dim)))
        batch = [Sticker(filename=f"random_{start + i:06d}.png", sha256=f"{start + i:064x}", width=1, height=1,
                         title="t" if i % 2 == 0 else "", model_id=model_id, image_embedding=images[i],
                         text_embedding=texts[i] if i % 2 == 0 else None,
                         blended_embedding=blend(images[i], texts[i] if i % 2 == 0 else None, w), blend_weight=w)
                 for i in range(n)]
        Sticker.objects.bulk_create(batch)
    ensure_vector_indexes(model_id, dim)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stickers_sticker")
    print(f"inserted {args.stickers} random stickers and built the HNSW indexes in "
          f"{time.perf_counter() - started:.1f} s")

    if args.random:
        queries = unit(rng.standard_normal((args.queries, dim)))
    else:
        queries = unit(0.5 * common + topics[rng.integers(0, 100, args.queries)]
                       + rng.standard_normal((args.queries, dim)))
    for vector in queries[:20]:  # warm-up
        selectors.search(vector, model_id=model_id, limit=10)
    sql_ms = []
    for vector in queries:
        started = time.perf_counter()
        hits = selectors.search(vector, model_id=model_id, limit=10)
        sql_ms.append((time.perf_counter() - started) * 1000)
    assert len(hits) == 10

    # exact ranking for a recall check of the HNSW scan
    recall = []
    for vector in queries[:50]:
        approx = [h.filename for h in selectors.search(vector, model_id=model_id, limit=10)]
        exact = [h.filename for h in selectors.search(vector, model_id=model_id, limit=10, exact=True)]
        recall.append(len(set(approx) & set(exact)) / 10)

    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    http_ms = []
    for i in range(min(args.queries, 100)):
        started = time.perf_counter()
        response = client.get("/api/search/", {"query": f"a distinct query number {i}", "limit": 10})
        http_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    kind = "random" if args.random else "CLIP-like"
    print(f"search SQL at {args.stickers} {kind} stickers (w={settings.SEARCH_TEXT_WEIGHT}, ef_search="
          f"{settings.SEARCH_HNSW_EF_SEARCH}, exact scan up to {settings.SEARCH_EXACT_MAX_STICKERS}): "
          f"p50 {statistics.median(sql_ms):.1f} ms, p95 {percentile(sql_ms, 0.95):.1f} ms "
          f"({len(sql_ms)} queries); recall@10 vs exact {statistics.mean(recall):.3f}")
    print(f"GET /api/search/ (text tower + SQL, uncached queries): p50 {statistics.median(http_ms):.1f} ms, "
          f"p95 {percentile(http_ms, 0.95):.1f} ms ({len(http_ms)} queries)")


if __name__ == "__main__":
    main()
