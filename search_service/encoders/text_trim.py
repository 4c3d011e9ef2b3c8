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

With ``packed=True`` the linear layers also run on weights pre-packed for oneDNN (``packed_linear.py``):
CLIP's blocks through :func:`_packed_block` (the same computation as open_clip's ``ResidualAttentionBlock``
with its ``nn.MultiheadAttention``), a Hugging Face tower by swapping its ``nn.Linear`` layers.
``tests/test_text_trim.py`` checks trimmed, packed and full outputs against each other.
"""

from __future__ import annotations

from typing import Protocol, cast

import torch
import torch.nn.functional as F
from open_clip.hf_model import ClsLastHiddenStatePooler, ClsPooler, HFTextEncoder, MeanPooler
from open_clip.model import CLIP
from open_clip.transformer import ResidualAttentionBlock, TextTransformer, text_global_pool

from . import packed_linear


class TextEncodeFn(Protocol):
    """tokens -> text features; ``packed``: whether its linear layers run on packed weights."""

    packed: bool

    def __call__(self, tokens: torch.Tensor, /) -> torch.Tensor: ...


_POOLED_AT_EOT = ("argmax", "eos")
# (open_clip 3.3's MaxPooler fails on its own integer mask: left out.)
_MASKED_POOLERS = (MeanPooler, ClsPooler, ClsLastHiddenStatePooler)


def pooled_positions(tokens: torch.Tensor, pool_type: str, eos_id: int | None) -> torch.Tensor:
    """Per row, the position the causal tower pools at (as ``open_clip.transformer.text_global_pool``)."""
    if pool_type == "argmax":
        return tokens.argmax(dim=-1)
    assert eos_id is not None  # pool_type "eos": pools at the end-of-text token
    return (tokens == eos_id).int().argmax(dim=-1)


def _causal_length(tokens: torch.Tensor, pool_type: str, eos_id: int | None) -> int:
    return int(pooled_positions(tokens, pool_type, eos_id).max()) + 1


def _project(pooled: torch.Tensor, projection) -> torch.Tensor:
    if projection is None:
        return pooled
    if isinstance(projection, torch.nn.Linear):
        return projection(pooled)
    return pooled @ projection


class _PackedBlocks:
    """A causal tower's ``ResidualAttentionBlock`` stack on packed weights (None from :meth:`build` when the
    blocks are of another kind or packing is unavailable)."""

    def __init__(self, transformer) -> None:
        self.blocks = list(transformer.resblocks)
        self.weights = [
            (
                packed_linear.pack(b.attn.in_proj_weight),
                packed_linear.pack(b.attn.out_proj.weight),
                packed_linear.pack(b.mlp.c_fc.weight),
                packed_linear.pack(b.mlp.c_proj.weight),
            )
            for b in self.blocks
        ]

    @classmethod
    def build(cls, transformer) -> _PackedBlocks | None:
        def eligible(block) -> bool:
            attn = getattr(block, "attn", None)
            return (
                type(block) is ResidualAttentionBlock
                and not hasattr(block, "ln_1_kv")
                and isinstance(attn, torch.nn.MultiheadAttention)
                and attn.batch_first
                and attn._qkv_same_embed_dim
                and attn.in_proj_bias is not None
                and attn.dropout == 0.0
                and block.attn.in_proj_weight.dtype == torch.float32
            )

        if not getattr(transformer, "batch_first", False) or getattr(transformer, "grad_checkpointing", False):
            return None
        if not all(eligible(block) for block in transformer.resblocks) or not packed_linear.self_check():
            return None
        return cls(transformer)

    def __call__(self, x: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
        for block, weights in zip(self.blocks, self.weights, strict=True):
            x = _packed_block(block, weights, x, attn_mask)
        return x


def _packed_block(block: ResidualAttentionBlock, weights, x: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
    """``block(x, attn_mask=attn_mask)`` for batch-first x (B, L, D), self-attention, on packed weights."""
    in_proj, out_proj, c_fc, c_proj = weights
    batch, length, width = x.shape
    heads = block.attn.num_heads
    qkv = packed_linear.linear(block.ln_1(x), in_proj, block.attn.in_proj_bias)
    q, k, v = qkv.reshape(batch, length, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
    attended = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask.to(x.dtype))
    attended = attended.transpose(1, 2).reshape(batch, length, width)
    x = x + block.ls_1(packed_linear.linear(attended, out_proj, block.attn.out_proj.bias))
    hidden = block.mlp.gelu(packed_linear.linear(block.ln_2(x), c_fc, block.mlp.c_fc.bias))
    return x + block.ls_2(packed_linear.linear(hidden, c_proj, block.mlp.c_proj.bias))


def _causal_trimmed(tower, *, pool_type: str, eos_id: int | None, projection, packed: bool) -> TextEncodeFn:
    """The causal text tower (``CLIP``'s own parts, or a ``TextTransformer``) over the first L positions only
    (L = last pooled position + 1), its blocks on packed weights when asked and possible."""
    blocks = _PackedBlocks.build(tower.transformer) if packed else None

    def encode(tokens: torch.Tensor) -> torch.Tensor:
        length = _causal_length(tokens, pool_type, eos_id)
        tokens = tokens[:, :length]
        cast_dtype = tower.transformer.get_cast_dtype()
        x = tower.token_embedding(tokens).to(cast_dtype)
        x = x + tower.positional_embedding[:length].to(cast_dtype)
        attn_mask = tower.attn_mask[:length, :length]
        x = blocks(x, attn_mask) if blocks is not None else tower.transformer(x, attn_mask=attn_mask)
        x = tower.ln_final(x)
        x = text_global_pool(x, tokens, pool_type, eos_token_id=eos_id)
        return _project(x, projection)

    fn = cast(TextEncodeFn, encode)  # a function attribute: mypy cannot add one to a def
    fn.packed = blocks is not None
    return fn


def _hf_trimmed(model, text: HFTextEncoder, *, packed: bool) -> TextEncodeFn:
    """``encode_text`` without the columns that are padding in every row (on packed linear layers when asked:
    the tower's ``nn.Linear`` layers are swapped once for :class:`PackedLinear`, enabled only in this call)."""
    pad_id = text.config.pad_token_id
    layers: list[packed_linear.PackedLinear] = []
    if packed and packed_linear.self_check():
        layers = [m for m in text.transformer.modules() if isinstance(m, packed_linear.PackedLinear)]
        layers = layers or packed_linear.swap_linears(text.transformer)

    def encode(tokens: torch.Tensor) -> torch.Tensor:
        real = (tokens != pad_id).any(dim=0).nonzero()
        length = int(real.max()) + 1 if len(real) else 1
        for layer in layers:
            layer.enabled = True
        try:
            return model.encode_text(tokens[:, :length])
        finally:
            for layer in layers:
                layer.enabled = False

    fn = cast(TextEncodeFn, encode)  # a function attribute: mypy cannot add one to a def
    fn.packed = bool(layers)
    return fn


def padding_free_encoder(model, *, packed: bool = False) -> TextEncodeFn | None:
    """A function tokens -> text features equal to ``model.encode_text(tokens)`` that skips the padding (and
    with ``packed``, runs the linear layers on packed weights where possible; ``fn.packed`` says whether it
    does), or None when this model's text tower is not one where that is provably the same."""
    if isinstance(model, CLIP):
        if model.attn_mask is not None and model.text_pool_type in _POOLED_AT_EOT:
            return _causal_trimmed(
                model,
                pool_type=model.text_pool_type,
                eos_id=getattr(model, "text_eos_id", None),
                projection=model.text_projection,
                packed=packed,
            )
        return None
    text = getattr(model, "text", None)
    if isinstance(text, TextTransformer):
        causal = text.attn_mask is not None and not text.use_pad_mask
        if causal and text.cls_emb is None and text.pool_type in _POOLED_AT_EOT and not text.output_tokens:
            return _causal_trimmed(
                text, pool_type=text.pool_type, eos_id=text.eos_id, projection=text.text_projection, packed=packed
            )
        return None
    if isinstance(text, HFTextEncoder) and isinstance(text.pooler, _MASKED_POOLERS) and not text.output_tokens:
        if text.config.pad_token_id is not None:
            return _hf_trimmed(model, text, packed=packed)
    return None
