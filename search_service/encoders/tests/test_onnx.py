"""The ONNX Runtime backend: the default model's export gives open_clip's embeddings, only an export of the
configured model is served, auto falls back to torch without one, and serving never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import open_clip
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings
from open_clip.transform import PreprocessCfg, image_transform_v2

from search_service.encoders import loader, onnx_backend
from search_service.encoders.onnx_export import MIN_COSINE, ensure_export
from search_service.encoders.open_clip_backend import OpenClipEncoder
from search_service.encoders.spec import configured_model_id, resolve_model_spec
from testkit import REPO
from testkit.images import make_image
from testkit.live_process import with_database

DEFAULT_MODEL = {"SEARCH_MODEL_NAME": "", "SEARCH_MODEL_PRETRAINED": ""}
TEXTS = [
    "a cat",
    "  Happy   birthday!!  ",
    "🐱 кошка &amp; собака",  # emoji, Cyrillic, an HTML entity (open_clip unescapes it)
    "",
    "thumbs up " * 50,  # past the 64-token context: truncated
    "ice cream cone",
]


@pytest.fixture(scope="module")
def default_export(tmp_path_factory):
    """The default model exported by the production code, and the open_clip encoder it was exported from."""
    folder = tmp_path_factory.mktemp("onnx") / "export"
    with override_settings(**DEFAULT_MODEL):
        spec = resolve_model_spec()
        manifest, exported = ensure_export(spec, folder)
        torch_encoder = OpenClipEncoder(spec, device="cpu", threads=1)
    assert exported and manifest["model_id"] == spec.model_id
    return folder, torch_encoder


def _onnx(folder) -> onnx_backend.OnnxEncoder:
    return onnx_backend.OnnxEncoder(onnx_backend.read_export(folder, configured_model_id()), threads=1)


def _assert_same(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.shape == expected.shape and got.dtype == np.float32
    assert float((expected * got).sum(axis=1).min()) >= MIN_COSINE
    np.testing.assert_allclose(got, expected, atol=2e-4)  # unit vectors: each coordinate within 2e-4


def test_the_export_gives_open_clips_text_embeddings(settings, default_export):
    folder, torch_encoder = default_export
    settings.SEARCH_MODEL_NAME = ""
    onnx = _onnx(folder)
    assert (onnx.model_id, onnx.dim) == (torch_encoder.model_id, torch_encoder.dim)
    _assert_same(torch_encoder.encode_texts(TEXTS), onnx.encode_texts(TEXTS))
    # One text alone (no padding) and in a batch (padded to the longest) give the same vector.
    _assert_same(onnx.encode_texts(TEXTS)[2:3], onnx.encode_texts([TEXTS[2]]))
    assert not np.allclose(onnx.encode_texts(["a cat"]), onnx.encode_texts(["a dog"]), atol=1e-2)


def test_the_tokenizer_is_open_clips_without_the_padding(settings, default_export):
    folder, _ = default_export
    settings.SEARCH_MODEL_NAME = ""
    reference = open_clip.get_tokenizer(resolve_model_spec().name)(TEXTS).numpy()
    tokens = _onnx(folder)._tokenizer(TEXTS)
    np.testing.assert_array_equal(tokens, reference[:, : tokens.shape[1]])
    assert (reference[:, tokens.shape[1] :] == 0).all()  # only padding was left out


def test_the_export_gives_open_clips_image_embeddings(settings, default_export):
    folder, torch_encoder = default_export
    settings.SEARCH_MODEL_NAME = ""
    images = [
        make_image(1, size=300),
        make_image(2, size=50, mode="RGBA"),
        make_image(3).resize((400, 120)),  # wide: padded with white above and below
        make_image(4).resize((30, 200)).convert("L"),
        make_image(5).convert("P"),
    ]
    _assert_same(torch_encoder.encode_images(images), _onnx(folder).encode_images(images))


@pytest.mark.parametrize(
    "cfg",
    [
        {"size": 224, "resize_mode": "longest", "fill_color": 255, "mean": [0.5] * 3, "std": [0.5] * 3},
        {"size": 224, "resize_mode": "shortest", "interpolation": "bicubic"},
        {"size": (96, 128), "resize_mode": "shortest", "interpolation": "bilinear"},
        {"size": 64, "resize_mode": "squash"},
    ],
)
def test_image_preprocessing_is_open_clips(cfg):
    cfg = {"mean": open_clip.OPENAI_DATASET_MEAN, "std": open_clip.OPENAI_DATASET_STD, **cfg}
    reference = image_transform_v2(PreprocessCfg(**cfg), is_train=False)
    ours = onnx_backend.Preprocess(cfg)
    for image in (make_image(1, size=300), make_image(2).resize((500, 90)), make_image(3).resize((20, 70))):
        np.testing.assert_allclose(ours(image), reference(image).numpy(), atol=1e-5)


def test_an_export_of_another_model_is_refused(settings, default_export, tmp_path):
    folder, _ = default_export
    with pytest.raises(onnx_backend.ExportUnusable, match="not 'ViT-B-32/file-"):
        onnx_backend.read_export(folder, configured_model_id())  # the session's model: ViT-B-32 from a file
    settings.SEARCH_RUNTIME, settings.SEARCH_ONNX_DIR = "onnx", str(folder)
    with pytest.raises(ImproperlyConfigured, match="export_onnx"):
        loader.load_encoder()
    # A damaged file is refused too.
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for path in folder.iterdir():
        (damaged / path.name).write_bytes(path.read_bytes())
    with open(damaged / onnx_backend.TOKENIZER_FILE, "a") as handle:
        handle.write(" ")
    settings.SEARCH_MODEL_NAME = ""
    with pytest.raises(onnx_backend.ExportUnusable, match="differs from the export's manifest"):
        onnx_backend.read_export(damaged, configured_model_id())


def test_auto_serves_the_export_of_the_configured_model_and_torch_otherwise(settings, default_export, tmp_path):
    folder, _ = default_export
    settings.SEARCH_RUNTIME, settings.SEARCH_ONNX_DIR = "auto", str(folder)
    settings.SEARCH_MODEL_NAME = ""
    assert isinstance(loader.load_encoder(), onnx_backend.OnnxEncoder)
    settings.SEARCH_RUNTIME = "torch"
    assert isinstance(loader.load_encoder(), OpenClipEncoder)
    settings.SEARCH_RUNTIME, settings.SEARCH_ONNX_DIR = "auto", str(tmp_path / "empty")
    assert isinstance(loader.load_encoder(), OpenClipEncoder)


def test_a_model_with_clips_own_tokenizer_is_not_exported(tiny_model_dir, tmp_path):
    with override_settings(SEARCH_MODEL_NAME=f"local-dir:{tiny_model_dir}"):
        spec = resolve_model_spec()
    with pytest.raises(ImproperlyConfigured, match="needs torch"):
        ensure_export(spec, tmp_path / "export")
    assert not (tmp_path / "export").exists()


@pytest.mark.django_db
def test_serving_from_the_export_never_imports_torch(default_export):
    """A fresh process with SEARCH_RUNTIME=onnx loads the URLs and the model, runs a search against the test
    database and encodes an image: torch is never imported."""
    folder, _ = default_export
    script = textwrap.dedent(
        """
        import sys, django
        django.setup()
        import search_service.config.urls
        from search_service.encoders.loader import get_encoder
        from search_service.ranking.services import search_stickers
        from testkit.images import make_image
        result = search_stickers("a happy cat", limit=5)
        vector = get_encoder().encode_images([make_image(1)])
        print(type(get_encoder()).__name__, result.model, vector.shape, "torch" in sys.modules)
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "search_service.config.settings",
        "SEARCH_DATABASE_URL": with_database(os.environ["SEARCH_DATABASE_URL"], connection.settings_dict["NAME"]),
        "SEARCH_RUNTIME": "onnx",
        "SEARCH_ONNX_DIR": str(folder),
        "SEARCH_MODEL_NAME": "",
        "SEARCH_MODEL_PRETRAINED": "",
        "SEARCH_TORCH_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    kind, model, *shape, torch_imported = done.stdout.split()
    assert (kind, model, torch_imported) == ("OnnxEncoder", configured_model_id_default(), "False")
    assert " ".join(shape) == "(1, 384)"


def configured_model_id_default() -> str:
    with override_settings(**DEFAULT_MODEL):
        return configured_model_id()


def test_the_model_id_is_read_without_torch():
    """The default model's id comes from its projection file's metadata without importing torch."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from search_service.default_model import build; "
         "print(build.MODEL_ID, 'torch' in sys.modules)"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [configured_model_id_default(), "False"]


def test_empty_inputs_give_empty_arrays(settings, default_export):
    folder, _ = default_export
    settings.SEARCH_MODEL_NAME = ""
    onnx = _onnx(folder)
    assert onnx.encode_texts([]).shape == (0, 384)
    assert onnx.encode_images([]).shape == (0, 384)
    manifest = json.loads((folder / onnx_backend.MANIFEST).read_text())
    assert set(manifest["files"]) == {onnx_backend.TEXT_FILE, onnx_backend.IMAGE_FILE, onnx_backend.TOKENIZER_FILE}
