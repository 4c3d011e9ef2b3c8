"""Training a query adapter from vote aggregates (torch, CPU, seconds).

Data: per (query, sticker) the distinct clients whose latest vote is up / down (sticker_service's analytics).
Each pair gets a signed weight, the same smoothing as sticker_service's boosts: ``(2 share - 1) * confidence``
with ``share = (up + 1) / (n + 2)`` and ``confidence = n / (n + 3)``. For every voted query, a softmax over
the candidate stickers (the whole catalogue of the model up to ``FULL_SOFTMAX_MAX`` stickers, else the voted
ones and a random sample) of ``q' . b / temperature`` (``b``: a sticker's blended vector, whose inner product
with the query is its search score) is pulled towards the liked stickers and away from the disliked ones:

    loss = sum_liked w log softmax  -  sum_disliked |w| log(1 - softmax)    (per query, normalised by its weight)
         + l2 * |q' - q|^2                                                   (stay near the identity)

The residual map starts as the identity (``up = 0``) and trains with Adam on mini-batches of queries.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .residual import Residual

FULL_SOFTMAX_MAX = 20_000


@dataclass(frozen=True)
class PairVotes:
    query: str
    filename: str
    up: int  # distinct clients whose latest vote is positive
    down: int  # ... negative


@dataclass
class TrainConfig:
    rank: int = 32
    steps: int = 100
    batch: int = 256
    lr: float = 3e-3
    temperature: float = 0.05
    l2: float = 1.0
    seed: int = 0
    threads: int = 1  # torch threads while training (small matrices: more threads mostly contend)


@dataclass
class TrainResult:
    residual: Residual
    stats: dict = field(default_factory=dict)


def pair_weight(up: int, down: int) -> float:
    """Signed weight of a (query, sticker) pair from its distinct clients' votes (in (-1, 1))."""
    n = up + down
    if n <= 0:
        return 0.0
    share = (up + 1.0) / (n + 2.0)
    return (2.0 * share - 1.0) * n / (n + 3.0)


def _loss(
    adapted: torch.Tensor, base: torch.Tensor, stickers: torch.Tensor, target: torch.Tensor, config: TrainConfig
) -> torch.Tensor:
    logits = adapted @ stickers.T / config.temperature
    log_p = torch.log_softmax(logits, dim=1)
    liked, disliked = target.clamp(min=0), (-target).clamp(min=0)
    pull = -(liked * log_p).sum(1) / liked.sum(1).clamp(min=1e-6)
    push = -(disliked * torch.log1p(-log_p.exp().clamp(max=1 - 1e-6))).sum(1) / disliked.sum(1).clamp(min=1e-6)
    return (pull + push).mean() + config.l2 * ((adapted - base) ** 2).sum(1).mean()


def _adapt(q: torch.Tensor, down: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(q + (q @ down) @ up, dim=1)


def train(
    query_vectors: np.ndarray,
    sticker_vectors: np.ndarray,
    targets: np.ndarray,
    config: TrainConfig | None = None,
) -> TrainResult:
    """A residual map trained on ``query_vectors`` (n, dim, unit) against ``sticker_vectors`` (m, dim, the
    candidates) with ``targets`` (n, m): the signed pair weights (0 where a query has no vote on a sticker)."""
    config = config or TrainConfig()
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(query_vectors, sticker_vectors, targets, config)
    finally:
        torch.set_num_threads(threads)


def _train(query_vectors: np.ndarray, sticker_vectors: np.ndarray, targets: np.ndarray, config: TrainConfig):
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    n, dim = query_vectors.shape
    start = Residual.identity(dim, config.rank, seed=config.seed)
    down = torch.nn.Parameter(torch.from_numpy(start.down.copy()))
    up = torch.nn.Parameter(torch.from_numpy(start.up.copy()))
    queries = torch.from_numpy(np.ascontiguousarray(query_vectors, dtype=np.float32))
    stickers = torch.from_numpy(np.ascontiguousarray(sticker_vectors, dtype=np.float32))
    target = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32))
    optimizer = torch.optim.Adam([down, up], lr=config.lr)
    with torch.no_grad():
        loss_before = float(_loss(queries, queries, stickers, target, config))
    for _ in range(config.steps):
        batch = torch.randint(0, n, (min(config.batch, n),), generator=generator)
        q = queries[batch]
        loss = _loss(_adapt(q, down, up), q, stickers, target[batch], config)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        loss_after = float(_loss(_adapt(queries, down, up), queries, stickers, target, config))
    residual = Residual(down=down.detach().numpy().copy(), up=up.detach().numpy().copy())
    return TrainResult(
        residual,
        {
            "queries": n,
            "candidates": int(stickers.shape[0]),
            "rank": config.rank,
            "steps": config.steps,
            "loss_before": round(loss_before, 5),
            "loss_after": round(loss_after, 5),
            "train_seconds": round(time.perf_counter() - started, 3),
        },
    )


def build_targets(
    pairs: Sequence[PairVotes], queries: Sequence[str], filenames: Sequence[str]
) -> tuple[np.ndarray, int]:
    """(len(queries), len(filenames)) signed weights from the pairs; returns them and the pairs used."""
    q_index = {text: i for i, text in enumerate(queries)}
    f_index = {name: j for j, name in enumerate(filenames)}
    targets = np.zeros((len(queries), len(filenames)), dtype=np.float32)
    used = 0
    for pair in pairs:
        i, j = q_index.get(pair.query), f_index.get(pair.filename)
        weight = pair_weight(pair.up, pair.down)
        if i is None or j is None or weight == 0.0:
            continue
        targets[i, j] = weight
        used += 1
    return targets, used
