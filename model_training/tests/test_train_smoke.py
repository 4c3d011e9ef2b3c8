"""The training command, end to end on twelve generated pictures (CI smoke test: no font, no npm)."""

import numpy as np

from model_training import train
from model_training.dataset import make_dataset
from model_training.heads import embed_images, head_from_state
from model_training.metrics import retrieval_ranks
from model_training.smoke import draw_smoke, smoke_items
from search_service.default_model import build
from search_service.encoders.open_clip_backend import OpenClipEncoder
from search_service.encoders.spec import ModelSpec


def test_training_command_writes_a_loadable_projection_that_learned(tmp_path):
    items = smoke_items()
    pictures = [draw_smoke(it) for it in items]
    assert len({im.tobytes() for im in pictures}) == len(items) == 12  # twelve different pictures
    assert all(im.mode == "RGBA" and im.getpixel((0, 0))[3] == 0 for im in pictures)  # cut-outs

    out = train.main(
        [
            "--smoke",
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(tmp_path / "proj.safetensors"),
            "--epochs",
            "60",
            "--variants",
            "2",
            "--threads",
            "2",
            "--features",
            "pooled",
        ]
    )
    tensors, meta = build.load_projection(out)
    assert tensors["visual.head.proj.weight"].shape == (build.EMBED_DIM, build.IMAGE_FEATURES)
    assert meta["head"] == "linear" and float(meta["final_loss"]) < 2.0

    # Served by search_service's own encoder, the trained head finds each shape by its name.
    folder = build.ensure_model_dir(tmp_path / "model", projection_path=out)
    encoder = OpenClipEncoder(ModelSpec(f"local-dir:{folder}", None, "smoke"), device="cpu", threads=2)
    img = encoder.encode_images(pictures)
    txt = encoder.encode_texts([it.name for it in items])
    ranks = retrieval_ranks(img, txt, range(len(items)))
    assert np.mean(ranks == 1) >= 0.75, ranks  # chance is 1/12

    # Resumable: a second run reuses every cached feature (no new chunk files).
    chunks = sorted((tmp_path / "cache").rglob("chunk-*.npz"))
    train.main(
        [
            "--smoke",
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(tmp_path / "proj2.safetensors"),
            "--epochs",
            "1",
            "--variants",
            "2",
        ]
    )
    assert sorted((tmp_path / "cache").rglob("chunk-*.npz")) == chunks


def test_a_multi_block_head_is_served_as_it_was_trained(tmp_path):
    """--features pooled,blocks: open_clip builds the registered multi-block tower (default_model/multiblock.py),
    and search_service's encoder gives what the head gives on the cached training features."""
    from model_training import features

    cache, out = tmp_path / "cache", tmp_path / "mb.safetensors"
    args = ["--smoke", "--cache", str(cache), "--out", str(out), "--epochs", "30", "--variants", "1"]
    out = train.main([*args, "--features", build.MULTIBLOCK_FEATURES])
    tensors, meta = build.load_projection(out)
    assert meta["features"] == build.MULTIBLOCK_FEATURES
    assert tensors["visual.head.proj.weight"].shape == (build.EMBED_DIM, build.IMAGE_FEATURES + 112 + 192 + 320)

    items = smoke_items()
    data = make_dataset(features.Towers(cache), cache, items, 1, draw_smoke, ("pooled", "blocks"))
    trained = embed_images(head_from_state(tensors, meta), data.image_feats[0])

    folder = build.ensure_model_dir(tmp_path / "model", projection_path=out)
    encoder = OpenClipEncoder(ModelSpec(f"local-dir:{folder}", None, "smoke-mb"), device="cpu", threads=2)
    served = encoder.encode_images([draw_smoke(it) for it in items])
    assert encoder.image_path == "frozen"  # the traced tower, as search_service runs it
    assert np.abs((served * trained).sum(1) - 1).max() < 2e-3  # float16 feature cache
    ranks = retrieval_ranks(served, encoder.encode_texts([it.name for it in items]), range(len(items)))
    assert np.mean(ranks == 1) >= 0.75, ranks
