"""Learning from feedback, measured with simulated users over the demo stickers; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.feedback [--clients 5] [--wrong 0.15] [--train-votes 100000] [--no-write]

Data: the 1,846 demo stickers as the default model embeds them (image and title/tags, blended as search_service
stores them), in a fresh database ``bench_feedback``. Labelled queries from their CLDR metadata
(search_service/demo_stickers/metadata.json): every keyword (tag) is a query whose relevant stickers are those
tagged with it, every name (title) a query whose relevant sticker is that one (a text that is both: the union).
Queries with 1..20 relevant stickers, split at random into two halves: voted and never-voted.

Simulated users: for each voted query, ``--clients`` distinct clients one after the other see the top 10 of the
ranking as it is then (with the lift of the votes before them), vote up each relevant and down each irrelevant
sticker shown, each vote wrong with probability ``--wrong``. Then one spamming client votes 1,000 times for one
irrelevant sticker of each voted query. Votes are kept per client, latest wins (as sticker_service keeps them),
and turned into boosts by sticker_service's own formula (feedback/scoring.py, default settings); the ranking is
search_service's exact blend (the catalogue is below SEARCH_EXACT_MAX_STICKERS) plus the boosts, computed with
numpy over the stored vectors.

Measured:
1. Voted queries: R@1 and nDCG@10 before and after the votes (rerank only).
2. The spam bound: the spammer's sticker's boost and rank, against one honest client's single up-vote for the same
   sticker; and what 1,000 raw votes would do without per-client dedup.
3. The query adapter: trained by search_service's own code (adapters.services.train_adapter, stored as a version)
   on the voted queries' aggregates; nDCG@10 of the never-voted queries with and without it, and of the voted
   queries (boosts + adapter vs boosts alone).
4. Rerank cost: search_service's search view (Django test client, in process, text embeddings cached) for the
   voted queries: GET without boosts vs POST with the queries' boosts; p50 of each and the difference.
5. Adapter training time on ``--train-votes`` simulated votes (clients voting on the top 10 of every labelled
   query): encoding the query texts and training, as ``train_query_adapter`` does after pulling the votes.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np

from benchmarks import common, search_latency
from sticker_service.feedback.scoring import vote_boost

# sticker_service's defaults (FEEDBACK_BOOST_MAX, FEEDBACK_BOOST_PRIOR, FEEDBACK_BOOST_HALF_CLIENTS).
BOOST = {"max_boost": 0.1, "prior": 1.0, "half_clients": 3.0}
SPAM_VOTES = 1000


def load_stickers(model_id: str, names: list[str], meta: dict, seeds: dict[str, np.ndarray]) -> np.ndarray:
    """The demo stickers as rows (real filenames, blended vectors); returns the blended vectors in id order."""
    from django.conf import settings

    from search_service.stickers.blending import blend
    from search_service.stickers.models import Sticker

    w = settings.SEARCH_TEXT_WEIGHT
    blended = [blend(image, text, w) for image, text in zip(seeds["image"], seeds["text"], strict=True)]
    Sticker.objects.all().delete()
    Sticker.objects.bulk_create(
        [
            Sticker(
                filename=name,
                sha256=f"{i:064x}",
                width=1,
                height=1,
                title=meta[name]["title"],
                tags=meta[name]["tags"],
                model_id=model_id,
                image_embedding=image,
                text_embedding=text,
                blended_embedding=vector,
                blend_weight=w,
            )
            for i, (name, image, text, vector) in enumerate(
                zip(names, seeds["image"], seeds["text"], blended, strict=True)
            )
        ],
        batch_size=500,
    )
    return np.asarray(blended, dtype=np.float32)


def labelled_queries(names: list[str], meta: dict) -> dict[str, set[int]]:
    relevant: dict[str, set[int]] = defaultdict(set)
    for index, name in enumerate(names):
        for text in [meta[name]["title"], *meta[name]["tags"]]:
            text = " ".join(text.casefold().split())
            if text:
                relevant[text].add(index)
    return {text: found for text, found in sorted(relevant.items()) if 1 <= len(found) <= 20}


def order(vector: np.ndarray, stickers: np.ndarray, boosts: dict[int, float] | None = None) -> np.ndarray:
    """Sticker indexes best first: blended score (+ boost), ties by id, as search_service's exact scan."""
    scores = stickers @ vector
    if boosts:
        scores = scores.copy()
        for index, boost in boosts.items():
            scores[index] += boost
    return np.lexsort((np.arange(len(scores)), -scores))


