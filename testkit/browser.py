"""Headless Chromium for end-to-end tests: Debian's ``chromium`` driven by Playwright for Python.

Playwright's own browser download does not work on the project's machines, so the system browser is used
(``CHROMIUM_PATH``, default ``/usr/bin/chromium``; ``make test`` installs it with apt when running as root).
Without it the browser tests skip with the reason, except when ``CI=true``: there they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if Path(configured).is_file() and os.access(configured, os.X_OK):
        return configured
    return shutil.which("chromium")


def require_chromium() -> str:
    """The browser's path; skips the test when there is none (fails on CI, where it must run)."""
    path = chromium_path()
    if path is None:
        reason = (
            "no Chromium at /usr/bin/chromium (CHROMIUM_PATH): install Debian's chromium "
            "(apt-get install chromium; `make test` does it when run as root)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: the browser test must run, but {reason}", pytrace=False)
        pytest.skip(reason)
    return path
