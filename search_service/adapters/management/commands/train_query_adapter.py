"""Train a query adapter from the votes in sticker_service, or roll the served one back.

    python -m search_service train_query_adapter                      # pull votes, train, serve the new version
    python -m search_service train_query_adapter --rollback           # serve the previous version (or none)
    python -m search_service train_query_adapter --list               # versions of the loaded model

Votes come from sticker_service's analytics API (``SEARCH_FEEDBACK_URL``, admin token ``SEARCH_FEEDBACK_TOKEN``
or ``--url`` / ``--token``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from search_service.adapters import services
from search_service.adapters.feedback_source import FeedbackSourceError, fetch_pairs
from search_service.adapters.models import QueryAdapter
from search_service.adapters.training import TrainConfig
from search_service.encoders.loader import ModelUnavailable, get_encoder


class Command(BaseCommand):
    help = "Train a query adapter from sticker_service's votes (newest version served), or --rollback."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default=None, help="sticker_service base URL (default SEARCH_FEEDBACK_URL).")
        parser.add_argument("--token", default=None, help="Admin API token (default SEARCH_FEEDBACK_TOKEN).")
        parser.add_argument("--rollback", action="store_true", help="Retire the served version; serve the previous.")
        parser.add_argument("--list", action="store_true", help="List the versions of the loaded model.")
        parser.add_argument("--rank", type=int, default=TrainConfig.rank)
        parser.add_argument("--steps", type=int, default=TrainConfig.steps)

    def handle(self, *args, **options) -> None:
        try:
            encoder = get_encoder()
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        if options["list"]:
            self._list(encoder.model_id)
        elif options["rollback"]:
            self._rollback(encoder.model_id)
        else:
            self._train(encoder, options)

    def _train(self, encoder, options) -> None:
        url = options["url"] or settings.SEARCH_FEEDBACK_URL
        token = options["token"] or settings.SEARCH_FEEDBACK_TOKEN
        if not url or not token:
            raise CommandError(
                "Give sticker_service's URL and an admin token (SEARCH_FEEDBACK_URL/_TOKEN or --url/--token)."
            )
        if options["rank"] < 1 or options["steps"] < 1:
            raise CommandError("--rank and --steps must be >= 1.")
        try:
            pairs = fetch_pairs(url, token)
        except FeedbackSourceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{len(pairs)} voted (query, sticker) pairs from {url}")
        config = TrainConfig(rank=options["rank"], steps=options["steps"])
        try:
            adapter = services.train_adapter(encoder, pairs, config, source=url)
        except services.NothingToTrain as exc:
            raise CommandError(str(exc)) from exc
        stats = adapter.stats
        self.stdout.write(
            self.style.SUCCESS(
                f"adapter v{adapter.pk} for {adapter.model_id} is served: {stats['queries']} queries, "
                f"{stats['pairs']} pairs, loss {stats['loss_before']} -> {stats['loss_after']}, "
                f"trained in {stats['train_seconds']} s (texts encoded in {stats['embed_seconds']} s)"
            )
        )

    def _rollback(self, model_id: str) -> None:
        try:
            retired, served = services.roll_back(model_id)
        except services.NothingToRollBack as exc:
            raise CommandError(str(exc)) from exc
        now = f"adapter v{served.pk}" if served else "no adapter (the model's own query embeddings)"
        self.stdout.write(self.style.SUCCESS(f"adapter v{retired.pk} rolled back; served now: {now}"))

    def _list(self, model_id: str) -> None:
        for adapter in QueryAdapter.objects.filter(model_id=model_id).order_by("-id"):
            state = "rolled back" if adapter.rolled_back_at else "available"
            self.stdout.write(f"v{adapter.pk}  {adapter.created_at:%Y-%m-%d %H:%M:%S}  {state}  {adapter.stats}")
