"""Retrieval metrics of text -> image search over embeddings (ranks, recall@k)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def retrieval_ranks(image_embs: np.ndarray, query_embs: np.ndarray, targets: Sequence[int]) -> np.ndarray:
    """1-based rank of each query's target image among all images (cosine, best first); ties (identical
    pictures) count half, as a random tie-break would on average."""
    sims = query_embs @ image_embs.T
    target_sims = sims[np.arange(len(targets)), np.asarray(targets)]
    return (sims > target_sims[:, None]).sum(1) + 1 + ((sims == target_sims[:, None]).sum(1) - 1) / 2


def recall_summary(ranks: np.ndarray) -> dict:
    return {
        "R@1": float((ranks <= 1).mean()),
        "R@5": float((ranks <= 5).mean()),
        "R@10": float((ranks <= 10).mean()),
        "mean_rank": float(ranks.mean()),
        "queries": len(ranks),
    }
