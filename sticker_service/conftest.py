"""Fixtures shared by sticker_service's tests.

- Rate limits are off by default (``settings.THROTTLE_RATES`` all None); a throttling test sets its own.
- ``stand_in``: a local fake search_service (testing/stand_in.py) that sticker_service is pointed at.
- ``live_search_service``: the real search_service under gunicorn with a small index (testing/live_search.py).
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from catalog.services import recently_seen
from testing.live_search import LiveSearchService
from testing.stand_in import StandIn


@pytest.fixture(autouse=True)
def _isolation(settings):
    settings.THROTTLE_RATES = {scope: None for scope in settings.THROTTLE_RATES}
    cache.clear()
    recently_seen.clear()
    yield
    cache.clear()
    recently_seen.clear()


@pytest.fixture
def stand_in(settings):
    server = StandIn()
    settings.SEARCH_SERVICE_URL = server.url
    settings.SEARCH_SERVICE_TOKEN = "stand-in-token"  # noqa: S105 - a test value
    yield server
    server.close()


@pytest.fixture(scope="session")
def live_search_service():
    """The real search_service (gunicorn, own throwaway database, 8 indexed stickers), for the session.

    See testing/live_search.py: ``.url``, ``.token``, ``.filenames``, ``.stickers``, ``.stop()``, ``.kill()``,
    ``.serve()`` (start again after a stop/kill), ``.log_tail()``.
    """
    service = LiveSearchService().start()
    yield service
    service.close()


@pytest.fixture
def use_live_search_service(live_search_service, settings):
    """Points sticker_service at the live search_service (URL and token) for one test."""
    live_search_service.serve()  # a previous test may have stopped it
    settings.SEARCH_SERVICE_URL = live_search_service.url
    settings.SEARCH_SERVICE_TOKEN = live_search_service.token
    return live_search_service
