"""Indexing a folder of images in batches (the body of ``python -m search_service index_images``).

Streams the folder (bounded memory), skips files whose content is already indexed with the loaded
model, commits every batch (an interrupted run resumes where it stopped), and never stops on a bad file.
"""

from __future__ import annotations

import logging
import os
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import Q

from search_service.encoders.base import Encoder

from .blending import reblend
from .images import IMAGE_EXTENSIONS, InvalidImage, decode_image, sha256_hex
from .metadata import Metadata
from .models import Sticker
from .selectors import other_models_present
from .services import StickerInput, store_stickers, update_metadata
from .storage import read_image
from .vector_index import drop_stale_vector_indexes, ensure_vector_indexes

logger = logging.getLogger(__name__)

# Decoded images are shrunk to this size at most while they wait for their batch (models take ~224-448 px).
MAX_DECODED_SIDE = 1024


@dataclass
class IndexStats:
    seen: int = 0
    indexed: int = 0  # new stickers
    replaced: int = 0  # existing filename, new content or re-embedded with the loaded model
    metadata_updated: int = 0
    skipped: int = 0  # already indexed with this content and model
    duplicates: int = 0  # same content as another indexed file
    failed: int = 0  # unreadable, corrupt or refused images
    unsupported: int = 0  # not an image file extension
    failures: list[str] = field(default_factory=list)  # first few "<file>: <reason>"
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.indexed + self.replaced

    @property
    def images_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def fail(self, filename: str, reason: str) -> None:
        self.failed += 1
        if len(self.failures) < 20:
            self.failures.append(f"{filename}: {reason}")
        logger.warning("Skipped %s: %s", filename, reason)


