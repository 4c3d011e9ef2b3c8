"""Fixtures of the repository checks: docker-compose.yml as written and as compose renders it."""

from __future__ import annotations

import pytest

from tests.repository import deploy


@pytest.fixture(scope="session")
def raw_compose() -> dict:
    return deploy.compose_file()


@pytest.fixture(scope="session")
def compose() -> dict:
    """docker-compose.yml as compose sees it when .env is a copy of .env.example."""
    return deploy.rendered_compose()
