"""python -m sticker_service sync_catalog: copy search_service's sticker catalogue into this service's database."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sticker_service.catalog.services import sync_catalog
from sticker_service.core.search_client import SearchServiceError, SearchServiceUnavailable


class Command(BaseCommand):
    help = (
        "Copy the sticker catalogue from search_service (GET /api/images/), page by page in filename order. "
        "Idempotent; resume an interrupted run with --after FILENAME."
    )

    def add_arguments(self, parser):
        parser.add_argument("--page-size", type=int, default=200, help="stickers per request (1..1000)")
        parser.add_argument(
            "--after", default="", help="start after this filename (to resume a run; default: from the start)"
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="mark stickers search_service no longer lists as inactive (full runs only)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, page_size, after, prune, no_progress, **options):
        if not 1 <= page_size <= 1000:
            raise CommandError("--page-size must be between 1 and 1000")
        if prune and after:
            raise CommandError("--prune needs a full run (no --after)")
        bar = tqdm(unit="sticker", disable=no_progress, desc="sync_catalog")
        cursor = after

        def on_page(page: int, count: int, rows: int, last: str) -> None:
            nonlocal cursor
            cursor = last
            bar.total = count
            bar.update(rows)
            bar.set_postfix(page=page)

        try:
            result = sync_catalog(page_size=page_size, after=after, prune=prune, on_page=on_page)
        except SearchServiceUnavailable as exc:
            raise CommandError(f"search_service unavailable: {exc.reason}; resume with --after {cursor!r}") from exc
        except SearchServiceError as exc:
            raise CommandError(f"{exc} (after {cursor!r})") from exc
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"synced {result.upserted} stickers from {result.pages} pages; skipped {result.skipped} malformed; "
                f"deactivated {result.deactivated}"
            )
        )
