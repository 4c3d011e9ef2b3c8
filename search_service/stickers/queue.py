"""Bulk indexing on Celery workers, the enqueuing side (``index_images DIR --queue``).

The folder is listed here and cut into batches of ``batch_size`` files; each batch is one message on the
Redis queue ``SEARCH_CELERY_QUEUE`` naming the folder, the files and their metadata. Workers
(``celery -A config.celery worker``, any number, on any machine that reads the folder at the same path and
reaches the search database) run :func:`stickers.tasks.index_batch`. The command then follows the batches'
results as they arrive (its progress bar), adds up their counts and failures, and builds the HNSW indexes
once at the end.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery.result import AsyncResult, ResultSet

from config.celery import app as celery_app

from .images import IMAGE_EXTENSIONS
from .indexing import IndexStats, iter_files
from .metadata import Metadata
from .tasks import index_batch

COUNTS = ("seen", "indexed", "replaced", "metadata_updated", "skipped", "duplicates", "failed", "unsupported")


@dataclass
class QueuedRun:
    batches: dict[str, list[str]] = field(default_factory=dict)  # task id -> its files
    results: list[AsyncResult] = field(default_factory=list)
    model: tuple[str, int] | None = None  # (model id, dimension) the workers embedded with


def _batches(
    files: Iterator[tuple[str, Path]], size: int, on_unsupported: Callable[[str], None]
) -> Iterator[list[str]]:
    batch: list[str] = []
    for relative, path in files:
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            on_unsupported(relative)
            continue
        batch.append(relative)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def enqueue_folder(
    root: Path,
    *,
    recursive: bool,
    batch_size: int,
    metadata: dict[str, Metadata],
    on_unsupported: Callable[[str], None],
) -> QueuedRun:
    """One message per batch of ``batch_size`` image files of ``root`` (absolute path: workers open it)."""
    root = root.resolve()
    run = QueuedRun()
    for files in _batches(iter_files(root, recursive), batch_size, on_unsupported):
        meta: dict[str, dict[str, Any]] = {}
        for relative in files:
            item = metadata.get(relative) or metadata.get(unicodedata.normalize("NFC", relative))
            if item is not None:
                meta[relative] = {"title": item.title, "tags": list(item.tags)}
        result = index_batch.apply_async(args=(str(root), files, meta))
        run.batches[result.id] = files
        run.results.append(result)
    return run


def collect(run: QueuedRun, stats: IndexStats, progress: Callable[[int], None]) -> None:
    """Wait for every batch, adding its counts and failures to ``stats`` as its result arrives.

    A batch that failed as a whole (an exception in the worker) counts each of its files as failed, with
    the error. Interrupting this wait leaves the batches queued: the workers finish them.
    """

    def on_result(task_id: str, value: Any) -> None:
        files = run.batches.get(task_id, [])
        if isinstance(value, dict):
            add_batch(stats, value)
            if run.model is None and value.get("model_id"):
                run.model = (str(value["model_id"]), int(value["dim"]))
            progress(int(value.get("seen", len(files))))
        else:
            stats.seen += len(files)
            reason = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else str(value)
            stats.fail(f"batch of {len(files)} from {files[0] if files else '?'}", reason)
            stats.failed += max(len(files) - 1, 0)
            progress(len(files))

    if run.results:
        results = ResultSet(run.results, app=celery_app)
        results.join_native(callback=on_result, propagate=False)
        results.forget()  # the counts are in ``stats`` now: drop the results from Redis


def add_batch(stats: IndexStats, batch: dict[str, Any]) -> None:
    for name in COUNTS:
        setattr(stats, name, getattr(stats, name) + int(batch.get(name, 0)))
    room = 20 - len(stats.failures)
    stats.failures.extend(list(batch.get("failures", []))[: max(room, 0)])
