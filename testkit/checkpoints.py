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
