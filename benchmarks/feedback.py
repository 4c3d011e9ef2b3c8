"""Learning from feedback, measured with simulated users over the demo stickers; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.feedback [--clients 5] [--wrong 0.15] [--train-votes 100000] [--no-write]

Data: the demo stickers as the default model embeds them (image and title/tags, blended as search_service
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
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks import catalogue, common
from benchmarks.data import demo_stickers
from benchmarks.feedback_simulation import (
    BOOST,
    SPAM_VOTES,
    Voting,
    boosts_of,
    counts_of,
    labelled_queries,
    ndcg10,
    order,
    simulate_clients,
    vote_on,
)

if TYPE_CHECKING:
    from search_service.adapters.models import QueryAdapter
    from search_service.encoders.base import Encoder


@dataclass
class Labelled:
    """The demo stickers (names, blended vectors) and the labelled queries: texts, their embeddings, relevant
    stickers per text, and the indexes of the voted and the never-voted half."""

    names: list[str]
    stickers: np.ndarray
    texts: list[str]
    vectors: np.ndarray
    relevant: dict[str, set[int]]
    voted: list[int]
    never: list[int]

    def of(self, q: int) -> set[int]:
        return self.relevant[self.texts[q]]


@dataclass
class AdapterQuality:
    """Per never-voted query without / with the adapter, per voted query boosts alone / boosts + adapter."""

    adapter: QueryAdapter
    never_before: list[float]
    never_after: list[float]
    never_r1_before: list[bool]
    never_r1_after: list[bool]
    voted_boost_only: list[float]
    voted_both: list[float]


@dataclass
class Costs:
    """Seconds per search without / with boosts, the boosts per timed query; adapter training on many votes."""

    get_times: list[float]
    post_times: list[float]
    boosts_per_query: float
    votes_made: int
    pairs: int
    trained: QueryAdapter
    train_total: float


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--wrong", type=float, default=0.15)
    parser.add_argument("--train-votes", type=int, default=100_000)
    parser.add_argument("--timing-queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args()


def set_up(encoder: Encoder, rng: np.random.Generator) -> Labelled:
    """The demo stickers stored as rows, the labelled queries embedded and split in halves at random."""
    from search_service.adapters import services as adapter_services

    demo = demo_stickers(encoder)
    stickers = catalogue.load_demo(demo, encoder.model_id)
    relevant = labelled_queries(demo.names, demo.meta)
    texts = list(relevant)
    started = time.perf_counter()
    vectors = adapter_services.embed_texts(encoder, texts)
    print(f"{len(texts)} labelled queries embedded in {time.perf_counter() - started:.1f} s", flush=True)
    permutation = rng.permutation(len(texts))
    voted = sorted(permutation[: len(texts) // 2].tolist())
    never = sorted(permutation[len(texts) // 2 :].tolist())
    return Labelled(demo.names, stickers, texts, vectors, relevant, voted, never)


def voting(labelled: Labelled, rng: np.random.Generator, clients: int, wrong: float) -> Voting:
    """1 and 2: the voted queries' clients one after the other, then the spammer."""
    result = Voting()
    for q in labelled.voted:
        vote_on(q, labelled.vectors[q], labelled.of(q), labelled.stickers, rng, result, clients=clients, wrong=wrong)
    print(f"voted R@1 {np.mean(result.r1_before):.3f} -> {np.mean(result.r1_after):.3f}", flush=True)
    return result