def counts_of(votes: dict[str, dict[int, int]]) -> tuple[dict[int, int], dict[int, int]]:
    """Distinct clients voting up / down per sticker (each client's latest vote)."""
    up: dict[int, int] = defaultdict(int)
    down: dict[int, int] = defaultdict(int)
    for client_votes in votes.values():
        for index, vote in client_votes.items():
            (up if vote > 0 else down)[index] += 1
    return up, down


def boosts_of(votes: dict[str, dict[int, int]]) -> dict[int, float]:
    up, down = counts_of(votes)
    return {index: vote_boost(up[index], down[index], **BOOST) for index in set(up) | set(down)}


def ndcg10(ranked: np.ndarray, relevant: set[int]) -> float:
    gains = [1.0 / np.log2(rank + 2) for rank, index in enumerate(ranked[:10]) if index in relevant]
    ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(len(relevant), 10)))
    return float(sum(gains) / ideal)


def simulate_clients(vector, relevant, stickers, rng, clients: int, wrong: float, live: bool = True):
    """Per-client latest votes of ``clients`` clients, each seeing the top 10 (with the lift so far if ``live``)."""
    votes: dict[str, dict] = {}
    for client in range(clients):
        shown = order(vector, stickers, boosts_of(votes) if live else None)[:10]
        choice = {}
        for index in shown:
            vote = 1 if int(index) in relevant else -1
            if rng.random() < wrong:
                vote = -vote
            choice[int(index)] = vote
        votes[f"client-{client}"] = choice
    return votes


