"""The demo page at /: served with DEBUG off (whitenoise). Its end-to-end use in headless Chromium against the real
search_service is tests/system/test_demo_page_browser.py."""

from __future__ import annotations

import re


def test_page_and_its_static_files_are_served_with_debug_off(client, settings):
    assert settings.DEBUG is False
    settings.STICKER_MEDIA_URL = "https://cdn.example.com/stickers/"
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'id="search-form"' in html and 'id="load-more"' in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "img-src 'self' https://cdn.example.com data:;" in csp  # images from the media host only
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert {a.rsplit("/", 1)[-1] for a in assets} == {"demo.css", "demo.js"}
    for asset in assets:  # whitenoise, not Django's DEBUG-only static view
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content) if served.streaming else served.content
    assert client.post("/").status_code == 405


def test_vote_buttons_need_no_emoji_font_and_have_accessible_names(client, settings):
    """Issue 23 (small): the buttons were 👍/👎 glyphs, blank boxes in a browser without an emoji font (headless
    Chromium here). Now inline SVG (hidden from assistive technology) beside text, named by aria-label."""
    html = client.get("/").content.decode()
    buttons = re.findall(r'<button type="button" class="vote (up|down)"([^>]*)>(.*?)</button>', html, re.S)
    assert [(kind, re.search(r'aria-label="([^"]+)"', attrs).group(1)) for kind, attrs, _ in buttons] == [
        ("up", "Good match"),
        ("down", "Bad match"),
    ]
    for _kind, _attrs, inner in buttons:
        assert '<svg aria-hidden="true"' in inner
        text = re.sub(r"<svg.*?</svg>|<!--.*?-->", "", inner, flags=re.S).strip()
        assert text in ("Good", "Bad")
    assert not re.search(r"[\U0001F000-\U0001FAFF\u2600-\u27BF]", html), "an emoji glyph in the page"


def test_swagger_ui_is_served_without_a_cdn(client):
    html = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)
    assert assets and all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets), assets
    assert "cdn" not in html.lower()
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
