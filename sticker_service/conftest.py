"""Fixtures shared by sticker_service's tests.

- ``sticker_isolation`` (autouse, testkit/sticker_isolation.py): rate limits off, caches cleared.
- ``fake_search_service``: a local fake search_service (testkit/fake_search_service.py) that sticker_service is
  pointed at. Tests against the real search_service are in tests/system/.
"""

from __future__ import annotations

import pytest

from testkit.fake_search_service import FakeSearchService
from testkit.sticker_isolation import sticker_isolation  # noqa: F401 - autouse fixture


@pytest.fixture
def fake_search_service(settings):
    server = FakeSearchService()
    settings.SEARCH_SERVICE_URL = server.url
    settings.SEARCH_SERVICE_TOKEN = "fake-search-token"  # noqa: S105 - a test value
    yield server
    server.close()
