"""Text encoding (full context vs padding trimmed) and the query-embedding caches; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.text_encoding [--repeats 30] [--threads 1] [--redis redis://127.0.0.1:6379/14]
        [--no-write]

Models, each loaded through search_service's production path (``encoders.open_clip_backend.OpenClipEncoder``):
the offline default model (MiniLM text tower, 64-token context) and open_clip ViT-B-32 with random weights
(CLIP's causal text tower, 77-token context; timing does not depend on the weights).

1. One query at a time (as a search request encodes it), ``encode_texts([query])`` on each of the encoder's
   text paths: ``full`` (open_clip's ``encode_text``, the whole context: the baseline), ``trimmed`` (padding
   dropped) and ``fast`` (padding dropped, linear layers on oneDNN-packed weights: the default), alternated
   query by query so that all see the same machine load. Medians over ``--repeats`` rounds of 8 typical
   queries, and the largest difference to the full path's vectors over short, long, non-Latin and batched
   texts.
2. ``encoders.loader.embed_query`` with the default model: a new text (encoded, then stored), a repeated
   text (the worker's LRU), and a text another worker encoded (empty LRU, Redis GET), p50/p99.

torch threads: ``--threads`` (default 1: what each of gunicorn's 2 workers gets on this 2-core machine).
"""

from __future__ import annotations

import argparse
import secrets
import time

import numpy as np

from benchmarks import common

QUERIES = [
    "cat in a park",
    "happy birthday",
    "red heart",
    "dog",
    "pizza slice with cheese",
    "thumbs up",
    "rocket launch into space",
    "sad face with tears",
]
CHECK_TEXTS = [
    "cat in a park",
    "",
    "🐱 кошка на траве",
    "猫",
    "a " * 90 + "very long query, truncated",
    "thumbs up",
    "x",
]


def load(kind: str, threads: int):
    from search_service.encoders.open_clip_backend import OpenClipEncoder
    from search_service.encoders.spec import ModelSpec, resolve_model_spec

    if kind == "default":
        spec = resolve_model_spec()  # SEARCH_MODEL_NAME is empty in this process: the offline default model
    else:
        spec = ModelSpec(name="ViT-B-32", pretrained=str(common.vit_checkpoint()), model_id="ViT-B-32/random")
    return OpenClipEncoder(spec, device="cpu", threads=threads)


def time_call(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def compare(encoder, repeats: int) -> dict:
    """Per-query times on each text path, alternated query by query; the largest vector difference to full."""
    paths = encoder.text_paths
    times: dict[str, list[float]] = {path: [] for path in paths}
    try:
        for text in QUERIES * 2:  # warm-up
            for path in paths:
                encoder.text_path = path
                encoder.encode_texts([text])
        for _ in range(repeats):
            for text in QUERIES:
                for path in paths:
                    encoder.text_path = path
                    times[path].append(time_call(lambda text=text: encoder.encode_texts([text])))
        differences = []
        for batch in [[text] for text in CHECK_TEXTS] + [CHECK_TEXTS, QUERIES]:
            encoder.text_path = "full"
            reference = encoder.encode_texts(batch)
            for path in paths:
                encoder.text_path = path
                differences.append(float(np.abs(encoder.encode_texts(batch) - reference).max()))
    finally:
        encoder.text_path = paths[-1]
    tokens = encoder._tokenizer(["cat in a park"])
    return {"times": times, "max_diff": max(differences), "context": int(tokens.shape[1])}


def cell(times: dict[str, list[float]], path: str) -> str:
    if path not in times:
        return "-"
    return f"{common.fmt_ms(common.median(times[path]))} / {common.fmt_ms(common.percentile(times[path], 99))}"


def cache_latency(encoder, redis_url: str, repeats: int) -> dict[str, list[float]]:
    from django.conf import settings

    from search_service.encoders import loader

    settings.SEARCH_REDIS_URL = redis_url
    settings.SEARCH_REDIS_TIMEOUT = 0.5
    nonce = secrets.token_hex(4)
    texts = [f"{query} {nonce} {i}" for i in range(repeats) for query in QUERIES[:2]]
    loader.set_encoder(encoder)
    shared = loader.shared_text_cache()
    shared.get("reachability probe")
    if shared.errors:
        raise SystemExit(f"Redis at {redis_url} is not reachable")
    result: dict[str, list[float]] = {"miss": [], "lru": [], "redis": []}
    for text in texts:
        result["miss"].append(time_call(lambda text=text: loader.embed_query(text)))
        result["lru"].append(time_call(lambda text=text: loader.embed_query(text)))
    loader.set_encoder(encoder)  # a second worker: same Redis, empty LRU
    shared = loader.shared_text_cache()
    for text in texts:
        result["redis"].append(time_call(lambda text=text: loader.embed_query(text)))
    if shared.hits != len(texts):
        raise SystemExit(f"expected {len(texts)} Redis hits, got {shared.hits}")
    client = shared.redis.client
    client.delete(*[shared.key(text) for text in texts])
    loader.set_encoder(None)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    common.setup_search_django("bench_search", common.model_env("default"), migrate=False)
    loads, rows = [common.loadavg()], []
    encoders = {}
    for kind, label in (("default", "default model (MiniLM text tower)"), ("vit-b-32", "open_clip ViT-B-32")):
        encoder = encoders[kind] = load(kind, args.threads)
        result = compare(encoder, args.repeats)
        loads.append(common.loadavg())
        times = result["times"]
        full = common.median(times["full"])

        best = times.get("fast") or times.get("trimmed") or times["full"]
        rows.append(
            (
                label,
                result["context"],
                cell(times, "full"),
                cell(times, "trimmed"),
                cell(times, "fast"),
                f"{full / common.median(times['trimmed']):.1f}x" if "trimmed" in times else "-",
                f"{full / common.median(best):.1f}x",
                f"{result['max_diff']:.1e}",
            )
        )
        print(rows[-1], flush=True)
    cache = cache_latency(encoders["default"], args.redis, args.repeats)
    loads.append(common.loadavg())
    cache_rows = [
        (name, common.fmt_ms(common.percentile(values, 50)), common.fmt_ms(common.percentile(values, 99)))
        for name, values in (
            ("new text: encode + Redis SET", cache["miss"]),
            ("repeated text: worker's LRU", cache["lru"]),
            ("text another worker encoded: Redis GET", cache["redis"]),
        )
    ]
    print(cache_rows)

    lines = [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.text_encoding --repeats {args.repeats} --threads {args.threads}`; "
        f"torch threads = {args.threads} (each of gunicorn's 2 workers on 2 cores). One query per call, "
        f"{len(QUERIES)} typical short queries x {args.repeats} rounds, the paths alternated per query; "
        "milliseconds. Full = open_clip's `encode_text` (the baseline); trimmed = padding dropped; trimmed + "
        "packed = also the linear layers on oneDNN-packed weights (the service's default). Max diff = the largest "
        "element-wise difference to the full path's unit vectors over short, empty, non-Latin, truncated-long "
        "and batched texts.",
        "",
        *common.table(
            [
                "model",
                "context",
                "full p50 / p99",
                "trimmed p50 / p99",
                "trimmed + packed p50 / p99",
                "speed-up trimmed",
                "speed-up trimmed + packed",
                "max diff",
            ],
            rows,
        ),
        "",
        f"Query-embedding caches (`encoders.loader.embed_query`, default model, Redis at {args.redis}), "
        f"{len(cache['miss'])} texts, milliseconds:",
        "",
        *common.table(["path", "p50", "p99"], cache_rows),
    ]
    common.write_section("text-encoding", "Text encoding and query-embedding cache", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
