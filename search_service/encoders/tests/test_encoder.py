"""The production load path (checkpoint file through open_clip) and the encoder's contract."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

from search_service.encoders import loader
from search_service.encoders.base import Encoder, composite_on_white
from search_service.encoders.spec import file_sha256, resolve_model_spec
from testkit.images import make_image


def test_checkpoint_file_loads_through_the_production_path(encoder, clip_checkpoint):
    assert isinstance(encoder, Encoder)
    assert encoder.model_id == f"ViT-B-32/file-{file_sha256(clip_checkpoint)[:12]}"
    assert encoder.dim == 512
    texts = encoder.encode_texts(["a cat in a park", "🐱 кошка", ""])
    images = encoder.encode_images([make_image(1), make_image(2, mode="RGBA"), make_image(3).convert("L")])
    for vectors in (texts, images):
        assert vectors.shape == (3, 512)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(texts[0], texts[1])
    assert not np.allclose(images[0], images[1])


def test_the_same_input_gives_the_same_vector(encoder):
    first = encoder.encode_texts(["red circle"])
    batch = encoder.encode_texts(["blue square", "red circle"])
    np.testing.assert_allclose(first[0], batch[1], atol=1e-5)


def test_transparent_pixels_become_white(encoder):
    transparent = Image.new("RGBA", (64, 64), (0, 0, 0, 0))  # black but fully transparent
    white = Image.new("RGB", (64, 64), "white")
    assert composite_on_white(transparent).getpixel((5, 5)) == (255, 255, 255)
    vectors = encoder.encode_images([transparent, white, Image.new("RGB", (64, 64), "black")])
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-5)
    assert not np.allclose(vectors[0], vectors[2], atol=1e-3)


def test_query_embeddings_are_cached_per_process(encoder):
    hits = loader.query_vectors.hits
    first = loader.embed_query("a unique query for the cache test")
    second = loader.embed_query("a unique query for the cache test")
    assert first is second
    assert not first.flags.writeable
    assert loader.query_vectors.hits == hits + 1
    np.testing.assert_allclose(first, encoder.encode_texts(["a unique query for the cache test"])[0], atol=1e-5)


def test_pretrained_tags_give_readable_ids_without_loading(settings):
    settings.SEARCH_MODEL_NAME, settings.SEARCH_MODEL_PRETRAINED = "ViT-B-32", "laion2b_s34b_b79k"
    spec = resolve_model_spec()
    assert (spec.model_id, spec.pretrained) == ("ViT-B-32/laion2b_s34b_b79k", "laion2b_s34b_b79k")


@pytest.mark.parametrize(
    ("name", "pretrained", "message"),
    [
        ("ViT-B-32", "", "random weights"),
        ("ViT-B-32", "/no/such/checkpoint.pt", "neither a pretrained tag"),
        ("No-Such-Model", "x", "not an open_clip model"),
        ("local-dir:/no/such/folder", "", "open_clip_config.json"),
    ],
)
def test_bad_model_settings_are_clear_errors(settings, name, pretrained, message):
    settings.SEARCH_MODEL_NAME, settings.SEARCH_MODEL_PRETRAINED = name, pretrained
    with pytest.raises(ImproperlyConfigured, match=message):
        resolve_model_spec()


def test_local_dir_model_id_comes_from_its_config_or_weights(settings, tmp_path):
    (tmp_path / "open_clip_config.json").write_text('{"model_cfg": {}, "model_id": "my-model/v3"}')
    settings.SEARCH_MODEL_NAME = f"local-dir:{tmp_path}"
    assert resolve_model_spec().model_id == "my-model/v3"
    (tmp_path / "open_clip_config.json").write_text('{"model_cfg": {}}')
    (tmp_path / "open_clip_model.safetensors").write_bytes(b"weights")
    spec = resolve_model_spec()
    assert spec.model_id.startswith(f"local-dir:{tmp_path.name}/") and spec.name == f"local-dir:{tmp_path}"


def test_without_a_model_name_the_default_model_is_required(settings, monkeypatch):
    settings.SEARCH_MODEL_NAME = ""
    monkeypatch.setitem(sys.modules, "search_service.default_model.build", None)  # as if the package were missing
    with pytest.raises(ImproperlyConfigured, match="default model"):
        resolve_model_spec()


def test_a_model_that_cannot_load_is_reported_not_crashed(settings):
    current = loader.get_encoder()
    try:
        loader.set_encoder(None)
        settings.SEARCH_MODEL_NAME, settings.SEARCH_MODEL_PRETRAINED = "ViT-B-32", ""
        with pytest.raises(loader.ModelUnavailable, match="random weights"):
            loader.get_encoder()
        assert loader.readiness_check()["ok"] is False
    finally:
        loader.set_encoder(current)


def test_an_explicit_local_dir_of_the_multi_block_default_model_loads():
    """Issue 23 (still open): SEARCH_MODEL_NAME=local-dir:<the default model's folder> failed with timm's "unknown
    model" (its tower, sticker_multiblock_<name>, was registered only by the default model's build). A fresh
    process, as a worker started with that setting would be, loads it and encodes."""
    import json
    import os
    import subprocess

    from search_service.default_model.build import ensure_model_dir
    from testkit import REPO

    folder = ensure_model_dir()
    vision = json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]["vision_cfg"]
    assert vision["timm_model_name"].startswith("sticker_multiblock_")  # the case at hand
    code = (
        "from search_service.encoders.loader import load_encoder; e = load_encoder(); "
        "v = e.encode_texts(['a red heart']); print('LOADED', e.model_id, v.shape)"
    )
    env = {**os.environ, "SEARCH_MODEL_NAME": f"local-dir:{folder}", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "search_service", "shell", "--no-imports", "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOADED" in result.stdout and "(1, " in result.stdout, result.stdout
