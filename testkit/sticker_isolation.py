"""The autouse fixture of every test that runs sticker_service in-process (its own tests and tests/system):
rate limits and the feedback vote budget off (``settings.THROTTLE_RATES`` all None,
``FEEDBACK_MAX_VOTES_PER_MINUTE`` 0; a test of them sets its own), and the cache and
the per-process "recently seen stickers" memo cleared before and after each test.

A conftest uses it by importing it: ``from testkit.sticker_isolation import sticker_isolation``.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def sticker_isolation(settings):
    from django.core.cache import cache

    from catalog.services import recently_seen

    settings.THROTTLE_RATES = {scope: None for scope in settings.THROTTLE_RATES}
    settings.FEEDBACK_MAX_VOTES_PER_MINUTE = 0
    cache.clear()
    recently_seen.clear()
    yield
    cache.clear()
    recently_seen.clear()