def iter_files(root: Path, recursive: bool) -> Iterator[tuple[str, Path]]:
    """(path relative to root with '/', absolute path) of every non-hidden file, streamed."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append((Path(entry.path), f"{prefix}{entry.name}/"))
                elif entry.is_file():
                    yield prefix + entry.name, Path(entry.path)


def sticker_filename(relative: str) -> str:
    """The sticker filename of a file (its relative path, NFC); ValueError when unusable."""
    name = unicodedata.normalize("NFC", relative)
    if len(name) > 255:
        raise ValueError("path longer than 255 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name) or "\\" in name:
        raise ValueError("control characters or backslashes in the name")
    return name


@dataclass
class _File:
    relative: str
    path: Path
    data: bytes | None = None
    sha256: str = ""
    error: str = ""


def _read(file: _File) -> _File:
    try:
        file.data = file.path.read_bytes()
        file.sha256 = sha256_hex(file.data)
    except OSError as exc:
        file.error = f"cannot read ({exc.strerror or exc})"
    return file


def image_chunks(
    files: Iterator[tuple[str, Path]], size: int, on_unsupported: Callable[[str], None]
) -> Iterator[list[_File]]:
    chunk: list[_File] = []
    for relative, path in files:
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            on_unsupported(relative)
            continue
        chunk.append(_File(relative, path))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class FolderIndexer:
    def __init__(
        self,
        encoder: Encoder,
        *,
        batch_size: int,
        metadata: dict[str, Metadata] | None = None,
        reindex: bool = False,
        progress: Callable[[int], None] | None = None,
        defer_index: bool | None = None,
    ) -> None:
        self.encoder = encoder
        self.batch_size = batch_size
        self.metadata = metadata or {}
        self.reindex = reindex
        self.progress = progress or (lambda n: None)
        self.stats = IndexStats()
        self._pending: list[StickerInput] = []
        self._pending_new: list[bool] = []
        self._seen_sha: set[str] = set()
        # A first load for this model builds its HNSW indexes once at the end (finish()), not row by row.
        # Queue workers always defer: the enqueuing command builds them once all batches are in.
        if defer_index is None:
            defer_index = not Sticker.objects.filter(model_id=encoder.model_id).exists()
        self._defer_index = defer_index
        self.reblended = 0

    # -- folder --------------------------------------------------------------------------------------
    def index_folder(self, root: Path, *, recursive: bool = False) -> IndexStats:
        return self.index_files(iter_files(root, recursive))

    def index_files(self, files: Iterable[tuple[str, Path]]) -> IndexStats:
        """Index (relative name, path) pairs: a folder's files, or one queued batch of them."""
        started = time.perf_counter()

        def unsupported(relative: str) -> None:
            self.stats.seen += 1
            self.stats.unsupported += 1
            logger.info("Ignored %s: not an image file extension (%s)", relative, ", ".join(sorted(IMAGE_EXTENSIONS)))
            self.progress(1)

        chunks = image_chunks(iter(files), self.batch_size, unsupported)
        # Reads and hashes the next chunk while this one is decoded and embedded.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-read") as reader:
            future = None
            for chunk in chunks:
                upcoming = [reader.submit(_read, file) for file in chunk]
                if future is not None:
                    self._classify([f.result() for f in future])
                future = upcoming
            if future is not None:
                self._classify([f.result() for f in future])
        self._flush()
        self.stats.seconds += time.perf_counter() - started
        return self.stats

    def _classify(self, files: list[_File]) -> None:
        names, valid = {}, []
        for file in files:
            self.stats.seen += 1
            if file.error:
                self.stats.fail(file.relative, file.error)
                self.progress(1)
                continue
            try:
                names[file.relative] = sticker_filename(file.relative)
            except ValueError as exc:
                self.stats.fail(file.relative, str(exc))
                self.progress(1)
                continue
            valid.append(file)
        existing = {
            s.filename: s
            for s in Sticker.objects.filter(filename__in=names.values()).defer("image_embedding", "text_embedding")
        }
        other_names = set(
            Sticker.objects.filter(sha256__in=[f.sha256 for f in valid])
            .exclude(filename__in=names.values())
            .values_list("sha256", flat=True)
        )
        # Contents not in the database yet: waiting in the batch, or met earlier in this chunk (bounded).
        self._seen_sha = {item.image.sha256 for item in self._pending}
        metadata_changes = []
        for file in valid:
            filename = names[file.relative]
            meta = self.metadata.get(file.relative) or self.metadata.get(filename)
            row = existing.get(filename)
            if row is not None and row.sha256 == file.sha256 and row.model_id == self.encoder.model_id:
                if meta is not None and (meta.title, meta.tags) != (row.title, row.tags):
                    metadata_changes.append((row, meta.title, meta.tags))
                else:
                    self.stats.skipped += 1
                self.progress(1)
                continue
            if row is None and (file.sha256 in other_names or file.sha256 in self._seen_sha):
                self.stats.duplicates += 1
                logger.info("Skipped %s: same content as a sticker already indexed", file.relative)
                self.progress(1)
                continue
            assert file.data is not None  # valid: read by _read()
            try:
                decoded = decode_image(
                    file.data, max_pixels=settings.SEARCH_MAX_IMAGE_PIXELS, max_side=MAX_DECODED_SIDE
                )
            except InvalidImage as exc:
                self.stats.fail(file.relative, str(exc))
                self.progress(1)
                continue
            if meta is None and row is not None:
                meta = Metadata(row.title, list(row.tags))  # new content, same name: keep its metadata
            meta = meta or Metadata()
            self._seen_sha.add(file.sha256)
            self._pending.append(StickerInput(filename, decoded, file.data, meta.title, meta.tags))
            self._pending_new.append(row is None)
            file.data = None
            if len(self._pending) >= self.batch_size:
                self._flush()
        if metadata_changes:
            self.stats.metadata_updated += update_metadata(metadata_changes, encoder=self.encoder)
            self.progress(len(metadata_changes))

    def _flush(self) -> None:
        if not self._pending:
            return
        store_stickers(
            self._pending, encoder=self.encoder, replace=True, reindex=self.reindex, ensure_index=not self._defer_index
        )
        new = sum(self._pending_new)
        self.stats.indexed += new
        self.stats.replaced += len(self._pending) - new
        self.progress(len(self._pending))
        self._pending, self._pending_new = [], []

    # -- re-embedding what the index holds from its stored files --------------------------------------
    def stale_count(self) -> int:
        return Sticker.objects.exclude(model_id=self.encoder.model_id).count()

    def reindex_stored(self) -> IndexStats:
        """Re-embed, from storage, every sticker whose embedding comes from another model."""
        started = time.perf_counter()
        last_id = 0
        model_id = self.encoder.model_id
        while True:
            batch = list(
                Sticker.objects.filter(~Q(model_id=model_id), id__gt=last_id)
                .order_by("id")
                .defer("image_embedding", "text_embedding")[: self.batch_size]
            )
            if not batch:
                break
            last_id = batch[-1].id
            items = []
            for sticker in batch:
                self.stats.seen += 1
                try:
                    decoded = decode_image(
                        read_image(sticker.filename),
                        max_pixels=settings.SEARCH_MAX_IMAGE_PIXELS,
                        max_side=MAX_DECODED_SIDE,
                    )
                except (OSError, InvalidImage) as exc:
                    self.stats.fail(sticker.filename, f"stored file unusable ({exc})")
                    self.progress(1)
                    continue
                items.append(StickerInput(sticker.filename, decoded, None, sticker.title, list(sticker.tags)))
            store_stickers(items, encoder=self.encoder, replace=True, reindex=True, ensure_index=not self._defer_index)
            self.stats.replaced += len(items)
            self.progress(len(items))
        self.stats.seconds += time.perf_counter() - started
        return self.stats

    def finish(self) -> list[str]:
        """Make sure the loaded model's indexes exist; drop other models' once none of their rows remain.
        Rows blended with another text weight than SEARCH_TEXT_WEIGHT (it changed) are re-blended first."""
        self.reblended = reblend()
        if Sticker.objects.filter(model_id=self.encoder.model_id).exists():
            ensure_vector_indexes(self.encoder.model_id, self.encoder.dim)
        if not other_models_present(self.encoder.model_id):
            return drop_stale_vector_indexes()
        return []
