"""Text encoding without the padding, and on packed linear layers, gives open_clip's full-context vectors (to
1e-5) on fewer positions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from open_clip.hf_model import HFTextEncoder
from open_clip.model import CLIPTextCfg, CLIPVisionCfg, CustomTextCLIP
from transformers import BertConfig

from search_service.encoders import packed_linear
from search_service.encoders.base import l2_normalize
from search_service.encoders.text_trim import padding_free_encoder, pooled_positions

TEXTS = ["cat in a park", "", "🐱 кошка на траве", "red heart", "a " * 100 + "very long query (truncated)", "x"]


def _unit(features: torch.Tensor) -> np.ndarray:
    return l2_normalize(features.float().numpy())


def _positions_seen(transformer: torch.nn.Module, run) -> list[int]:
    """Sequence lengths the transformer was called with while ``run()`` ran."""
    lengths: list[int] = []

    def record(module, args, kwargs):
        lengths.append((args[0] if args else kwargs["input_ids"]).shape[1])

    handle = transformer.register_forward_pre_hook(record, with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return lengths


@pytest.mark.parametrize("packed", [False, True])
def test_vit_b_32_vectors_match_the_full_context(encoder, packed):
    """The production encoder (open_clip ViT-B-32, causal text tower, argmax pooling)."""
    model = encoder._model
    trimmed = padding_free_encoder(model, packed=packed)
    assert trimmed is not None and trimmed.packed == packed  # this machine's torch has oneDNN
    tokenizer = encoder._tokenizer
    with torch.inference_mode():
        for batch in (TEXTS[:1], TEXTS[:4], TEXTS):  # one short query, a short batch, one row at full length
            tokens = tokenizer(batch)
            full = _unit(model.encode_text(tokens))
            lengths = _positions_seen(model.ln_final, lambda tokens=tokens: trimmed(tokens))
            np.testing.assert_allclose(_unit(trimmed(tokens)), full, atol=1e-5)
            assert lengths == [int(pooled_positions(tokens, "argmax", None).max()) + 1]
        assert lengths == [77]  # the long text fills the context: nothing to drop
        assert _positions_seen(model.ln_final, lambda: trimmed(tokenizer(["cat in a park"])))[0] == 6  # SOT+4+EOT
        if packed:  # the blocks' own forward (open_clip's MultiheadAttention path) is not used
            assert _positions_seen(model.transformer.resblocks[0], lambda: trimmed(tokenizer(["cat"]))) == []


def test_every_text_path_of_the_encoder_gives_the_same_vectors(encoder):
    assert encoder.text_paths == ["full", "trimmed", "fast"] and encoder.text_path == "fast"
    outputs = {}
    try:
        for path in encoder.text_paths:
            encoder.text_path = path
            outputs[path] = encoder.encode_texts(TEXTS)
    finally:
        encoder.text_path = "fast"
    for path in ("trimmed", "fast"):
        np.testing.assert_allclose(outputs[path], outputs["full"], atol=1e-5)


def _tiny_custom_clip(**text_options) -> CustomTextCLIP:
    torch.manual_seed(1)
    vision = CLIPVisionCfg(layers=1, width=32, head_width=16, patch_size=16, image_size=32)
    text = CLIPTextCfg(context_length=16, vocab_size=100, width=32, heads=2, layers=2, **text_options)
    return CustomTextCLIP(embed_dim=24, vision_cfg=vision, text_cfg=text).eval()


def _tokens(lengths: list[int], context: int = 16, eot: int = 99) -> torch.Tensor:
    """Rows of ``length`` random ids (1..97) closed by the end-of-text id, zero padding after."""
    generator = torch.Generator().manual_seed(2)
    rows = torch.zeros(len(lengths), context, dtype=torch.long)
    for row, length in enumerate(lengths):
        rows[row, :length] = torch.randint(1, 98, (length,), generator=generator)
        rows[row, length] = eot
    return rows


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("pool_type", ["argmax", "eos"])
def test_custom_text_tower_matches_the_full_context(pool_type, packed):
    model = _tiny_custom_clip(pool_type=pool_type, eos_id=99)
    trimmed = padding_free_encoder(model, packed=packed)
    assert trimmed is not None and trimmed.packed == packed
    tokens = _tokens([3, 1, 6])
    with torch.inference_mode():
        lengths = _positions_seen(model.text.ln_final, lambda: trimmed(tokens))
        np.testing.assert_allclose(_unit(trimmed(tokens)), _unit(model.encode_text(tokens)), atol=1e-5)
    assert lengths == [7]


def test_towers_where_padding_matters_keep_the_full_path():
    assert padding_free_encoder(_tiny_custom_clip(no_causal_mask=True)) is None  # bidirectional
    assert padding_free_encoder(_tiny_custom_clip(pool_type="last")) is None  # pools on the padding
    assert padding_free_encoder(_tiny_custom_clip(embed_cls=True)) is None  # CoCa-style appended CLS


class _HFTextModel(torch.nn.Module):
    """The text half of a CustomTextCLIP with a Hugging Face tower (a tiny random BERT, nothing downloaded)."""

    def __init__(self, pooler_type: str) -> None:
        super().__init__()
        torch.manual_seed(3)
        config = BertConfig(
            vocab_size=100,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=16,
            pad_token_id=0,
        )
        self.text = HFTextEncoder("tiny-bert", output_dim=32, config=config, pooler_type=pooler_type).eval()

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.text(tokens)


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("pooler_type", ["mean_pooler", "cls_pooler", "cls_last_hidden_state_pooler"])
def test_hugging_face_tower_matches_the_full_context(pooler_type, packed):
    model = _HFTextModel(pooler_type)
    tokens = _tokens([2, 5, 1], eot=98)
    with torch.inference_mode():
        before = _unit(model.encode_text(tokens))
        trimmed = padding_free_encoder(model, packed=packed)
        assert trimmed is not None and trimmed.packed == packed
        lengths = _positions_seen(model.text.transformer, lambda: trimmed(tokens))
        np.testing.assert_allclose(_unit(trimmed(tokens)), before, atol=1e-5)
        # The swapped layers are enabled only inside the fast path: open_clip's own path is unchanged.
        np.testing.assert_array_equal(_unit(model.encode_text(tokens)), before)
    assert lengths == [6]
    swapped = [m for m in model.modules() if isinstance(m, packed_linear.PackedLinear)]
    assert (len(swapped) > 0) == packed and not any(layer.enabled for layer in swapped)
