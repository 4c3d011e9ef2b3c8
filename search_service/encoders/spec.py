"""Which model to load, from the settings, and the stable id every stored embedding records.

- ``SEARCH_MODEL_NAME`` + ``SEARCH_MODEL_PRETRAINED`` tag   -> id ``ViT-B-32/laion2b_s34b_b79k``
- ``SEARCH_MODEL_NAME`` + ``SEARCH_MODEL_PRETRAINED`` file  -> id ``ViT-B-32/file-<sha256[:12] of the file>``
- ``SEARCH_MODEL_NAME=local-dir:/path``                     -> id from the folder's ``open_clip_config.json``
  (top-level ``model_id``), else ``local-dir:<folder name>/<sha256[:12] of its weights>``
- ``SEARCH_MODEL_NAME=hf-hub:org/repo``                     -> id ``hf-hub:org/repo``
- ``SEARCH_MODEL_NAME`` empty -> the offline default model (``default_model.build``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"
# open_clip's preference order when it looks for weights in a local-dir folder
_WEIGHT_FILES = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
    "model.safetensors",
    "pytorch_model.bin",
    "pytorch_model.pth",
    "model.pth",
)


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what open_clip.create_model_and_transforms gets as model_name
    pretrained: str | None  # tag or checkpoint file (None for local-dir / hf-hub)
    model_id: str


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _local_dir_spec(folder: Path, model_id: str | None = None) -> ModelSpec:
    folder = folder.expanduser().resolve()
    config_path = folder / "open_clip_config.json"
    if not config_path.is_file():
        raise ImproperlyConfigured(f"{config_path} not found (a local-dir: model needs open_clip_config.json).")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if model_id is None:
            model_id = config.get("model_id")
    except (ValueError, AttributeError) as exc:
        raise ImproperlyConfigured(f"{config_path} is not a JSON object: {exc}") from exc
    _register_custom_towers(config)
    if not model_id:
        weights = next((folder / name for name in _WEIGHT_FILES if (folder / name).is_file()), None)
        if weights is None:
            raise ImproperlyConfigured(f"No open_clip weights file in {folder} (one of {', '.join(_WEIGHT_FILES)}).")
        model_id = f"{LOCAL_DIR}{folder.name}/{file_sha256(weights)[:12]}"
    return ModelSpec(name=f"{LOCAL_DIR}{folder}", pretrained=None, model_id=str(model_id))


def _register_custom_towers(config: dict) -> None:
    """A folder whose image tower is the default model's multi-block EfficientNet (``sticker_multiblock_<timm
    name>``, default_model/multiblock.py) loads only once that name is registered with timm: the default model's
    build registers it, an explicit ``SEARCH_MODEL_NAME=local-dir:`` of such a folder must too (else timm's
    "unknown model")."""
    vision = (config.get("model_cfg") or {}).get("vision_cfg") or {}
    timm_name = vision.get("timm_model_name") if isinstance(vision, dict) else None
    if isinstance(timm_name, str):
        from search_service.default_model import multiblock

        if timm_name.startswith(multiblock.PREFIX):
            multiblock.register([timm_name.removeprefix(multiblock.PREFIX)])


def _default_spec() -> ModelSpec:
    try:
        from search_service.default_model.build import MODEL_ID, ensure_model_dir
    except ImportError as exc:
        raise ImproperlyConfigured(
            "SEARCH_MODEL_NAME is empty, so the offline default model is used, but its package "
            f"(search_service/default_model/build.py) cannot be imported: {exc}. Set SEARCH_MODEL_NAME and "
            "SEARCH_MODEL_PRETRAINED to use an open_clip model instead."
        ) from exc
    return _local_dir_spec(Path(ensure_model_dir()), model_id=MODEL_ID)


def configured_model_id() -> str:
    """The id of the model the settings ask for, without importing torch or open_clip, nor building the default
    model's folder (for choosing the ONNX export to serve: onnx_backend.py). Does not check that the model exists:
    an id is only ever compared with one :func:`resolve_model_spec` gave, which does."""
    name = settings.SEARCH_MODEL_NAME.strip()
    pretrained = settings.SEARCH_MODEL_PRETRAINED.strip()
    if not name:
        from search_service.default_model.build import MODEL_ID

        return MODEL_ID
    if name.startswith(LOCAL_DIR):
        return _local_dir_spec(Path(name[len(LOCAL_DIR) :])).model_id
    if name.startswith(HF_HUB):
        return name
    path = Path(pretrained).expanduser()
    if pretrained and path.is_file():
        return _file_model_id(name, path.resolve())
    return f"{name}/{pretrained}"


def _file_model_id(name: str, path: Path) -> str:
    return f"{name}/file-{file_sha256(path)[:12]}"


def resolve_model_spec() -> ModelSpec:
    """The model the settings ask for. May build the default model's folder; hashes checkpoint files."""
    name = settings.SEARCH_MODEL_NAME.strip()
    pretrained = settings.SEARCH_MODEL_PRETRAINED.strip()
    if not name:
        return _default_spec()
    if name.startswith(LOCAL_DIR):
        return _local_dir_spec(Path(name[len(LOCAL_DIR) :]))
    if name.startswith(HF_HUB):
        return ModelSpec(name=name, pretrained=None, model_id=name)

    import open_clip

    if name.replace("/", "-") not in open_clip.list_models():
        raise ImproperlyConfigured(
            f"SEARCH_MODEL_NAME={name!r} is not an open_clip model (see open_clip.list_models())."
        )
    if not pretrained:
        raise ImproperlyConfigured(
            f"SEARCH_MODEL_PRETRAINED is empty: {name} would have random weights. Give an open_clip pretrained tag "
            f"(e.g. one of {open_clip.list_pretrained_tags_by_model(name)[:4]}) or a checkpoint file."
        )
    if open_clip.get_pretrained_cfg(name, pretrained):
        return ModelSpec(name=name, pretrained=pretrained, model_id=f"{name}/{pretrained}")
    path = Path(pretrained).expanduser()
    if path.is_file():
        path = path.resolve()
        return ModelSpec(name=name, pretrained=str(path), model_id=_file_model_id(name, path))
    raise ImproperlyConfigured(
        f"SEARCH_MODEL_PRETRAINED={pretrained!r} is neither a pretrained tag of {name} nor an existing file."
    )
