"""Shared fixtures: a real open_clip ViT-B-32 (random weights, seeded) loaded from a checkpoint file through
the production path, a throwaway sticker storage per test, and helpers to make test images."""

from __future__ import annotations

import os
import time

os.environ["HF_HUB_OFFLINE"] = "1"  # weights are never downloaded in tests
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
from django.test import override_settings

from search_service.encoders import loader
from search_service.stickers import vector_index
from servicekit.caching import clear_all
from testkit.checkpoints import TEST_MODEL, write_random_checkpoint, write_tiny_model
from testkit.memo_encoder import MemoEncoder


@pytest.fixture(scope="session")
def clip_checkpoint(tmp_path_factory, request):
    """ViT-B-32 with pretrained=None (seeded random weights), its state dict saved to a file."""
    started = time.perf_counter()
    path = write_random_checkpoint(tmp_path_factory.mktemp("model") / "vit-b-32-random.pt", TEST_MODEL)
    request.config._search_checkpoint_seconds = time.perf_counter() - started
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny open_clip model as a ``local-dir:`` folder (config with a model_id, safetensors weights):
    loads in a fraction of a second, for tests that start the service in subprocesses."""
    return write_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session", autouse=True)
def encoder(clip_checkpoint, request):
    """The process's encoder, loaded by the production code from SEARCH_MODEL_NAME/SEARCH_MODEL_PRETRAINED."""
    started = time.perf_counter()
    override = override_settings(
        SEARCH_MODEL_NAME=TEST_MODEL, SEARCH_MODEL_PRETRAINED=str(clip_checkpoint), SEARCH_SERVICE_TOKEN=""
    )
    override.enable()
    loader.set_encoder(None)
    encoder = loader.get_encoder()
    request.config._search_model_seconds = time.perf_counter() - started
    # Requests and commands use the real model through a memo (each distinct input is encoded once).
    loader.set_encoder(MemoEncoder(encoder))
    yield encoder
    loader.set_encoder(None)
    override.disable()


@pytest.fixture(autouse=True)
def sticker_media(settings, tmp_path):
    """Each test stores sticker files in its own folder, and starts with fresh index bookkeeping."""
    media = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "stickers": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media), "base_url": settings.SEARCH_MEDIA_URL, "allow_overwrite": True},
        },
    }
    settings.SEARCH_MEDIA_ROOT = str(media)
    vector_index.forget_ensured()
    yield media
    vector_index.forget_ensured()


@pytest.fixture(autouse=True)
def empty_caches(settings):
    """Each test starts with this process's caches empty (servicekit.caching.clear_all: query vectors, adapted
    vectors, served adapters, search results, catalogue sizes). Within a test, the first search looks for a query
    adapter and later ones reuse the answer (a test about adapters sets SEARCH_ADAPTER_REFRESH = 0)."""
    settings.SEARCH_ADAPTER_REFRESH = 3600
    clear_all()
    yield
    clear_all()


def pytest_terminal_summary(terminalreporter, config):
    saved = getattr(config, "_search_checkpoint_seconds", None)
    loaded = getattr(config, "_search_model_seconds", None)
    if saved is not None and loaded is not None:
        terminalreporter.write_line(
            f"search_service test model: ViT-B-32 checkpoint written in {saved:.1f} s, loaded in {loaded:.1f} s"
        )
