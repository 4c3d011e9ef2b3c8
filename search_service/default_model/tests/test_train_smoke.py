"""The training command, end to end on twelve generated pictures (CI smoke test: no font, no npm)."""

import numpy as np
from PIL import Image

from default_model import build, train
from default_model.sources import composite_on_white


def test_training_command_writes_a_loadable_projection_that_learned(tmp_path, monkeypatch):
    import open_clip
    import torch

    out = train.main(["--smoke", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "proj.safetensors"),
                      "--epochs", "60", "--variants", "2", "--threads", "2"])
    tensors, meta = build.load_projection(out)
    assert tensors["visual.head.proj.weight"].shape == (build.EMBED_DIM, build.IMAGE_FEATURES)
    assert meta["head"] == "linear" and float(meta["final_loss"]) < 2.0

    folder = build.ensure_model_dir(tmp_path / "model", projection_path=out)
    model, _, preprocess = open_clip.create_model_and_transforms("local-dir:" + str(folder))
    tokenizer = open_clip.get_tokenizer("local-dir:" + str(folder))
    model.eval()
    items = train.smoke_items()
    images = torch.stack([preprocess(composite_on_white(train.draw_smoke(it))) for it in items])
    with torch.inference_mode():
        img = model.encode_image(images, normalize=True).numpy()
        txt = model.encode_text(tokenizer([it.name for it in items]), normalize=True).numpy()
    ranks = train.retrieval_ranks(img, txt, range(len(items)))
    assert np.mean(ranks == 1) >= 0.75, ranks  # chance is 1/12

    # Resumable: a second run reuses every cached feature (no new chunk files).
    chunks = sorted((tmp_path / "cache").rglob("chunk-*.npz"))
    train.main(["--smoke", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "proj2.safetensors"),
                "--epochs", "1", "--variants", "2"])
    assert sorted((tmp_path / "cache").rglob("chunk-*.npz")) == chunks
    assert Image  # PIL is what draws the shapes
