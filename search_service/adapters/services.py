"""Training, storing and rolling back query adapters (writes); ``adapters.serving`` reads them."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from django.db import transaction
from django.utils import timezone

from search_service.encoders.base import Encoder
from search_service.stickers.models import Sticker

from .models import QueryAdapter
from .training import FULL_SOFTMAX_MAX, PairVotes, TrainConfig, build_targets, train

ENCODE_BATCH = 64
NEGATIVE_SAMPLE = 8192


class NothingToTrain(Exception):
    """No vote pair refers to a sticker of the loaded model."""


class NothingToRollBack(Exception):
    """There is no adapter of this model to roll back."""


def sticker_vectors(model_id: str, voted: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Filenames and blended vectors of the candidates: every sticker of the model up to FULL_SOFTMAX_MAX, else
    the voted ones and a random sample of the others."""
    stickers = Sticker.objects.filter(model_id=model_id)
    if stickers.count() > FULL_SOFTMAX_MAX:
        sample = list(stickers.order_by("?").values_list("id", flat=True)[:NEGATIVE_SAMPLE])
        stickers = Sticker.objects.filter(model_id=model_id, filename__in=set(voted)) | Sticker.objects.filter(
            id__in=sample
        )
    names, vectors = [], []
    # The blended vector: its inner product with a unit query is the search score (stickers.blending).
    for filename, blended in stickers.order_by("id").values_list("filename", "blended_embedding"):
        if blended is not None:
            names.append(filename)
            vectors.append(np.asarray(blended, np.float32))
    return names, np.asarray(vectors, dtype=np.float32)


def embed_texts(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    chunks = [encoder.encode_texts(list(texts[i : i + ENCODE_BATCH])) for i in range(0, len(texts), ENCODE_BATCH)]
    return np.concatenate(chunks) if chunks else np.zeros((0, encoder.dim), np.float32)


def train_adapter(
    encoder: Encoder, pairs: Sequence[PairVotes], config: TrainConfig | None = None, *, source: str = ""
) -> QueryAdapter:
    """Train on the vote pairs and store the result as the newest version (served from then on)."""
    started = time.perf_counter()
    names, vectors = sticker_vectors(encoder.model_id, [pair.filename for pair in pairs])
    known = set(names)
    pairs = [pair for pair in pairs if pair.filename in known]
    queries = sorted({pair.query for pair in pairs})
    if not queries:
        raise NothingToTrain("No vote refers to a sticker indexed with this model; nothing to train.")
    targets, used = build_targets(pairs, queries, names)
    keep = np.abs(targets).sum(1) > 0
    queries = [text for text, kept in zip(queries, keep, strict=True) if kept]
    if not queries:
        raise NothingToTrain("Every voted pair is balanced (as many up as down); nothing to train.")
    embed_started = time.perf_counter()
    query_vectors = embed_texts(encoder, queries)
    embed_seconds = time.perf_counter() - embed_started
    result = train(query_vectors, vectors, targets[keep], config)
    stats = {
        **result.stats,
        "pairs": used,
        "source": source,
        "embed_seconds": round(embed_seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    return QueryAdapter.objects.create(
        model_id=encoder.model_id,
        dim=result.residual.dim,
        rank=result.residual.rank,
        weights=result.residual.to_bytes(),
        stats=stats,
    )


def roll_back(model_id: str) -> tuple[QueryAdapter, QueryAdapter | None]:
    """Retire the served adapter of ``model_id``; returns it and the one served now (None: no adapter, the
    plain model)."""
    with transaction.atomic():
        served = QueryAdapter.objects.select_for_update().filter(model_id=model_id, rolled_back_at=None).first()
        if served is None:
            raise NothingToRollBack(f"No adapter of model {model_id} is served; nothing to roll back.")
        served.rolled_back_at = timezone.now()
        served.save(update_fields=["rolled_back_at"])
    return served, QueryAdapter.objects.filter(model_id=model_id, rolled_back_at=None).first()
