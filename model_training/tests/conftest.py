"""Fixtures of the training tests: the frozen towers as training loads them, and the shipped default model
as search_service serves it (its own encoder class)."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may touch the network
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def towers(tmp_path_factory):
    from model_training import features

    return features.Towers(tmp_path_factory.mktemp("towers-cache"), threads=2)


@pytest.fixture(scope="session")
def serving_encoder():
    """search_service's encoder on the shipped default model (what SEARCH_MODEL_NAME="" loads)."""
    from search_service.default_model.build import MODEL_ID, ensure_model_dir
    from search_service.encoders.open_clip_backend import OpenClipEncoder
    from search_service.encoders.spec import ModelSpec

    spec = ModelSpec(name=f"local-dir:{ensure_model_dir()}", pretrained=None, model_id=MODEL_ID)
    return OpenClipEncoder(spec, device="cpu", threads=2)
