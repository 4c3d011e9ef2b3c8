"""The Celery app of search_service's bulk indexing (``celery -A search_service.config.celery worker``).

Broker and result store: Redis (``SEARCH_CELERY_BROKER_URL``); every ``CELERY_*`` Django setting configures it
(config/settings.py). Tasks: ``stickers.tasks``. Each worker process loads the model once, when it starts.
"""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "search_service.config.settings")

logger = logging.getLogger(__name__)

app = Celery("search_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["search_service.stickers"])


@worker_process_init.connect
def _load_model(**_kwargs) -> None:
    """Load the model as the worker process starts, not inside its first batch."""
    from search_service.encoders.loader import get_encoder

    encoder = get_encoder()
    logger.info("Index worker process %d: model %s loaded", os.getpid(), encoder.model_id)
