"""The real search_service as a separate process, for integration tests and benchmarks.

It never imports search_service's code: it runs ``python -m search_service`` and gunicorn as subprocesses, the way
``make run`` does, against a throwaway database on the search database server.

What :class:`LiveSearchService` does (``start()`` = ``prepare()`` + ``serve()``):

1. creates a uniquely named database on the server of ``SEARCH_DATABASE_URL`` (pgvector available there),
2. ``python -m search_service migrate``,
3. writes ``images`` small PNGs and a metadata JSON ``{"<filename>": {"title", "tags"}}`` (override with
   ``stickers=[(filename, title, tags), ...]``), then ``python -m search_service index_images DIR --metadata FILE``,
4. starts ``gunicorn -c search_service/gunicorn.conf.py search_service.config.wsgi`` on ``127.0.0.1:<free port>``
   with ``SEARCH_SERVICE_TOKEN`` set, and waits for ``/readyz``.

``stop()`` / ``kill()`` end gunicorn (SIGTERM / SIGKILL, e.g. to test an outage) and ``serve()`` starts it
again on the same port; ``close()`` stops it, drops the database and removes the work folder.

Model: ``SEARCH_MODEL_NAME`` / ``SEARCH_MODEL_PRETRAINED`` from ``model_env``; by default an open_clip
ViT-B-32 with seeded random weights saved to a checkpoint file in the work folder (nothing is downloaded).
Pass ``model_env={}`` to use search_service's own default model instead.

Usage in pytest: the session fixture ``live_search_service`` (tests/system/conftest.py) yields a started
instance, and ``use_live_search_service`` points sticker_service's settings at it. By hand::

    .venv/bin/python -m testkit.live_search   # from the repository root; prints the URL, Ctrl-C stops it

Environment: ``SEARCH_DATABASE_URL`` (required: its server hosts the throwaway database),
``SEARCH_DATABASE_TEST_NAME`` (prefix of the database name, default ``test_search``).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from testkit.checkpoints import TEST_MODEL, write_random_checkpoint
from testkit.images import make_image
from testkit.live_process import LiveDjangoService

# Titles and tags of the generated stickers (filename -> title, tags); shapes/colours differ per image.
DEFAULT_STICKERS: list[tuple[str, str, list[str]]] = [
    ("cat.png", "grinning cat", ["cat", "animal", "smile"]),
    ("dog.png", "happy dog", ["dog", "animal"]),
    ("tree.png", "green tree in a park", ["tree", "park", "nature"]),
    ("pizza.png", "pizza slice", ["food", "pizza"]),
    ("rocket.png", "rocket launch", ["space", "rocket"]),
    ("heart.png", "red heart", ["love", "heart"]),
    ("sun.png", "smiling sun", ["weather", "sun"]),
    ("car.png", "red sports car", ["car", "vehicle"]),
]


def write_sticker_images(folder: Path, stickers: list[tuple[str, str, list[str]]]) -> Path:
    """One small distinct PNG per sticker, plus ``metadata.json``; returns the metadata file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (filename, _title, _tags) in enumerate(stickers):
        make_image(index, size=96).save(folder / filename, format="PNG")
    metadata = folder.parent / "metadata.json"
    metadata.write_text(
        json.dumps({name: {"title": title, "tags": tags} for name, title, tags in stickers}), encoding="utf-8"
    )
    return metadata


class LiveSearchService(LiveDjangoService):
    name = "search_service"
    ready_path = "/readyz"
    poll_interval = 0.3

    def __init__(
        self,
        *,
        stickers: list[tuple[str, str, list[str]]] | None = None,
        token: str | None = None,
        model_env: dict[str, str] | None = None,
        extra_env: dict[str, str] | None = None,
        workers: int = 1,
        threads: int = 4,
        database_url: str | None = None,
        ready_timeout: float = 180.0,
    ) -> None:
        server_url = database_url or os.environ.get("SEARCH_DATABASE_URL", "")
        if not server_url:
            raise RuntimeError("SEARCH_DATABASE_URL must name the search database server (pgvector available).")
        super().__init__(
            server_url=server_url,
            db_prefix=os.environ.get("SEARCH_DATABASE_TEST_NAME") or "test_search",
            extra_env=extra_env,
            workers=workers,
            threads=threads,
            ready_timeout=ready_timeout,
        )
        self.stickers = list(stickers or DEFAULT_STICKERS)
        self.token = token if token is not None else secrets.token_urlsafe(24)
        self.model_env = model_env

    @property
    def filenames(self) -> list[str]:
        return [name for name, _title, _tags in self.stickers]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def ready_headers(self) -> dict[str, str]:
        return self.headers()

    def env(self) -> dict[str, str]:
        if self._env is None:
            if self.model_env is None:
                checkpoint = write_random_checkpoint(self.workdir / "vit-b-32-random.pt")
                self.model_env = {"SEARCH_MODEL_NAME": TEST_MODEL, "SEARCH_MODEL_PRETRAINED": str(checkpoint)}
            inherited = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("STICKER_", "SEARCH_", "DJANGO_", "PYTEST_"))
            }
            self._env = {
                **inherited,
                "DJANGO_DEBUG": "false",
                "SEARCH_SECRET_KEY": secrets.token_urlsafe(50),
                "SEARCH_DATABASE_URL": self.database_url,
                "SEARCH_SERVICE_TOKEN": self.token,
                "SEARCH_MEDIA_ROOT": str(self.workdir / "media"),
                "SEARCH_BIND": f"127.0.0.1:{self.port}",
                "SEARCH_WORKERS": str(self.workers),
                "SEARCH_THREADS": str(self.threads),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECURE_COOKIES": "false",
                "GUNICORN_ACCESS_LOG": "",
                "LOG_LEVEL": "WARNING",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                **self.model_env,
                **self.extra_env,
            }
        return self._env

    def prepare(self) -> None:
        """Database, migrations, images indexed."""
        super().prepare()
        metadata = write_sticker_images(self.workdir / "images", self.stickers)
        self.manage("index_images", str(self.workdir / "images"), "--metadata", str(metadata), "--no-progress")


class SearchServiceInstance(LiveSearchService):
    """One more instance of a started :class:`LiveSearchService` (its own gunicorn on its own port) serving the
    same database and sticker files, with the same token, model and settings: several search_service instances
    behind sticker_service, as in a scaled-out deployment. ``close()`` leaves the shared database alone."""

    def __init__(self, first: LiveSearchService, *, workers: int = 1, threads: int = 4) -> None:
        super().__init__(
            stickers=first.stickers,
            token=first.token,
            model_env=first.env() and first.model_env,
            extra_env=first.extra_env,
            workers=workers,
            threads=threads,
            database_url=first.server_url,
            ready_timeout=first.ready_timeout,
        )
        self.first = first
        self.db_name, self.database_url = first.db_name, first.database_url

    def env(self) -> dict[str, str]:
        env = super().env()
        env["SEARCH_MEDIA_ROOT"] = self.first.env()["SEARCH_MEDIA_ROOT"]
        return env

    def prepare(self) -> None:
        """Nothing: the first instance made the database and indexed the stickers."""


def main() -> None:  # pragma: no cover - manual use
    with LiveSearchService() as service:
        print(f"search_service at {service.url} (token {service.token}); Ctrl-C stops it", flush=True)
        try:
            while service.process and service.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
