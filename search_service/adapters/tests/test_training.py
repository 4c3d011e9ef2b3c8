"""The residual map: identity at the start, stored losslessly, and trained from votes it moves queries towards the
stickers their clients liked, for the default model's width (384) and ViT-B-32's (512) alike."""

from __future__ import annotations

import numpy as np
import pytest

from search_service.adapters.residual import Residual
from search_service.adapters.training import PairVotes, TrainConfig, build_targets, pair_weight, train


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("dim", [384, 512])
def test_a_new_adapter_is_the_identity_and_survives_storage(dim):
    queries = unit(np.random.default_rng(1).standard_normal((5, dim)))
    residual = Residual.identity(dim, 16)
    assert np.allclose(residual.apply(queries), queries, atol=1e-6)
    moved = Residual(residual.down, np.random.default_rng(2).standard_normal((16, dim)).astype(np.float32))
    again = Residual.from_bytes(moved.to_bytes())
    assert np.array_equal(again.down, moved.down) and np.array_equal(again.up, moved.up)
    assert np.allclose(np.linalg.norm(again.apply(queries), axis=1), 1.0, atol=1e-5)


def test_pair_weight_is_the_smoothed_signed_share_of_distinct_clients():
    assert pair_weight(0, 0) == 0
    assert 0 < pair_weight(1, 0) < pair_weight(5, 0) < pair_weight(100, 0) < 1
    assert pair_weight(0, 5) == pytest.approx(-pair_weight(5, 0))
    assert pair_weight(4, 4) == 0


def synthetic(dim: int, seed: int = 0):
    """Stickers in 20 clusters; a query of cluster c is a noisy vector that the model places nearer the wrong
    cluster (c + 1): what votes must correct."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((20, dim)))
    stickers = unit(np.repeat(centres, 10, axis=0) + 0.3 * rng.standard_normal((200, dim)) / np.sqrt(dim) * 10)
    labels = np.repeat(np.arange(20), 10)

    def queries(n: int):
        cluster = rng.integers(0, 20, n)
        vectors = unit(
            0.6 * centres[(cluster + 1) % 20] + 0.4 * centres[cluster] + 0.05 * rng.standard_normal((n, dim))
        )
        return vectors, cluster

    return stickers, labels, queries


def hit_rate(query_vectors, clusters, stickers, labels) -> float:
    best = np.argmax(query_vectors @ stickers.T, axis=1)
    return float(np.mean(labels[best] == clusters))


@pytest.mark.parametrize("dim", [384, 512])
def test_training_moves_voted_and_unseen_queries_towards_liked_stickers(dim):
    stickers, labels, make_queries = synthetic(dim)
    train_vectors, train_clusters = make_queries(100)
    names = [f"s{i}.png" for i in range(len(stickers))]
    texts = [f"q{i}" for i in range(len(train_vectors))]
    pairs = [
        PairVotes(text, names[j], up=3, down=0)
        for text, cluster in zip(texts, train_clusters, strict=True)
        for j in np.flatnonzero(labels == cluster)[:3]
    ] + [
        PairVotes(text, names[j], up=0, down=2)
        for text, cluster in zip(texts, train_clusters, strict=True)
        for j in np.flatnonzero(labels == (cluster + 1) % 20)[:2]
    ]
    targets, used = build_targets(pairs, texts, names)
    assert used == len(pairs)
    result = train(train_vectors, stickers, targets, TrainConfig(steps=100, seed=0))
    assert result.stats["loss_after"] < result.stats["loss_before"]
    unseen_vectors, unseen_clusters = make_queries(200)
    before = hit_rate(unseen_vectors, unseen_clusters, stickers, labels)
    after = hit_rate(result.residual.apply(unseen_vectors), unseen_clusters, stickers, labels)
    assert before < 0.2 and after > 0.8, (before, after)
    assert hit_rate(result.residual.apply(train_vectors), train_clusters, stickers, labels) > 0.8
