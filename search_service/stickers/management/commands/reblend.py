"""python -m search_service reblend [--rebuild-indexes] [--check]"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from search_service.stickers.blending import outdated_count, reblend
from search_service.stickers.vector_index import rebuild_vector_indexes


class Command(BaseCommand):
    help = (
        "Re-blend every sticker's search vector with the configured SEARCH_TEXT_WEIGHT (after it changed: searches "
        "are refused with 503 blend_outdated until this has run) and rebuild the blended HNSW indexes. Nothing is "
        "re-embedded. --rebuild-indexes also rebuilds all HNSW indexes with the current SEARCH_HNSW_M and "
        "SEARCH_HNSW_EF_CONSTRUCTION. --check only reports (exit status 1 when a re-blend is needed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild-indexes", action="store_true", help="rebuild the HNSW indexes too")
        parser.add_argument("--check", action="store_true", help="report only; exit 1 when a re-blend is needed")

    def handle(self, *args, rebuild_indexes: bool, check: bool, **options):
        weight = settings.SEARCH_TEXT_WEIGHT
        outdated = outdated_count(weight)
        if check:
            self.stdout.write(f"{outdated} stickers not blended with SEARCH_TEXT_WEIGHT={weight}.")
            if outdated:
                raise CommandError("Re-blend needed: python -m search_service reblend", returncode=1)
            return
        started = time.perf_counter()
        rows = reblend(weight)
        self.stdout.write(
            f"Re-blended {rows} stickers with SEARCH_TEXT_WEIGHT={weight} in {time.perf_counter() - started:.1f} s."
            if rows
            else f"All stickers are blended with SEARCH_TEXT_WEIGHT={weight}; nothing to do."
        )
        if rebuild_indexes:
            started = time.perf_counter()
            rebuild_vector_indexes()
            self.stdout.write(
                f"Rebuilt the HNSW indexes (m={settings.SEARCH_HNSW_M}, ef_construction="
                f"{settings.SEARCH_HNSW_EF_CONSTRUCTION}) in {time.perf_counter() - started:.1f} s."
            )
