"""The demo page at / used end to end in real headless Chromium: sticker_service (Django's live server) backed by
the real search_service."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from testkit.browser import ARGS, require_chromium

pytestmark = pytest.mark.system


@pytest.fixture
def browser_page(tmp_path):
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.set_default_timeout(20_000)
        page.problems = []  # console errors and uncaught exceptions
        page.on("console", lambda msg: msg.type == "error" and page.problems.append(msg.text))
        page.on("pageerror", lambda exc: page.problems.append(str(exc)))
        page.requested_hosts = set()
        page.on("request", lambda request: page.requested_hosts.add(urlsplit(request.url).netloc))
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def admin_token(transactional_db) -> str:
    admin = User.objects.create_user("ml-admin", password="unused-pw", is_staff=True)
    return Token.objects.create(user=admin).key


# Fixture order matters: the database work (admin_token) happens before Playwright starts, because its sync
# API runs an event loop in this thread and Django refuses ORM calls there; the browser closes first.
def test_search_vote_and_read_it_back_in_headless_chromium(
    live_server, use_live_search_service, settings, admin_token, browser_page
):
    service = use_live_search_service
    settings.STICKER_MEDIA_URL = f"{service.url}/media/stickers/"  # the live search_service serves the images
    token = admin_token
    page = browser_page

    # Search: 3 per page (?limit=3), so "Load more" has a next page among the 8 stickers.
    page.goto(f"{live_server.url}/?limit=3")
    page.fill("#query", "cat")
    page.press("#query", "Enter")
    cards = page.locator("#results .card")
    cards.nth(2).wait_for()
    assert cards.count() == 3
    expected = requests.get(f"{live_server.url}/api/search/", params={"query": "cat", "limit": 6}, timeout=10).json()[
        "stickers"
    ]
    first = [cards.nth(i).get_attribute("data-filename") for i in range(3)]
    assert first == [s["filename"] for s in expected[:3]]
    assert re.fullmatch(r"score -?\d\.\d{3}", cards.nth(0).locator(".score").inner_text())
    assert "3 stickers for “cat”" in page.inner_text("#status")
    # The images really load from the media URL (search_service here).
    page.wait_for_function("() => [...document.querySelectorAll('#results img')].every(i => i.naturalWidth > 0)")
    if os.environ.get("STICKER_DEMO_SCREENSHOT"):  # e.g. assets/demo_page.png, for the README
        page.screenshot(path=os.environ["STICKER_DEMO_SCREENSHOT"])

    # Load more: the next offset, appended.
    page.click("#load-more")
    cards.nth(5).wait_for()
    assert [cards.nth(i).get_attribute("data-filename") for i in range(6)] == [s["filename"] for s in expected]

    # Thumbs up on the first sticker -> POST /api/feedback/ from the page (JSON, no CSRF token, no session).
    target = first[0]
    card = page.locator(f'#results .card[data-filename="{target}"]')
    with page.expect_response(lambda r: r.url.endswith("/api/feedback/")) as posted:
        card.locator(".vote.up").click()
    assert posted.value.status == 200 and posted.value.json() == {"recorded": 1, "failed": []}
    assert card.locator(".vote.up").get_attribute("aria-pressed") == "true"
    assert "good match" in card.locator(".note").inner_text()

    # The vote, read back through the analytics API with the admin token.
    report = requests.get(
        f"{live_server.url}/api/analytics/",
        params={"query": "cat"},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert report.status_code == 200, report.text
    votes = {s["filename"]: (s["positive"], s["negative"]) for s in report.json()["stickers"]}
    assert votes == {target: (1, 0)}
    assert report.json()["usage_count"] == 3  # the page's search, its "load more" and the test's own search

    # More like this: the public /api/similar/ (the sticker itself is left out; no votes there).
    with page.expect_response(lambda r: "/api/similar/" in r.url) as similar:
        card.locator(".similar").click()
    assert similar.value.status == 200
    page.wait_for_function(
        f"() => document.querySelector('#status').textContent.includes('like')"
        f" && !document.querySelector('#results .card[data-filename=\"{target}\"]')"
    )
    neighbours = [c.get_attribute("data-filename") for c in cards.all()]
    assert len(neighbours) == 3 and target not in neighbours and set(neighbours) <= set(service.filenames)
    assert page.locator("#results .vote").count() == 0
    assert page.locator("#load-more").is_hidden()

    # Bad input is explained, not sent: an empty query.
    page.fill("#query", "   ")
    page.press("#query", "Enter")
    assert "Type what the sticker should show" in page.inner_text("#status")

    # Swagger UI renders from local files only.
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() >= 8

    assert page.problems == []
    assert page.requested_hosts <= {urlsplit(live_server.url).netloc, urlsplit(service.url).netloc}


def test_autocomplete_and_trending_in_headless_chromium(live_server, use_live_search_service, settings, browser_page):
    service = use_live_search_service
    settings.STICKER_MEDIA_URL = f"{service.url}/media/stickers/"
    page = browser_page

    # The privacy floor counts client addresses: three clients behind one trusted proxy (X-Forwarded-For).
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    def searched(query: str, *addresses: str) -> None:
        for address in addresses:
            params = {"query": query, "limit": 3}
            answer = requests.get(
                f"{live_server.url}/api/search/", params=params, headers={"X-Forwarded-For": address}, timeout=10
            )
            assert answer.status_code == 200

    clients = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    searched("Cat  in a Park", *clients)  # logged as "cat in a park", 3 distinct clients
    searched("cat on a mat", *clients[:2])  # below the privacy floor: never shown
    searched("dog", *clients)

    # The trending row: both queries above the floor, rising from nothing; "cat on a mat" is not there.
    page.goto(f"{live_server.url}/?limit=3")
    chips = page.locator("#trending-list button")
    chips.nth(1).wait_for()
    assert [chips.nth(i).inner_text() for i in range(chips.count())] == ["cat in a park", "dog"]
    assert page.locator("#trending").is_visible()

    # Autocomplete under the box: typed in any case, the suggestion comes back in normal form with its uses.
    with page.expect_response(lambda r: "/api/suggest/" in r.url and "prefix=CAT" in r.url) as answered:
        page.fill("#query", "CAT")
    assert answered.value.json()["suggestions"] == [{"query": "cat in a park", "uses": 3}]
    options = page.locator("#suggestions li")
    options.first.wait_for()
    assert options.count() == 1
    assert options.first.locator(".text").inner_text() == "cat in a park"
    assert options.first.locator(".uses").inner_text() == "3 searches"
    assert page.get_attribute("#query", "aria-expanded") == "true"

    # Arrow down + Enter picks it and searches it (with the page's own client id).
    page.press("#query", "ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    with page.expect_response(lambda r: "/api/search/" in r.url) as search:
        page.press("#query", "Enter")
    assert search.value.status == 200 and "client_id=" in search.value.url
    page.locator("#results .card").nth(2).wait_for()
    assert page.input_value("#query") == "cat in a park"
    assert "for “cat in a park”" in page.inner_text("#status")
    assert page.locator("#suggestions").is_hidden()
    suggested = requests.get(f"{live_server.url}/api/suggest/", params={"prefix": "cat"}, timeout=10).json()
    assert suggested["suggestions"] == [{"query": "cat in a park", "uses": 4}]

    # Nothing to suggest below the floor: the list stays closed.
    with page.expect_response(lambda r: "/api/suggest/" in r.url and "prefix=cat+o" in r.url) as answered:
        page.fill("#query", "cat o")
    assert answered.value.json()["suggestions"] == []
    assert page.locator("#suggestions").is_hidden()

    # A click on a trending query searches it.
    with page.expect_response(lambda r: "/api/search/" in r.url and "query=dog" in r.url):
        chips.nth(1).click()
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('for “dog”')")
    assert page.input_value("#query") == "dog"

    assert page.problems == []
    assert page.requested_hosts <= {urlsplit(live_server.url).netloc, urlsplit(service.url).netloc}
