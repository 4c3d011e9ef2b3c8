"""Tuning the last tower stage, end to end on the twelve generated pictures: the training command writes the tuned
stage beside the head, and search_service serves exactly what training embeds (CI smoke test: no font, no npm)."""

import numpy as np
import pytest

from model_training import features, train
from model_training.heads import embed_images, head_from_state
from model_training.smoke import draw_smoke, smoke_items
from search_service.default_model import build
from search_service.encoders.open_clip_backend import OpenClipEncoder
from search_service.encoders.spec import ModelSpec

# The training side reads float16 stage-5 maps from the cache, the service runs float32 end to end.
SERVED_TOLERANCE = 2e-3


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """(projection file, feature cache) of a smoke training run that tunes the last stage."""
    tmp = tmp_path_factory.mktemp("tune")
    out = train.main(
        [
            "--smoke",
            "--cache",
            str(tmp / "cache"),
            "--out",
            str(tmp / "proj.safetensors"),
            "--epochs",
            "30",
            "--variants",
            "1",
            "--tune-lr",
            "1e-3",
            "--features",
            "pooled",
            "--threads",
            "2",
        ]
    )
    return out, tmp / "cache"


def test_the_projection_file_carries_the_tuned_stage_under_open_clip_names(tuned):
    out, _ = tuned
    tensors, meta = build.load_projection(out)
    trunk = build.efficientnet_trunk_state_dict()
    tuned_keys = {k.removeprefix("visual.trunk.") for k in tensors if k.startswith("visual.trunk.")}
    assert tuned_keys == {k for k in trunk if k.startswith(("blocks.6.", "conv_head.", "bn2."))}
    assert all(tensors[f"visual.trunk.{k}"].shape == trunk[k].shape for k in tuned_keys)
    # It learned: the 1x1 head convolution moved away from its ImageNet weights; BatchNorm statistics stayed frozen.
    assert not np.allclose(tensors["visual.trunk.conv_head.weight"].numpy(), trunk["conv_head.weight"].numpy())
    assert np.array_equal(tensors["visual.trunk.bn2.running_var"].numpy(), trunk["bn2.running_var"].numpy())
    assert sum(tensors[f"visual.trunk.{k}"].numel() for k in tuned_keys) < 1.1e6  # ~1M parameters, not the trunk
    assert float(meta["final_loss"]) < 2.0 and '"tune_lr": 0.001' in meta["train_config"]


def test_the_service_embeds_as_training_does_and_not_as_the_untuned_trunk(tuned, towers):
    out, cache = tuned
    items = smoke_items()
    tensors, meta = build.load_projection(out)
    head = head_from_state(tensors, meta)
    stage5 = features.image_feature_matrix(towers, cache, items, 0, loader=draw_smoke, kind="stage5")
    assert stage5.dtype == np.float16 and stage5.shape == (12, 192, 7, 7)
    trained = embed_images(head, stage5)

    folder = build.ensure_model_dir(cache.parent / "model", projection_path=out)
    encoder = OpenClipEncoder(ModelSpec(f"local-dir:{folder}", None, "smoke-tuned"), device="cpu", threads=2)
    served = encoder.encode_images([draw_smoke(it) for it in items])
    assert np.abs((served * trained).sum(1) - 1).max() < SERVED_TOLERANCE

    # The same head on the untuned trunk's pooled features embeds clearly otherwise.
    untuned_head = head_from_state({k: v for k, v in tensors.items() if k.startswith("visual.head.")}, meta)
    pooled = features.image_feature_matrix(towers, cache, items, 0, loader=draw_smoke)
    untuned = embed_images(untuned_head, pooled)
    assert np.abs((served * untuned).sum(1) - 1).mean() > 10 * SERVED_TOLERANCE
