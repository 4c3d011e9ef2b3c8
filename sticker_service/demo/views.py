"""The demo page at ``/``: plain HTML + JavaScript over the public API (no build step, no session)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


def _media_origin() -> str:
    """Origin of STICKER_MEDIA_URL when the images live on another host (a CDN, search_service), else ''."""
    parts = urlsplit(settings.STICKER_MEDIA_URL)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@require_safe
def demo_page(request: HttpRequest) -> HttpResponse:
    response = render(request, "demo/index.html")
    # The page loads only its own script and style and calls only this service; images may come from the
    # media host. No inline script, so a sticker title can never run as code.
    images = " ".join(filter(None, ["'self'", _media_origin(), "data:"]))
    response["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    response["Cache-Control"] = "no-cache"
    return response
