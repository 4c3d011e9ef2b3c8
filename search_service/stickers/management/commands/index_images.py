"""python -m search_service index_images DIR [--recursive] [--batch-size N] [--metadata FILE] [--reindex] [--queue]"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from search_service.encoders.loader import ModelUnavailable, get_encoder
from search_service.stickers.blending import reblend
from search_service.stickers.indexing import FolderIndexer, IndexStats, iter_files
from search_service.stickers.metadata import InvalidMetadata, load_metadata_file
from search_service.stickers.models import Sticker
from search_service.stickers.selectors import index_model_ids, index_size, other_models_present
from search_service.stickers.vector_index import drop_stale_vector_indexes, ensure_vector_indexes


class Command(BaseCommand):
    help = (
        "Index a folder of sticker images: embeds them with the loaded model in batches, copies them into the "
        "sticker storage, and skips files already indexed (by content hash). Safe to interrupt and re-run. "
        "--reindex re-embeds the stickers of another model (from DIR, then from storage; DIR is optional)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", type=Path, help="folder of images (png, jpg, webp, gif, bmp)")
        parser.add_argument("--recursive", action="store_true", help="include sub-folders (filename = relative path)")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.SEARCH_INDEX_BATCH_SIZE,
            help="images per model batch and per committed transaction (default %(default)s)",
        )
        parser.add_argument(
            "--metadata", type=Path, help='JSON file {"<filename>": {"title": str, "tags": [str]}} (optional)'
        )
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="re-embed stickers whose embeddings come from another model than the loaded one",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="index DIR only when the index holds no sticker yet (the container's demo stickers: deleted ones "
            "do not come back, uploads of the same name are not overwritten)",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="enqueue the folder's batches for Celery workers (celery -A search_service.config.celery worker) on "
            "Redis and follow their progress, instead of embedding here (DIR must be readable at the same path by "
            "workers)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(
        self,
        *args,
        directory: Path | None,
        recursive: bool,
        batch_size: int,
        metadata: Path | None,
        reindex: bool,
        if_empty: bool,
        no_progress: bool,
        queue: bool = False,
        **options,
    ):
        if if_empty and (reindex or directory is None):
            raise CommandError("--if-empty needs DIR and no --reindex.")
        if if_empty and (present := index_size()):
            self.stdout.write(f"The index already holds {present} stickers; --if-empty leaves it alone.")
            return
        if directory is None and not reindex:
            raise CommandError("Give the folder to index (DIR), or --reindex to re-embed the stored stickers.")
        if directory is not None and not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        if not 1 <= batch_size <= 1024:
            raise CommandError("--batch-size must be between 1 and 1024.")
        try:
            meta = load_metadata_file(metadata) if metadata else {}
        except InvalidMetadata as exc:
            raise CommandError(str(exc)) from exc
        if queue:
            if reindex or directory is None:
                raise CommandError("--queue indexes a folder (DIR); --reindex runs in this process.")
            return self._queue(directory, recursive=recursive, batch_size=batch_size, metadata=meta, quiet=no_progress)
        try:
            encoder = get_encoder()
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        if not reindex and other_models_present(encoder.model_id):
            others = [m for m in index_model_ids() if m != encoder.model_id]
            raise CommandError(
                f"The index holds embeddings of {', '.join(others)} but the loaded model is {encoder.model_id}. "
                "Run with --reindex to re-embed them with the loaded model."
            )
        self.stdout.write(f"Model {encoder.model_id} (dim {encoder.dim}); batch size {batch_size}.")

        bar = None
        indexer = FolderIndexer(
            encoder,
            batch_size=batch_size,
            metadata=meta,
            reindex=reindex,
            progress=lambda n: bar.update(n) if bar is not None else None,
        )
        with logging_redirect_tqdm():
            if directory is not None:
                total = sum(1 for _ in iter_files(directory, recursive))
                bar = tqdm(total=total, unit="img", desc="index", disable=no_progress, dynamic_ncols=True)
                indexer.index_folder(directory, recursive=recursive)
                bar.close()
            if reindex:
                stale = indexer.stale_count()
                if stale:
                    bar = tqdm(total=stale, unit="img", desc="reindex", disable=no_progress, dynamic_ncols=True)
                    indexer.reindex_stored()
                    bar.close()
            dropped = indexer.finish()
        self._reblended = indexer.reblended
        self._report(indexer.stats, dropped, encoder.model_id)

    def _queue(self, directory: Path, *, recursive: bool, batch_size: int, metadata: dict, quiet: bool) -> None:
        """Enqueue the folder's batches, follow their results, then build the HNSW indexes once."""
        from kombu.exceptions import OperationalError as BrokerError

        from search_service.stickers.queue import collect, enqueue_folder

        stats = IndexStats()
        total = sum(1 for _ in iter_files(directory, recursive))
        self.stdout.write(f"Queue {settings.SEARCH_CELERY_QUEUE}: {total} files in batches of {batch_size}.")
        bar = tqdm(total=total, unit="img", desc="index (queue)", disable=quiet, dynamic_ncols=True)

        def unsupported(relative: str) -> None:
            stats.seen += 1
            stats.unsupported += 1
            bar.update(1)

        started = time.perf_counter()
        with logging_redirect_tqdm():
            try:
                run = enqueue_folder(
                    directory, recursive=recursive, batch_size=batch_size, metadata=metadata, on_unsupported=unsupported
                )
            except BrokerError as exc:
                raise CommandError(f"Cannot reach the Celery broker ({exc}).") from exc
            self.stdout.write(f"Enqueued {len(run.results)} batches; waiting for the workers.")
            collect(run, stats, bar.update, resend_after=settings.SEARCH_CELERY_VISIBILITY_TIMEOUT)
            bar.close()
        stats.seconds = time.perf_counter() - started
        dropped: list[str] = []
        if run.model is not None:
            model_id, dim = run.model
            self._reblended = reblend()
            if Sticker.objects.filter(model_id=model_id).exists():
                ensure_vector_indexes(model_id, dim)
            if not other_models_present(model_id):
                dropped = drop_stale_vector_indexes()
            self.stdout.write(f"Workers used model {model_id} (dim {dim}).")
        if run.resent:
            self.stdout.write(f"Sent {run.resent} batches again (no result in time; stored files were skipped).")
        self._report(stats, dropped, run.model[0] if run.model else "")

    def _report(self, stats: IndexStats, dropped: list[str], model_id: str) -> None:
        self.stdout.write(
            f"Indexed {stats.indexed} new, re-embedded {stats.replaced}, updated metadata of {stats.metadata_updated}, "
            f"skipped {stats.skipped} already indexed and {stats.duplicates} duplicates, {stats.failed} failed, "
            f"{stats.unsupported} not images ({stats.seen} files)."
        )
        self.stdout.write(
            f"{stats.embedded} images embedded in {stats.seconds:.1f} s: {stats.images_per_second:.1f} images/s."
        )
        for failure in stats.failures:
            self.stdout.write(f"  failed: {failure}")
        if indexer_reblended := getattr(self, "_reblended", 0):
            self.stdout.write(
                f"Re-blended {indexer_reblended} stickers with SEARCH_TEXT_WEIGHT="
                f"{settings.SEARCH_TEXT_WEIGHT} (it changed since they were indexed)."
            )
        if dropped:
            self.stdout.write(f"Dropped {len(dropped)} HNSW indexes of models no longer in the index.")
        if model_id and other_models_present(model_id):
            self.stdout.write(
                self.style.WARNING(
                    "Some stickers still carry another model's embeddings (their stored files failed above); "
                    "searches are refused until they are re-embedded or deleted."
                )
            )
