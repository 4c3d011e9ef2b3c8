"""Export the configured model's towers to ONNX for onnx_backend.py (needs torch and open_clip; serving does not).

The folder gets ``text.onnx`` (tokens (batch, length) -> features, any batch and length: a Hugging Face tower
masks its padding out, so rows need only be padded to the batch's longest), ``image.onnx`` (pixels
(batch, 3, H, W) -> features), the tokenizer as ``tokenizer.json`` and ``manifest.json`` (model id, dimension,
preprocessing, sha256 of each file). The export is checked against open_clip before it is kept: text and image
embeddings of sample inputs must agree to cosine >= :data:`MIN_COSINE`. Written to a temporary folder and renamed
into place, so a reader sees the old export or the new one, never half of one.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

from search_service.core.folders import locked, replaced

from . import onnx_backend as backend
from .spec import ModelSpec

logger = logging.getLogger(__name__)

MIN_COSINE = 0.9999  # per vector, ONNX against open_clip, at export and in tests/test_onnx.py
OPSET = 17
SAMPLE_TEXTS = ["a cat", "a happy dog with a red ball in the park", "🐱 кошка", "", "thumbs up " * 40]


def _text_tokenizer(tokenizer) -> tuple[str, int]:
    """(tokenizer.json text, pad id) of an open_clip ``HFTokenizer`` in its default mode, or ImproperlyConfigured."""
    from open_clip.tokenizer import HFTokenizer, _clean_whitespace

    backend_tokenizer = getattr(getattr(tokenizer, "tokenizer", None), "backend_tokenizer", None)
    if not isinstance(tokenizer, HFTokenizer) or backend_tokenizer is None:
        raise ImproperlyConfigured(
            f"{type(tokenizer).__name__} is not a Hugging Face fast tokenizer: this model's tokenizer needs torch, "
            "so it cannot be served by ONNX Runtime (SEARCH_RUNTIME=torch serves it)."
        )
    if tokenizer.clean_fn is not _clean_whitespace or tokenizer.strip_sep_token or tokenizer.tokenizer_mode:
        raise ImproperlyConfigured("only open_clip's default Hugging Face tokenization can be exported")
    return backend_tokenizer.to_str(), int(tokenizer.tokenizer.pad_token_id)


def _export_tower(model, method: str, example, path: Path, input_name: str, dynamic: dict[int, str]) -> None:
    """``model.<method>`` (encode_text or encode_image) as an ONNX graph, through the TorchScript exporter."""
    import torch

    class Tower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model  # a submodule: its weights become the graph's initializers

        def forward(self, x):
            return getattr(self.model, method)(x)

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            Tower().eval(),
            (example,),
            str(path),
            input_names=[input_name],
            output_names=["features"],
            dynamic_axes={input_name: dynamic, "features": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def sample_images() -> list[Image.Image]:
    """Seeded noise images of three shapes (square, wide, tall with transparency) for the export's check."""
    generator = np.random.default_rng(0)
    sizes = [(64, 64, "RGB"), (120, 50, "RGB"), (40, 90, "RGBA")]
    return [
        Image.fromarray(generator.integers(0, 256, (h, w, len(mode)), dtype=np.uint8), mode) for w, h, mode in sizes
    ]


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    from .base import l2_normalize

    return float((l2_normalize(a) * l2_normalize(b)).sum(axis=1).min())


def export(spec: ModelSpec, folder: Path) -> dict:
    """Export ``spec``'s model into ``folder`` (replacing what is there) and return the manifest."""
    import open_clip
    import torch

    model, _, preprocess = open_clip.create_model_and_transforms(
        spec.name, pretrained=spec.pretrained, device="cpu", load_weights=True
    )
    model.eval()
    tokenizer = open_clip.get_tokenizer(spec.name)
    tokenizer_json, pad_id = _text_tokenizer(tokenizer)
    preprocess_cfg = dict(open_clip.get_model_preprocess_cfg(model))
    context_length = int(tokenizer.context_length)

    with replaced(folder) as tmp:
        (tmp / backend.TOKENIZER_FILE).write_text(tokenizer_json, encoding="utf-8")
        tokens = tokenizer(["a sticker", "two words"])
        _export_tower(model, "encode_text", tokens, tmp / backend.TEXT_FILE, "tokens", {0: "batch", 1: "length"})
        pixels = torch.stack([preprocess(image) for image in sample_images()[:2]])
        _export_tower(model, "encode_image", pixels, tmp / backend.IMAGE_FILE, "pixels", {0: "batch"})
        with torch.inference_mode():
            dim = int(model.encode_text(tokens).shape[1])
        manifest = {
            "format": backend.FORMAT,
            "model_id": spec.model_id,
            "dim": dim,
            "text": {"context_length": context_length, "pad_id": pad_id},
            "image": {"preprocess": preprocess_cfg},
            "exported_with": {"torch": torch.__version__, "open_clip": open_clip.__version__, "opset": OPSET},
            "files": {
                name: backend.file_sha256(tmp / name)
                for name in (backend.TEXT_FILE, backend.IMAGE_FILE, backend.TOKENIZER_FILE)
            },
        }
        (tmp / backend.MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _check(model, tokenizer, preprocess, backend.read_export(tmp, spec.model_id))
    return manifest


def _check(model, tokenizer, preprocess, export: backend.Export) -> None:
    """The export gives open_clip's embeddings (cosine >= MIN_COSINE), else RuntimeError."""
    import torch

    onnx = backend.OnnxEncoder(export, threads=1)
    images = sample_images()
    with torch.inference_mode():
        texts = model.encode_text(tokenizer(SAMPLE_TEXTS)).numpy()
        pixels = torch.stack([backend.model_input(preprocess, image) for image in images])
        pictures = model.encode_image(pixels).numpy()
    for kind, expected, got in (
        ("text", texts, onnx.encode_texts(SAMPLE_TEXTS)),
        ("image", pictures, onnx.encode_images(images)),
    ):
        if (cosine := _min_cosine(expected, got)) < MIN_COSINE:
            raise RuntimeError(f"the ONNX {kind} tower differs from open_clip's (cosine {cosine:.6f} < {MIN_COSINE})")


def ensure_export(spec: ModelSpec, folder: Path, *, force: bool = False) -> tuple[dict, bool]:
    """(manifest, exported): the current export of ``spec`` in ``folder``, exported first unless one is there
    (or with ``force``). Several processes may call it at once: one exports, the others wait and reuse it."""
    with locked(folder):
        if not force:
            try:
                return backend.read_export(folder, spec.model_id).manifest, False
            except backend.ExportUnusable as exc:
                logger.info("Exporting %s to ONNX: %s", spec.model_id, exc)
        return export(spec, folder), True
