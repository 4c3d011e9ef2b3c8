"""The default model folder: the towers' weights are the real ones, open_clip loads it offline."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from search_service.default_model import build


@pytest.mark.parametrize("tower", ["lite0", "lite1"])
def test_efficientnet_weights_map_onto_timm_with_identical_logits(tower):
    timm = pytest.importorskip("timm")
    reference_pkg = pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip(build.TOWERS[tower][2])
    timm_name, size, _, _ = build.TOWERS[tower]
    reference = reference_pkg.EfficientNet.from_pretrained(
        f"efficientnet-{tower}", weights_path=str(build.efficientnet_checkpoint_path(tower))
    ).eval()
    model = timm.create_model(timm_name, pretrained=False).eval()
    model.load_state_dict(build.efficientnet_trunk_state_dict(include_classifier=True, tower=tower))
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        expected, got = reference(x), model(x)
    assert torch.allclose(got, expected, atol=1e-4), (got - expected).abs().max()


def test_folder_is_built_once_and_loads_offline(tmp_path):
    open_clip = pytest.importorskip("open_clip")
    folder = build.ensure_model_dir(tmp_path / "model")
    weights = folder / "open_clip_model.safetensors"
    first_mtime = weights.stat().st_mtime_ns
    assert build.ensure_model_dir(tmp_path / "model") == folder
    assert weights.stat().st_mtime_ns == first_mtime  # second call is a no-op

    config = json.loads((folder / "open_clip_config.json").read_text())
    assert config["preprocess_cfg"]["resize_mode"] == "longest"
    assert config["preprocess_cfg"]["fill_color"] == 255
    assert config["model_cfg"]["text_cfg"]["hf_model_name"] == str(folder)

    model, _, preprocess = open_clip.create_model_and_transforms("local-dir:" + str(folder))
    tokenizer = open_clip.get_tokenizer("local-dir:" + str(folder))
    model.eval()
    with torch.inference_mode():
        text = model.encode_text(tokenizer(["a red heart", "a cat"]), normalize=True)
        image = model.encode_image(preprocess(Image.new("RGB", (60, 30), "red")).unsqueeze(0), normalize=True)
    assert text.shape == (2, build.EMBED_DIM) and image.shape == (1, build.EMBED_DIM)
    assert torch.allclose(text.norm(dim=-1), torch.ones(2)) and torch.allclose(image.norm(dim=-1), torch.ones(1))
    # A wide picture is padded with white, not black.
    padded = preprocess(Image.new("RGB", (60, 30), "red"))
    assert torch.allclose(padded[:, 0, 0], torch.ones(3))


def test_text_tower_is_all_minilm(default_model):
    """Same vectors as sentence-transformers' all-MiniLM-L6-v2 (mean pooling, normalised): compared with vectors
    sentence-transformers 6.2.0 computed once from the same weights (minilm_reference.json says how), so the test
    runs without that package."""
    reference = json.loads((Path(__file__).parent / "minilm_reference.json").read_text())
    _, encode_texts, _ = default_model
    expected = np.array(reference["vectors"], dtype=np.float32)
    assert expected.shape == (len(reference["texts"]), 384)
    np.testing.assert_allclose(encode_texts(reference["texts"]), expected, atol=1e-5)


def test_rebuilds_when_the_projection_changes(tmp_path):
    from safetensors.torch import save_file

    tensors, meta = build.load_projection()
    other = tmp_path / "other.safetensors"
    save_file({k: v * 2 for k, v in tensors.items()}, str(other), metadata=meta)
    folder = build.ensure_model_dir(tmp_path / "model")
    before = json.loads((folder / "build_stamp.json").read_text())
    build.ensure_model_dir(tmp_path / "model", projection_path=other)
    after = json.loads((folder / "build_stamp.json").read_text())
    assert before["projection_sha256"] != after["projection_sha256"]


def test_model_id_names_the_committed_weights():
    assert build.MODEL_ID.startswith("sticker-lite-effnetl0-minilm-")
    assert build.MODEL_ID.endswith(build._file_sha256(build.PROJECTION_PATH)[:10])
