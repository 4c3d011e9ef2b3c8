"""System tests: both services together, over real HTTP. Every test here is marked ``system``.

Two set-ups:

- ``use_live_search_service``: sticker_service in this process (pytest-django: test client, live server,
  sticker_service's settings), pointed at the real search_service under gunicorn (``live_search_service``,
  session-wide, on a throwaway database of the search database server, 8 indexed stickers).
- ``stack`` (session) starts a throwaway embedded PostgreSQL cluster of its own (so that a test may stop and
restart it without touching the shared server), the real search_service on it (``LiveSearchService``,
8 indexed stickers, a service token) and the real sticker_service on it (``LiveStickerService``, 2 workers
x 4 threads) pointed at that search_service.
"""

from __future__ import annotations

import pytest
import requests

from testkit.checkpoints import write_random_checkpoint
from testkit.embedded_cluster import EmbeddedCluster
from testkit.live_process import LiveDjangoService
from testkit.live_search import LiveSearchService, write_sticker_images
from testkit.live_sticker import LiveStickerService
from testkit.sticker_isolation import sticker_isolation  # noqa: F401 - autouse fixture
from tests.system.figures import FIGURES

# A smaller open_clip model than ViT-B-32 (seeded random weights): these tests are about the services, not the
# ranking, and it halves checkpoint writing and model loading in each gunicorn worker.
MODEL = "ViT-S-32"
# Prometheus scrapes of the stack's services send "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = "system-test-metrics-token"


class UploadedSearchService(LiveSearchService):
    """search_service whose stickers are added through ``POST /api/images/`` once it serves, instead of by
    ``index_images`` in a separate process (which would load the model once more)."""

    def prepare(self) -> None:
        LiveDjangoService.prepare(self)  # database and migrations only: no index_images

    def start(self) -> UploadedSearchService:
        super().start()
        self.upload_missing()
        return self

    def upload_missing(self) -> None:
        """Upload the stickers it does not list (all of them at the start; later the ones a test deleted,
        e.g. schemathesis following its links from the catalogue to DELETE)."""
        session = requests.Session()
        listed = session.get(f"{self.url}/api/images/", headers=self.headers(), params={"page_size": 1000}, timeout=30)
        present = {item["filename"] for item in listed.json()["results"]} if listed.status_code == 200 else set()
        folder = self.workdir / "images"
        write_sticker_images(folder, self.stickers)
        for filename, title, tags in self.stickers:
            if filename in present:
                continue
            with (folder / filename).open("rb") as image:
                response = session.post(
                    f"{self.url}/api/images/",
                    headers=self.headers(),
                    timeout=60,
                    files={"image": (filename, image, "image/png")},
                    data={"title": title, "tags": ",".join(tags)},
                )
            if response.status_code != 201:
                self.close()
                raise RuntimeError(f"uploading {filename} failed: {response.status_code} {response.text[:500]}")


class Stack:
    def __init__(self, cluster: EmbeddedCluster, search: UploadedSearchService, sticker: LiveStickerService) -> None:
        self.cluster, self.search, self.sticker = cluster, search, sticker

    def new_sticker(self, **kwargs) -> LiveStickerService:
        """Another sticker_service instance (own database, own settings) on the same cluster and search_service."""
        return LiveStickerService(
            search_url=self.search.url,
            search_token=self.search.token,
            database_url=self.cluster.url("sticker"),
            **kwargs,
        ).start()


@pytest.fixture(scope="session")
def stack():
    cluster = EmbeddedCluster().start()
    search = sticker = checkpoint = None
    try:
        checkpoint = write_random_checkpoint(cluster.data_dir.parent / f"{cluster.data_dir.name}-{MODEL}.pt", MODEL)
        search = UploadedSearchService(
            database_url=cluster.url("search"),
            workers=1,
            threads=4,
            model_env={"SEARCH_MODEL_NAME": MODEL, "SEARCH_MODEL_PRETRAINED": str(checkpoint)},
            extra_env={"METRICS_TOKEN": METRICS_TOKEN},
        ).start()
        sticker = LiveStickerService(
            search_url=search.url,
            search_token=search.token,
            database_url=cluster.url("sticker"),
            workers=2,
            threads=4,
            extra_env={"METRICS_TOKEN": METRICS_TOKEN},
        ).start()
        yield Stack(cluster, search, sticker)
    finally:
        for service in (sticker, search):
            if service is not None:
                service.kill()  # throwaway processes: no graceful shutdown needed
                service.close()
        cluster.close()
        if checkpoint is not None:
            checkpoint.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def live_search_service():
    """The real search_service (gunicorn, own throwaway database, 8 indexed stickers), for the session.

    See testkit/live_search.py: ``.url``, ``.token``, ``.filenames``, ``.stickers``, ``.stop()``, ``.kill()``,
    ``.serve()`` (start again after a stop/kill), ``.log_tail()``.
    """
    service = LiveSearchService().start()
    yield service
    service.close()


@pytest.fixture
def use_live_search_service(live_search_service, settings):
    """Points the in-process sticker_service at the live search_service (URL and token) for one test."""
    live_search_service.serve()  # a previous test may have stopped it
    settings.SEARCH_SERVICE_URL = live_search_service.url
    settings.SEARCH_SERVICE_TOKEN = live_search_service.token
    return live_search_service


@pytest.fixture
def up(stack):
    """The stack with every part running (a previous test may have killed or frozen one) and search_service
    holding its 8 stickers (a previous test may have deleted some)."""
    stack.search.serve()
    stack.sticker.serve()
    stack.search.upload_missing()
    return stack


def pytest_terminal_summary(terminalreporter, config):
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