def rank_of(index: int, ranked: np.ndarray) -> int:
    return int(np.flatnonzero(ranked == index)[0]) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--wrong", type=float, default=0.15)
    parser.add_argument("--train-votes", type=int, default=100_000)
    parser.add_argument("--timing-queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    env = common.model_env("default")
    database = "bench_feedback"
    common.create_database(database, fresh=True)
    common.setup_search_django(database, {**env, "SEARCH_ADAPTER_REFRESH": "3600"})
    from search_service.adapters import services as adapter_services
    from search_service.adapters import serving
    from search_service.adapters.residual import Residual
    from search_service.adapters.training import PairVotes
    from search_service.encoders.loader import get_encoder

    loads = [common.loadavg()]
    encoder = get_encoder()
    seeds = search_latency.real_embeddings(encoder)
    folder = common.SEARCH_DIR / "demo_stickers"
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    names = sorted(meta)
    stickers = load_stickers(encoder.model_id, names, meta, seeds)
    queries = labelled_queries(names, meta)
    texts = list(queries)
    started = time.perf_counter()
    vectors = adapter_services.embed_texts(encoder, texts)
    print(f"{len(texts)} labelled queries embedded in {time.perf_counter() - started:.1f} s", flush=True)
    rng = np.random.default_rng(args.seed)
    permutation = rng.permutation(len(texts))
    voted = sorted(permutation[: len(texts) // 2].tolist())
    never = sorted(permutation[len(texts) // 2 :].tolist())

    # 1. Voted queries: the clients one after the other, then the spammer.
    r1_before, r1_after, nd_before, nd_after, r1_spam = [], [], [], [], []
    spam_rows = []
    final_votes: dict[int, dict[str, dict]] = {}
    for q in voted:
        relevant = queries[texts[q]]
        plain = order(vectors[q], stickers)
        votes = simulate_clients(vectors[q], relevant, stickers, rng, args.clients, args.wrong)
        lifted = order(vectors[q], stickers, boosts_of(votes))
        r1_before.append(int(plain[0]) in relevant)
        r1_after.append(int(lifted[0]) in relevant)
        nd_before.append(ndcg10(plain, relevant))
        nd_after.append(ndcg10(lifted, relevant))
        # The spammer: 1,000 up-votes by one client for an irrelevant sticker ranked 50th before any vote.
        spam = int(next(index for index in plain[49:] if int(index) not in relevant))
        spammed = {**votes, "spammer": {spam: 1}}  # 1,000 votes, one client: its latest vote
        honest = {**votes, "honest": {spam: 1}}  # one honest client's single vote instead
        up, down = counts_of(votes)
        raw = {**boosts_of(votes), spam: vote_boost(up[spam] + SPAM_VOTES, down[spam], **BOOST)}  # no dedup
        b_spam, b_honest, b_raw = boosts_of(spammed)[spam], boosts_of(honest)[spam], raw[spam]
        with_spam = order(vectors[q], stickers, boosts_of(spammed))
        r1_spam.append(int(with_spam[0]) in relevant)
        spam_rows.append(
            (
                b_spam,
                b_honest,
                b_raw,
                rank_of(spam, lifted),
                rank_of(spam, with_spam),
                rank_of(spam, order(vectors[q], stickers, boosts_of(honest))),
                rank_of(spam, order(vectors[q], stickers, raw)),
            )
        )
        final_votes[q] = spammed
    spam = np.asarray(spam_rows, dtype=np.float64)
    print(f"voted R@1 {np.mean(r1_before):.3f} -> {np.mean(r1_after):.3f}", flush=True)

    # 3. The adapter: trained on the voted queries' per-client aggregates (spammer included, counted once).
    pairs = []
    for q, votes in final_votes.items():
        up, down = counts_of(votes)
        pairs += [PairVotes(texts[q], names[i], up[i], down[i]) for i in set(up) | set(down)]
    adapter = adapter_services.train_adapter(encoder, pairs, source="benchmarks/feedback.py")
    residual = Residual.from_bytes(adapter.weights)
    adapted = residual.apply(vectors)
    never_before = [ndcg10(order(vectors[q], stickers), queries[texts[q]]) for q in never]
    never_after = [ndcg10(order(adapted[q], stickers), queries[texts[q]]) for q in never]
    never_r1_before = [int(order(vectors[q], stickers)[0]) in queries[texts[q]] for q in never]
    never_r1_after = [int(order(adapted[q], stickers)[0]) in queries[texts[q]] for q in never]
    voted_both = [ndcg10(order(adapted[q], stickers, boosts_of(final_votes[q])), queries[texts[q]]) for q in voted]
    voted_boost_only = [
        ndcg10(order(vectors[q], stickers, boosts_of(final_votes[q])), queries[texts[q]]) for q in voted
    ]
    print(f"never-voted nDCG@10 {np.mean(never_before):.3f} -> {np.mean(never_after):.3f}", flush=True)

    # 4. Rerank cost through search_service's view: GET (no boosts) vs POST (the query's boosts).
    from django.conf import settings
    from django.test import Client

    client = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {settings.SEARCH_SERVICE_TOKEN}")
    serving.reset()
    adapter.rolled_back_at = adapter.created_at
    adapter.save(update_fields=["rolled_back_at"])  # time the plain model (no adapter)
    timing = voted[: args.timing_queries]
    bodies = {}
    for q in timing:
        boosts = boosts_of(final_votes[q])
        bodies[q] = {
            "query": texts[q],
            "limit": 10,
            "offset": 0,
            "boosts": [{"filename": names[i], "boost": round(b, 6)} for i, b in sorted(boosts.items()) if b][:200],
        }
        assert client.get("/api/search/", {"query": texts[q], "limit": 10}).status_code == 200  # warm text cache
    get_times, post_times = [], []
    for _ in range(3):
        for q in timing:
            started = time.perf_counter()
            response = client.get("/api/search/", {"query": texts[q], "limit": 10})
            get_times.append(time.perf_counter() - started)
            assert response.status_code == 200
            started = time.perf_counter()
            response = client.post("/api/search/", bodies[q], content_type="application/json")
            post_times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
    boosts_per_query = np.mean([len(body["boosts"]) for body in bodies.values()])

    # 5. Training time on --train-votes simulated votes over every labelled query.
    train_rng = np.random.default_rng(args.seed + 1)
    clients_per_query = max(1, int(np.ceil(args.train_votes / (10 * len(texts)))))
    aggregate: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    votes_made = 0
    for q in range(len(texts)):
        if votes_made >= args.train_votes:
            break
        votes = simulate_clients(
            vectors[q], queries[texts[q]], stickers, train_rng, clients_per_query, args.wrong, False
        )
        for client_votes in votes.values():
            for index, vote in client_votes.items():
                aggregate[(q, index)][0 if vote > 0 else 1] += 1
                votes_made += 1
    big = [PairVotes(texts[q], names[i], up, down) for (q, i), (up, down) in aggregate.items()]
    started = time.perf_counter()
    trained = adapter_services.train_adapter(encoder, big, source="benchmarks/feedback.py (training time)")
    train_total = time.perf_counter() - started
    loads.append(common.loadavg())

    def pts(value: float) -> str:
        return f"{100 * value:.1f}"

    def delta(after: float, before: float) -> str:
        return f"{100 * (after - before):+.1f}"

    r1_gain = np.mean(r1_after) - np.mean(r1_before)
    never_gain = np.mean(never_after) - np.mean(never_before)
    voted_adapter_delta = np.mean(voted_both) - np.mean(voted_boost_only)
    never_r1_delta = np.mean(never_r1_after) - np.mean(never_r1_before)
    worst_split = min(never_gain, voted_adapter_delta, never_r1_delta)
    rerank_ms = 1000 * (common.median(post_times) - common.median(get_times))
    spam_equal = bool(np.allclose(spam[:, 0], spam[:, 1]))

    def goal(met: bool) -> str:
        return "met" if met else "**missed**"

    lines = [
        common.machine_line(loads),
        "",
        f"Command: `.venv/bin/python -m benchmarks.feedback --clients {args.clients} --wrong {args.wrong} "
        f"--train-votes {args.train_votes} --timing-queries {args.timing_queries} --seed {args.seed}`. Model: "
        f"{common.model_label(env)} (`{encoder.model_id}`); {len(names)} demo stickers; {len(texts)} labelled "
        f"queries (CLDR names and keywords with 1..20 relevant stickers): {len(voted)} voted, {len(never)} never "
        f"voted. Boost settings: FEEDBACK_BOOST_MAX {BOOST['max_boost']}, PRIOR {BOOST['prior']}, HALF_CLIENTS "
        f"{BOOST['half_clients']}. {args.clients} distinct clients per voted query, each seeing the top 10, "
        f"{pts(args.wrong)}% wrong votes; one spammer per voted query voting {SPAM_VOTES} times for an "
        "irrelevant sticker ranked 50th.",
        "",
        *common.table(
            ["measure", "before", "after", "change (points)", "goal"],
            [
                [
                    f"voted queries: R@1 after {args.clients} clients (rerank only)",
                    pts(np.mean(r1_before)),
                    pts(np.mean(r1_after)),
                    delta(np.mean(r1_after), np.mean(r1_before)),
                    f"+20: {goal(r1_gain >= 0.20)}",
                ],
                [
                    "voted queries: nDCG@10 (rerank only)",
                    pts(np.mean(nd_before)),
                    pts(np.mean(nd_after)),
                    delta(np.mean(nd_after), np.mean(nd_before)),
                    "",
                ],
                [
                    "voted queries: R@1 with the spammer's votes too",
                    pts(np.mean(r1_before)),
                    pts(np.mean(r1_spam)),
                    delta(np.mean(r1_spam), np.mean(r1_before)),
                    "",
                ],
                [
                    "never-voted queries: nDCG@10 with the adapter",
                    pts(np.mean(never_before)),
                    pts(np.mean(never_after)),
                    delta(np.mean(never_after), np.mean(never_before)),
                    f"+3: {goal(never_gain >= 0.03)}",
                ],
                [
                    "never-voted queries: R@1 with the adapter",
                    pts(np.mean(never_r1_before)),
                    pts(np.mean(never_r1_after)),
                    delta(np.mean(never_r1_after), np.mean(never_r1_before)),
                    "",
                ],
                [
                    "voted queries: nDCG@10, boosts + adapter vs boosts alone",
                    pts(np.mean(voted_boost_only)),
                    pts(np.mean(voted_both)),
                    delta(np.mean(voted_both), np.mean(voted_boost_only)),
                    "",
                ],
            ],
        ),
        "",
        f"No split worse by more than 1 point with the adapter (worst change {100 * worst_split:+.1f} points): "
        f"{goal(worst_split >= -0.01)}.",
        "",
        "Spam bound (per voted query, the spammer's sticker; mean over queries):",
        "",
        *common.table(
            ["", "boost", "rank of the sticker"],
            [
                ["before the spam (after the honest clients)", "", f"{spam[:, 3].mean():.1f}"],
                [f"one client voting {SPAM_VOTES} times", f"{spam[:, 0].mean():.4f}", f"{spam[:, 4].mean():.1f}"],
                ["one honest client's single vote instead", f"{spam[:, 1].mean():.4f}", f"{spam[:, 5].mean():.1f}"],
                [
                    f"without per-client dedup ({SPAM_VOTES} raw votes)",
                    f"{spam[:, 2].mean():.4f}",
                    f"{spam[:, 6].mean():.1f}",
                ],
            ],
        ),
        "",
        f"The spammer's boost equals one honest vote's on every query: {goal(spam_equal)} (largest difference "
        f"{np.abs(spam[:, 0] - spam[:, 1]).max():.2g}); its sticker reached the top 10 on "
        f"{int((spam[:, 4] <= 10).sum())} of {len(spam)} queries and the top 1 on {int((spam[:, 4] <= 1).sum())}.",
        "",
        *common.table(
            ["cost", "value", "goal"],
            [
                [
                    f"search_service search p50, GET without boosts ({len(get_times)} searches), ms",
                    common.fmt_ms(common.median(get_times)),
                    "",
                ],
                [
                    f"search_service search p50, POST with the query's boosts (mean {boosts_per_query:.1f} boosts), ms",
                    common.fmt_ms(common.median(post_times)),
                    "",
                ],
                ["rerank cost on search p50 (POST - GET)", f"{rerank_ms:.2f} ms", f"<= 2 ms: {goal(rerank_ms <= 2)}"],
                [
                    f"adapter training on {votes_made} votes ({len(big)} pairs, {trained.stats['queries']} queries):"
                    " total",
                    f"{train_total:.1f} s",
                    f"<= 60 s: {goal(train_total <= 60)}",
                ],
                ["  of which encoding the query texts", f"{trained.stats['embed_seconds']:.1f} s", ""],
                ["  of which training (torch, CPU, 1 thread)", f"{trained.stats['train_seconds']:.1f} s", ""],
            ],
        ),
        "",
        "Timings are in-process (Django test client, search_service's view, SQL on the embedded PostgreSQL; text "
        "embeddings cached), so they are the search_service part of a search; sticker_service's one extra query "
        "for the query's client votes is not in them. Adapter of the quality rows: "
        f"{adapter.stats['queries']} voted queries, {adapter.stats['pairs']} pairs, loss "
        f"{adapter.stats['loss_before']} -> {adapter.stats['loss_after']}.",
    ]
    common.write_section("feedback", "Learning from feedback (benchmarks/feedback.py)", lines, write=not args.no_write)
    common.drop_database(database)


if __name__ == "__main__":
    main()
