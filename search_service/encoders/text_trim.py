"""Text encoding without the padding: the same vectors as open_clip's ``encode_text``, for a fraction of the work.

open_clip's tokenizers pad every text to the full context (77 tokens for CLIP, 64 for the default model's
MiniLM), and ``encode_text`` runs the transformer over all of it. The padding cannot change the result:

* CLIP's own text tower (``CLIP``, and ``TextTransformer`` in ``CustomTextCLIP``) is causal: position i
  attends to positions <= i only, and the output is pooled at the end-of-text token (``argmax``: the
  highest token id; ``eos``: the first ``eos_id``). Everything after the last pooled position in the batch
  is dropped; positional embeddings and the causal mask are cut to the same length.
* A Hugging Face text tower (``HFTextEncoder``) masks the padding out of attention and out of its pooler
  (mean or CLS), so columns that are padding in every row of the batch are dropped.

A short query then runs ~8 positions instead of 77. Any other tower (CoCa's appended CLS token, a
bidirectional ``TextTransformer``, pooling at the last position, unknown poolers) keeps the full path.
``tests/test_text_trim.py`` checks trimmed and full outputs against each other.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from open_clip.hf_model import ClsLastHiddenStatePooler, ClsPooler, HFTextEncoder, MeanPooler
from open_clip.model import CLIP
from open_clip.transformer import TextTransformer, text_global_pool

TextEncodeFn = Callable[[torch.Tensor], torch.Tensor]
_POOLED_AT_EOT = ("argmax", "eos")
# (open_clip 3.3's MaxPooler fails on its own integer mask: left out.)
_MASKED_POOLERS = (MeanPooler, ClsPooler, ClsLastHiddenStatePooler)


def pooled_positions(tokens: torch.Tensor, pool_type: str, eos_id: int | None) -> torch.Tensor:
    """Per row, the position the causal tower pools at (as ``open_clip.transformer.text_global_pool``)."""
    if pool_type == "argmax":
        return tokens.argmax(dim=-1)
    return (tokens == eos_id).int().argmax(dim=-1)


def _causal_length(tokens: torch.Tensor, pool_type: str, eos_id: int | None) -> int:
    return int(pooled_positions(tokens, pool_type, eos_id).max()) + 1


def _project(pooled: torch.Tensor, projection) -> torch.Tensor:
    if projection is None:
        return pooled
    if isinstance(projection, torch.nn.Linear):
        return projection(pooled)
    return pooled @ projection


def _clip_trimmed(model: CLIP) -> TextEncodeFn:
    """``CLIP.encode_text`` over the first L positions only (L = last pooled position + 1)."""
    pool_type, eos_id = model.text_pool_type, getattr(model, "text_eos_id", None)

    def encode(tokens: torch.Tensor) -> torch.Tensor:
        length = _causal_length(tokens, pool_type, eos_id)
        tokens = tokens[:, :length]
        cast_dtype = model.transformer.get_cast_dtype()
        x = model.token_embedding(tokens).to(cast_dtype)
        x = x + model.positional_embedding[:length].to(cast_dtype)
        x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
        x = model.ln_final(x)
        x = text_global_pool(x, tokens, pool_type, eos_token_id=eos_id)
        return _project(x, model.text_projection)

    return encode


def _text_transformer_trimmed(text: TextTransformer) -> TextEncodeFn:
    """``TextTransformer.forward`` (causal, no CLS token) over the first L positions only."""

    def encode(tokens: torch.Tensor) -> torch.Tensor:
        length = _causal_length(tokens, text.pool_type, text.eos_id)
        tokens = tokens[:, :length]
        cast_dtype = text.transformer.get_cast_dtype()
        x = text.token_embedding(tokens).to(cast_dtype)
        x = x + text.positional_embedding[:length].to(cast_dtype)
        x = text.transformer(x, attn_mask=text.attn_mask[:length, :length])
        x = text.ln_final(x)
        x = text_global_pool(x, tokens, text.pool_type, eos_token_id=text.eos_id)
        return _project(x, text.text_projection)

    return encode


def _hf_trimmed(model, text: HFTextEncoder) -> TextEncodeFn:
    """``encode_text`` without the columns that are padding in every row."""
    pad_id = text.config.pad_token_id

    def encode(tokens: torch.Tensor) -> torch.Tensor:
        real = (tokens != pad_id).any(dim=0).nonzero()
        length = int(real.max()) + 1 if len(real) else 1
        return model.encode_text(tokens[:, :length])

    return encode


def padding_free_encoder(model) -> TextEncodeFn | None:
    """A function tokens -> text features equal to ``model.encode_text(tokens)`` that skips the padding,
    or None when this model's text tower is not one where that is provably the same."""
    if isinstance(model, CLIP):
        if model.attn_mask is not None and model.text_pool_type in _POOLED_AT_EOT:
            return _clip_trimmed(model)
        return None
    text = getattr(model, "text", None)
    if isinstance(text, TextTransformer):
        causal = text.attn_mask is not None and not text.use_pad_mask
        if causal and text.cls_emb is None and text.pool_type in _POOLED_AT_EOT and not text.output_tokens:
            return _text_transformer_trimmed(text)
        return None
    if isinstance(text, HFTextEncoder) and isinstance(text.pooler, _MASKED_POOLERS) and not text.output_tokens:
        if text.config.pad_token_id is not None:
            return _hf_trimmed(model, text)
    return None
