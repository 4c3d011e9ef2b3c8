"""Bulk indexing on Celery workers, the enqueuing side (``index_images DIR --queue``).

The folder is listed here and cut into batches of ``batch_size`` files; each batch is one message on the
Redis queue ``SEARCH_CELERY_QUEUE`` naming the folder, the files and their metadata. Workers
(``celery -A search_service.config.celery worker``, any number, on any machine that reads the folder at the same path
and reaches the search database) run :func:`stickers.tasks.index_batch`. The command then follows the batches'
results as they arrive (its progress bar), adds up their counts and failures, and builds the HNSW indexes
once at the end.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult, ResultSet
from django.conf import settings

from search_service.config.celery import app as celery_app

from .indexing import IndexStats, image_chunks, iter_files
from .metadata import Metadata
from .tasks import index_batch

logger = logging.getLogger(__name__)

COUNTS = ("seen", "indexed", "replaced", "metadata_updated", "skipped", "duplicates", "failed", "unsupported")


@dataclass
class QueuedRun:
    root: str = ""
    batches: list[tuple[list[str], dict[str, Any]]] = field(default_factory=list)  # (files, their metadata)
    tasks: dict[str, int] = field(default_factory=dict)  # task id -> batch number (a re-sent batch has two)
    results: list[AsyncResult] = field(default_factory=list)
    model: tuple[str, int] | None = None  # (model id, dimension) the workers embedded with
    resent: int = 0

    def send(self, number: int) -> AsyncResult:
        files, meta = self.batches[number]
        result = index_batch.apply_async(args=(self.root, files, meta))
        self.tasks[result.id] = number
        self.results.append(result)
        return result


def enqueue_folder(
    root: Path,
    *,
    recursive: bool,
    batch_size: int,
    metadata: dict[str, Metadata],
    on_unsupported: Callable[[str], None],
) -> QueuedRun:
    """One message per batch of ``batch_size`` image files of ``root`` (absolute path: workers open it)."""
    run = QueuedRun(root=str(root.resolve()))
    for chunk in image_chunks(iter_files(Path(run.root), recursive), batch_size, on_unsupported):
        files = [file.relative for file in chunk]
        meta: dict[str, dict[str, Any]] = {}
        for relative in files:
            item = metadata.get(relative) or metadata.get(unicodedata.normalize("NFC", relative))
            if item is not None:
                meta[relative] = {"title": item.title, "tags": list(item.tags)}
        run.batches.append((files, meta))
        run.send(len(run.batches) - 1)
    return run


def collect(run: QueuedRun, stats: IndexStats, progress: Callable[[int], None], *, resend_after: float) -> None:
    """Wait for every batch, adding its counts and failures to ``stats`` as its result arrives.

    A batch that failed as a whole (an exception in the worker) counts each of its files as failed, with
    the error. When no result came for ``resend_after`` seconds and the queue is empty, the batches still
    without a result are sent again: Redis hands a vanished worker's batch to another one after the visibility
    timeout, but a worker killed between taking a message and recording it as unacknowledged loses it. A batch
    stored twice is a no-op (content hashes); only its first result counts. Interrupting this wait leaves the
    batches queued: the workers finish them.
    """
    done: set[int] = set()

    def on_result(task_id: str, value: Any) -> None:
        number = run.tasks.get(task_id)
        if number is None or number in done:
            return
        done.add(number)
        files = run.batches[number][0]
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

    while len(done) < len(run.batches):
        before = len(done)
        pending = [result for result in run.results if run.tasks[result.id] not in done]
        try:
            ResultSet(pending, app=celery_app).join_native(callback=on_result, propagate=False, timeout=resend_after)
        except CeleryTimeout:
            if len(done) == before and _queue_length() == 0:
                missing = sorted({run.tasks[result.id] for result in pending} - done)
                logger.warning(
                    "No result for %.0f s and the queue is empty: sending %d batches again", resend_after, len(missing)
                )
                for number in missing:
                    run.send(number)
                run.resent += len(missing)
    ResultSet(run.results, app=celery_app).forget()  # the counts are in ``stats`` now: drop the results


def _queue_length() -> int:
    """Messages waiting in the indexing queue (the Redis list of that name)."""
    with celery_app.connection_for_write() as connection:
        return int(connection.default_channel.client.llen(settings.SEARCH_CELERY_QUEUE))


def add_batch(stats: IndexStats, batch: dict[str, Any]) -> None:
    for name in COUNTS:
        setattr(stats, name, getattr(stats, name) + int(batch.get(name, 0)))
    room = 20 - len(stats.failures)
    stats.failures.extend(list(batch.get("failures", []))[: max(room, 0)])
