"""Celery task of bulk indexing: one batch of a folder's files, embedded and stored by a worker.

Enqueued by ``index_images DIR --queue`` (stickers/queue.py). A worker process loads the model once
(config/celery.py) and indexes each batch with :class:`~stickers.indexing.FolderIndexer`, the same code and
the same writes (``store_stickers``) as the single-process command: files already indexed with this content
and model are skipped, so a batch delivered twice (its worker was killed before acknowledging it) stores
nothing twice. The HNSW indexes are built by the enqueuing command once every batch is in.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from celery import shared_task

from search_service.encoders.loader import get_encoder

from .indexing import FolderIndexer
from .metadata import Metadata


@shared_task(name="stickers.index_batch", acks_late=True, reject_on_worker_lost=True)
def index_batch(root: str, files: list[str], metadata: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Index ``files`` (paths relative to ``root``, which this worker must be able to read)."""
    encoder = get_encoder()
    meta = {name: Metadata(str(item.get("title", "")), list(item.get("tags", []))) for name, item in metadata.items()}
    indexer = FolderIndexer(encoder, batch_size=max(len(files), 1), metadata=meta, defer_index=True)
    base = Path(root)
    stats = indexer.index_files((relative, base / relative) for relative in files)
    return {**asdict(stats), "model_id": encoder.model_id, "dim": encoder.dim}