def adapter_quality(encoder: Encoder, labelled: Labelled, votes: Voting) -> AdapterQuality:
    """3: the adapter trained on the voted queries' per-client aggregates (spammer included, counted once)."""
    from search_service.adapters import services as adapter_services
    from search_service.adapters.residual import Residual
    from search_service.adapters.training import PairVotes

    pairs = []
    for q, client_votes in votes.final_votes.items():
        up, down = counts_of(client_votes)
        pairs += [PairVotes(labelled.texts[q], labelled.names[i], up[i], down[i]) for i in set(up) | set(down)]
    adapter = adapter_services.train_adapter(encoder, pairs, source="benchmarks/feedback.py")
    adapted = Residual.from_bytes(adapter.weights).apply(labelled.vectors)
    stickers, vectors, never, voted = labelled.stickers, labelled.vectors, labelled.never, labelled.voted
    result = AdapterQuality(
        adapter,
        never_before=[ndcg10(order(vectors[q], stickers), labelled.of(q)) for q in never],
        never_after=[ndcg10(order(adapted[q], stickers), labelled.of(q)) for q in never],
        never_r1_before=[int(order(vectors[q], stickers)[0]) in labelled.of(q) for q in never],
        never_r1_after=[int(order(adapted[q], stickers)[0]) in labelled.of(q) for q in never],
        voted_boost_only=[
            ndcg10(order(vectors[q], stickers, boosts_of(votes.final_votes[q])), labelled.of(q)) for q in voted
        ],
        voted_both=[
            ndcg10(order(adapted[q], stickers, boosts_of(votes.final_votes[q])), labelled.of(q)) for q in voted
        ],
    )
    print(f"never-voted nDCG@10 {np.mean(result.never_before):.3f} -> {np.mean(result.never_after):.3f}", flush=True)
    return result


def rerank_cost(
    labelled: Labelled, votes: Voting, adapter: QueryAdapter, timing_queries: int
) -> tuple[list[float], list[float], float]:
    """4: search_service's view, GET (no boosts) vs POST (the query's boosts), the plain model (adapter rolled
    back): seconds per search of each, and the mean number of boosts sent."""
    from django.conf import settings
    from django.test import Client

    from search_service.adapters import serving

    client = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {settings.SEARCH_SERVICE_TOKEN}")
    serving.reset()
    adapter.rolled_back_at = adapter.created_at
    adapter.save(update_fields=["rolled_back_at"])  # time the plain model (no adapter)
    timing = labelled.voted[:timing_queries]
    bodies: dict[int, dict[str, Any]] = {}
    for q in timing:
        boosts = boosts_of(votes.final_votes[q])
        bodies[q] = {
            "query": labelled.texts[q],
            "limit": 10,
            "offset": 0,
            "boosts": [{"filename": labelled.names[i], "boost": round(b, 6)} for i, b in sorted(boosts.items()) if b][
                :200
            ],
        }
        warm = client.get("/api/search/", {"query": labelled.texts[q], "limit": 10})  # the text cache
        assert warm.status_code == 200
    get_times, post_times = [], []
    for _ in range(3):
        for q in timing:
            started = time.perf_counter()
            response = client.get("/api/search/", {"query": labelled.texts[q], "limit": 10})
            get_times.append(time.perf_counter() - started)
            assert response.status_code == 200
            started = time.perf_counter()
            response = client.post("/api/search/", bodies[q], content_type="application/json")
            post_times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
    return get_times, post_times, float(np.mean([len(body["boosts"]) for body in bodies.values()]))


def training_time(
    encoder: Encoder, labelled: Labelled, seed: int, train_votes: int, wrong: float
) -> tuple[int, int, QueryAdapter, float]:
    """5: the adapter trained on ``train_votes`` simulated votes over every labelled query: (votes made, pairs,
    the adapter, seconds)."""
    from search_service.adapters import services as adapter_services
    from search_service.adapters.training import PairVotes

    rng = np.random.default_rng(seed)
    texts = labelled.texts
    clients_per_query = max(1, int(np.ceil(train_votes / (10 * len(texts)))))
    aggregate: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    votes_made = 0
    for q in range(len(texts)):
        if votes_made >= train_votes:
            break
        votes = simulate_clients(
            labelled.vectors[q], labelled.of(q), labelled.stickers, rng, clients_per_query, wrong, False
        )
        for client_votes in votes.values():
            for index, vote in client_votes.items():
                aggregate[(q, index)][0 if vote > 0 else 1] += 1
                votes_made += 1
    big = [PairVotes(texts[q], labelled.names[i], up, down) for (q, i), (up, down) in aggregate.items()]
    started = time.perf_counter()
    trained = adapter_services.train_adapter(encoder, big, source="benchmarks/feedback.py (training time)")
    return votes_made, len(big), trained, time.perf_counter() - started


