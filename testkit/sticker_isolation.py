"""The autouse fixture of every test that runs sticker_service in-process (its own tests and tests/system):
rate limits and the feedback vote budget off (``settings.THROTTLE_RATES`` all None,
``FEEDBACK_MAX_VOTES_PER_MINUTE`` 0; a test of them sets its own), and the cache and
the per-process caches (``servicekit.caching.clear_all``: the "recently seen stickers" memo) cleared before and
after each test.

A conftest uses it by importing it: ``from testkit.sticker_isolation import sticker_isolation``.
"""

from __future__ import annotations

import pytest


def _clear_cache() -> None:
    from django.core.cache import cache

    try:
        cache.clear()
    except RuntimeError:  # the database cache in a test without database access: nothing can be in it
        pass


@pytest.fixture(autouse=True)
def sticker_isolation(settings):
    from servicekit.caching import clear_all

    settings.THROTTLE_RATES = {scope: None for scope in settings.THROTTLE_RATES}
    settings.FEEDBACK_MAX_VOTES_PER_MINUTE = 0
    _clear_cache()
    clear_all()
    yield
    _clear_cache()
    clear_all()
