"""python -m search_service export_onnx [--force] [--check]"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from search_service.encoders import onnx_backend
from search_service.encoders.spec import configured_model_id


class Command(BaseCommand):
    help = (
        "Export the configured model's text and image towers to ONNX into SEARCH_ONNX_DIR, for serving without "
        "torch (SEARCH_RUNTIME=auto or onnx). Does nothing when a current export of the model is there (--force "
        "exports again). --check only reports (exit status 1 when no current export is there)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="export even when a current export is there")
        parser.add_argument("--check", action="store_true", help="report only; exit 1 without a current export")

    def handle(self, *args, force: bool, check: bool, **options):
        folder = Path(settings.SEARCH_ONNX_DIR)
        if check:
            model_id = configured_model_id()
            try:
                onnx_backend.read_export(folder, model_id)
            except onnx_backend.ExportUnusable as exc:
                raise CommandError(f"No current ONNX export: {exc}.", returncode=1) from exc
            self.stdout.write(f"{folder} holds a current ONNX export of {model_id}.")
            return
        from search_service.encoders.onnx_export import ensure_export
        from search_service.encoders.spec import resolve_model_spec

        started = time.perf_counter()
        try:
            spec = resolve_model_spec()
            manifest, exported = ensure_export(spec, folder, force=force)
        except (ImproperlyConfigured, RuntimeError) as exc:  # RuntimeError: the export differs from open_clip
            raise CommandError(f"Not exported: {exc}") from exc
        self.stdout.write(
            f"Exported {spec.model_id} (dim {manifest['dim']}) to {folder} in {time.perf_counter() - started:.1f} s."
            if exported
            else f"{folder} already holds a current ONNX export of {spec.model_id}; nothing to do."
        )