def measure_costs(
    encoder: Encoder, labelled: Labelled, votes: Voting, adapter: QueryAdapter, args: argparse.Namespace
) -> Costs:
    get_times, post_times, boosts_per_query = rerank_cost(labelled, votes, adapter, args.timing_queries)
    votes_made, pairs, trained, seconds = training_time(encoder, labelled, args.seed + 1, args.train_votes, args.wrong)
    return Costs(get_times, post_times, boosts_per_query, votes_made, pairs, trained, seconds)


# --- the section -------------------------------------------------------------------------------------------------
def pts(value: float) -> str:
    return f"{100 * value:.1f}"


def goal(met: bool | np.bool_) -> str:
    return "met" if met else "**missed**"


def change_row(measure: str, before: list, after: list, target: str = "") -> list[str]:
    """A row of the quality table: mean before and after in points, the change, the goal's verdict."""
    return [
        measure,
        pts(np.mean(before)),
        pts(np.mean(after)),
        f"{100 * (np.mean(after) - np.mean(before)):+.1f}",
        target,
    ]


def quality_lines(args: argparse.Namespace, votes: Voting, quality: AdapterQuality) -> list[str]:
    r1_gain = np.mean(votes.r1_after) - np.mean(votes.r1_before)
    never_gain = np.mean(quality.never_after) - np.mean(quality.never_before)
    voted_adapter_delta = np.mean(quality.voted_both) - np.mean(quality.voted_boost_only)
    never_r1_delta = np.mean(quality.never_r1_after) - np.mean(quality.never_r1_before)
    worst_split = min(never_gain, voted_adapter_delta, never_r1_delta)
    return [
        *common.table(
            ["measure", "before", "after", "change (points)", "goal"],
            [
                change_row(
                    f"voted queries: R@1 after {args.clients} clients (rerank only)",
                    votes.r1_before,
                    votes.r1_after,
                    f"+20: {goal(r1_gain >= 0.20)}",
                ),
                change_row("voted queries: nDCG@10 (rerank only)", votes.nd_before, votes.nd_after),
                change_row("voted queries: R@1 with the spammer's votes too", votes.r1_before, votes.r1_spam),
                change_row(
                    "never-voted queries: nDCG@10 with the adapter",
                    quality.never_before,
                    quality.never_after,
                    f"+3: {goal(never_gain >= 0.03)}",
                ),
                change_row(
                    "never-voted queries: R@1 with the adapter", quality.never_r1_before, quality.never_r1_after
                ),
                change_row(
                    "voted queries: nDCG@10, boosts + adapter vs boosts alone",
                    quality.voted_boost_only,
                    quality.voted_both,
                ),
            ],
        ),
        "",
        f"No split worse by more than 1 point with the adapter (worst change {100 * worst_split:+.1f} points): "
        f"{goal(worst_split >= -0.01)}.",
    ]


def spam_lines(votes: Voting) -> list[str]:
    spam = votes.spam
    return [
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
        "The spammer's boost equals one honest vote's on every query: "
        f"{goal(bool(np.allclose(spam[:, 0], spam[:, 1])))} (largest difference "
        f"{np.abs(spam[:, 0] - spam[:, 1]).max():.2g}); its sticker reached the top 10 on "
        f"{int((spam[:, 4] <= 10).sum())} of {len(spam)} queries and the top 1 on {int((spam[:, 4] <= 1).sum())}.",
    ]


