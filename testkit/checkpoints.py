"""The random-weight open_clip checkpoint: a real model architecture with seeded random weights
(``pretrained=None``), saved as a state dict that search_service loads through ``SEARCH_MODEL_PRETRAINED``.
Nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

TEST_MODEL = "ViT-B-32"


def write_random_checkpoint(path: Path, model: str = TEST_MODEL, seed: int = 0) -> Path:
    """Write ``model``'s seeded random weights to ``path`` (through a temporary file, so that a reader never
    sees half a checkpoint) and return ``path``."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    network = open_clip.create_model(model, pretrained=None)
    partial = path.with_name(path.name + ".partial")
    torch.save(network.state_dict(), partial)
    partial.replace(path)
    return path


TINY_MODEL_ID = "tiny-test-clip/1"


def write_tiny_model(folder: Path) -> Path:
    """A tiny open_clip model (embedding dimension 32, seeded random weights) as a ``local-dir:`` folder
    (config with a model id, safetensors weights): loads in a fraction of a second, for tests that start
    search_service processes (gunicorn, Celery workers) and are not about search quality."""
    import json

    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    model_cfg = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
    }
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**model_cfg)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "open_clip_model.safetensors")
    (folder / "open_clip_config.json").write_text(
        json.dumps(
            {
                "model_id": TINY_MODEL_ID,
                "model_cfg": model_cfg,
                "preprocess_cfg": {"size": 32, "resize_mode": "longest", "fill_color": 255},
            }
        )
    )
    return folder
