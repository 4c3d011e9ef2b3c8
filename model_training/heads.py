"""The trained part of the default model and its weights file: a linear or MLP projection head (and optionally a
tuned copy of the image tower's last stage), applied to cached features, saved under open_clip's names as the
projection file search_service serves, and loaded back."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from search_service.default_model import build

from .recipe import TrainConfig


def make_stage(tower: str = "lite0"):
    """A trainable copy of the image trunk's last stage, its 1x1 head convolution and ``bn2`` (ImageNet weights):
    stage-5 maps in, the 1280-d maps before pooling out (``pooled_features``). Its state dict keys are the trunk's
    own (``blocks.6.0.conv_pw.weight``, ``conv_head.weight``, ``bn2.weight``, ...), so that ``head_state`` serves
    it under open_clip's ``visual.trunk.`` names."""
    import timm
    import torch.nn as nn

    trunk = timm.create_model(build.TOWERS[tower][0], pretrained=False, num_classes=0)
    trunk.load_state_dict(build.efficientnet_trunk_state_dict(tower=tower))
    last = len(trunk.blocks) - 1
    return nn.ModuleDict(
        {"blocks": nn.ModuleDict({str(last): trunk.blocks[last]}), "conv_head": trunk.conv_head, "bn2": trunk.bn2}
    )


def make_head(kind: str, in_features: int = build.IMAGE_FEATURES, tune_tower: str | None = None):
    """The trained part: a linear or MLP projection into MiniLM's space (``proj`` / ``mlp``), and with
    ``tune_tower`` also a tuned last stage of that tower (``stage``, see ``make_stage``)."""
    import torch.nn as nn
    from timm.layers import Mlp

    if kind == "linear":
        modules = {"proj": nn.Linear(in_features, build.EMBED_DIM, bias=True)}
    elif kind == "mlp":  # exactly open_clip TimmModel's head for timm_proj="mlp", timm_proj_bias=True
        modules = {"mlp": Mlp(in_features, 2 * build.EMBED_DIM, build.EMBED_DIM, bias=(True, True))}
    else:
        raise ValueError(f"unknown head {kind!r}")
    if tune_tower:
        modules["stage"] = make_stage(tune_tower)
    return nn.ModuleDict(modules)


def pooled_features(head, x):
    """What the projection reads, from a batch of the head's inputs: the pooled trunk features themselves, or for a
    head with a tuned stage, its stage-5 maps through that stage and the trunk's average pool."""
    import torch

    if "stage" not in head:
        return x
    stage = head["stage"]
    x = x.float().contiguous(memory_format=torch.channels_last)
    for block in stage["blocks"].values():
        x = block(x)
    return stage["bn2"](stage["conv_head"](x)).mean((2, 3))


def project(head, x):
    return head["proj"](x) if "proj" in head else head["mlp"](x)


def apply_head(head, x):
    return project(head, pooled_features(head, x))


def set_training(head, mode: bool) -> None:
    """Train or evaluation mode; a tuned stage stays in evaluation mode (its BatchNorm layers keep the ImageNet
    running statistics, their affine weights still learn; the stage has no dropout)."""
    head.train(mode)
    if "stage" in head:
        head["stage"].eval()


def embed_images(head, feats: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Normalised embeddings of the head's inputs (pooled features, or stage-5 maps for a tuned stage), in batches."""
    import torch
    import torch.nn.functional as F

    with torch.inference_mode():
        out = [
            F.normalize(apply_head(head, torch.from_numpy(np.asarray(feats[s : s + batch_size], np.float32))), dim=-1)
            for s in range(0, len(feats), batch_size)
        ]
    return torch.cat(out).numpy() if out else np.zeros((0, build.EMBED_DIM), np.float32)


def head_state(head) -> dict:
    """The head's tensors under open_clip's names: ``visual.head.*``, and a tuned stage's ``visual.trunk.*`` (which
    ``default_model.build.full_state_dict`` lays over the frozen trunk)."""

    def served_name(key: str) -> str:
        return f"visual.trunk.{key.removeprefix('stage.')}" if key.startswith("stage.") else f"visual.head.{key}"

    return {served_name(k): v.detach().contiguous() for k, v in head.state_dict().items()}


def load_head(state: dict, kind: str, tune_tower: str | None = None):
    """A head (evaluation mode) from its own state dict (``proj.*`` / ``mlp.*``, and ``stage.*`` when it tunes
    ``tune_tower``'s last stage); its input width is read off the first layer."""
    import torch

    first = state["proj.weight"] if "proj.weight" in state else state["mlp.fc1.weight"]
    head = make_head(kind, first.shape[1], tune_tower)
    head.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()})
    set_training(head, False)
    return head


def head_from_state(tensors: dict, meta: dict):
    """The inverse of ``head_state``: the head (evaluation mode) of a projection file's tensors and metadata."""
    trunk = {k.removeprefix("visual.trunk."): v for k, v in tensors.items() if k.startswith("visual.trunk.")}
    state = {k.removeprefix("visual.head."): v for k, v in tensors.items() if k.startswith("visual.head.")}
    state.update({f"stage.{k}": v for k, v in trunk.items()})
    return load_head(state, meta.get("head", "linear"), meta.get("tower", "lite0") if trunk else None)


def save_projection(path: Path, head, logit_scale: float, cfg: TrainConfig, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    meta = {
        "head": cfg.head,
        "head_bias": "true",
        "logit_scale": f"{logit_scale:.6f}",
        "train_config": json.dumps(asdict(cfg), sort_keys=True),
    }
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(head_state(head), str(path), metadata=meta)
    return path
