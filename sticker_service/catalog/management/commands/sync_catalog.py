"""manage.py sync_catalog: copy search_service's sticker catalogue into this service's database."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.services import sync_catalog
from searches.client import SearchServiceError, SearchServiceUnavailable


class Command(BaseCommand):
    help = (
        "Copy the sticker catalogue from search_service (GET /api/images/), page by page. Idempotent; "
        "resume an interrupted run with --start-page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--page-size", type=int, default=200, help="stickers per request (1..1000)")
        parser.add_argument("--start-page", type=int, default=1, help="first page to fetch (to resume a run)")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="mark stickers search_service no longer lists as inactive (full runs only)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, page_size, start_page, prune, no_progress, **options):
        if not 1 <= page_size <= 1000:
            raise CommandError("--page-size must be between 1 and 1000")
        if start_page < 1:
            raise CommandError("--start-page must be at least 1")
        if prune and start_page != 1:
            raise CommandError("--prune needs a full run (--start-page 1)")
        bar = tqdm(unit="sticker", disable=no_progress, desc="sync_catalog", initial=(start_page - 1) * page_size)
        next_page = start_page

        def on_page(page: int, count: int, rows: int) -> None:
            nonlocal next_page
            next_page = page + 1
            bar.total = count
            bar.update(rows)
            bar.set_postfix(page=page)

        try:
            result = sync_catalog(page_size=page_size, start_page=start_page, prune=prune, on_page=on_page)
        except SearchServiceUnavailable as exc:
            raise CommandError(
                f"search_service unavailable: {exc.reason}; resume with --start-page {next_page}"
            ) from exc
        except SearchServiceError as exc:
            raise CommandError(f"{exc} (at page {next_page})") from exc
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"synced {result.upserted} stickers from {result.pages} pages; skipped {result.skipped} malformed; "
                f"deactivated {result.deactivated}"
            )
        )