def cost_lines(costs: Costs, adapter: QueryAdapter) -> list[str]:
    rerank_ms = 1000 * (common.median(costs.post_times) - common.median(costs.get_times))
    stats = costs.trained.stats
    return [
        *common.table(
            ["cost", "value", "goal"],
            [
                [
                    f"search_service search p50, GET without boosts ({len(costs.get_times)} searches), ms",
                    common.fmt_ms(common.median(costs.get_times)),
                    "",
                ],
                [
                    "search_service search p50, POST with the query's boosts (mean "
                    f"{costs.boosts_per_query:.1f} boosts), ms",
                    common.fmt_ms(common.median(costs.post_times)),
                    "",
                ],
                ["rerank cost on search p50 (POST - GET)", f"{rerank_ms:.2f} ms", f"<= 2 ms: {goal(rerank_ms <= 2)}"],
                [
                    f"adapter training on {costs.votes_made} votes ({costs.pairs} pairs, {stats['queries']} queries):"
                    " total",
                    f"{costs.train_total:.1f} s",
                    f"<= 60 s: {goal(costs.train_total <= 60)}",
                ],
                ["  of which encoding the query texts", f"{stats['embed_seconds']:.1f} s", ""],
                ["  of which training (torch, CPU, 1 thread)", f"{stats['train_seconds']:.1f} s", ""],
            ],
        ),
        "",
        "Timings are in-process (Django test client, search_service's view, SQL on the embedded PostgreSQL; text "
        "embeddings cached), so they are the search_service part of a search; sticker_service's one extra query "
        "for the query's client votes is not in them. Adapter of the quality rows: "
        f"{adapter.stats['queries']} voted queries, {adapter.stats['pairs']} pairs, loss "
        f"{adapter.stats['loss_before']} -> {adapter.stats['loss_after']}.",
    ]


def section_lines(
    args: argparse.Namespace,
    env: dict[str, str],
    model_id: str,
    labelled: Labelled,
    votes: Voting,
    quality: AdapterQuality,
    costs: Costs,
    loads: list[str],
) -> list[str]:
    return [
        common.machine_line(loads),
        "",
        f"Command: `.venv/bin/python -m benchmarks.feedback --clients {args.clients} --wrong {args.wrong} "
        f"--train-votes {args.train_votes} --timing-queries {args.timing_queries} --seed {args.seed}`. Model: "
        f"{common.model_label(env)} (`{model_id}`); {len(labelled.names)} demo stickers; {len(labelled.texts)} "
        f"labelled queries (CLDR names and keywords with 1..20 relevant stickers): {len(labelled.voted)} voted, "
        f"{len(labelled.never)} never voted. Boost settings: FEEDBACK_BOOST_MAX {BOOST['max_boost']}, PRIOR "
        f"{BOOST['prior']}, HALF_CLIENTS {BOOST['half_clients']}. {args.clients} distinct clients per voted query, "
        f"each seeing the top 10, {pts(args.wrong)}% wrong votes; one spammer per voted query voting {SPAM_VOTES} "
        "times for an irrelevant sticker ranked 50th.",
        "",
        *quality_lines(args, votes, quality),
        "",
        *spam_lines(votes),
        "",
        *cost_lines(costs, quality.adapter),
    ]


def main() -> None:
    args = arguments()
    env = common.model_env("default")
    common.create_database("bench_feedback", fresh=True)
    common.setup_search_django("bench_feedback", {**env, "SEARCH_ADAPTER_REFRESH": "3600"})
    from search_service.encoders.loader import get_encoder

    loads = [common.loadavg()]
    encoder = get_encoder()
    rng = np.random.default_rng(args.seed)
    labelled = set_up(encoder, rng)
    votes = voting(labelled, rng, args.clients, args.wrong)
    quality = adapter_quality(encoder, labelled, votes)
    costs = measure_costs(encoder, labelled, votes, quality.adapter, args)
    loads.append(common.loadavg())
    lines = section_lines(args, env, encoder.model_id, labelled, votes, quality, costs, loads)
    common.write_section("feedback", "Learning from feedback (benchmarks/feedback.py)", lines, write=not args.no_write)
    common.drop_database("bench_feedback")


if __name__ == "__main__":
    main()
