"""Linear layers with their weights pre-packed for oneDNN, for the text towers on CPU.

A short query is a handful of tokens, so each linear layer multiplies a few rows by a large weight matrix;
PyTorch's default CPU path re-lays the weights out on every call, which then dominates the cost. oneDNN can
take them packed once at load (``mkldnn._reorder_linear_weight``, what torch.compile's freezing uses) and
skips that work on every call, same float32 arithmetic up to rounding. Used only where :func:`available`
and a self-check at packing time agree; otherwise the plain layers run.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

logger = logging.getLogger(__name__)

_BATCH_HINT = 8  # rows the packing is tuned for (a query's tokens); any row count works


def available() -> bool:
    ops = torch.ops.mkldnn
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
    )


def pack(weight: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach().float().contiguous(), _BATCH_HINT)


def linear(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` with the packed weight; ``x`` of any leading shape."""
    rows = x.reshape(-1, x.shape[-1]).contiguous()
    out = torch.ops.mkldnn._linear_pointwise(rows, packed, bias, "none", [], "")
    return out.reshape(*x.shape[:-1], out.shape[-1])


def self_check() -> bool:
    """Does packing work here and give the plain result (to 1e-4)?"""
    if not available():
        return False
    try:
        generator = torch.Generator().manual_seed(0)
        x, weight = torch.randn(5, 64, generator=generator), torch.randn(48, 64, generator=generator)
        bias = torch.randn(48, generator=generator)
        with torch.inference_mode():
            return bool(
                torch.allclose(linear(x, pack(weight), bias), torch.nn.functional.linear(x, weight, bias), atol=1e-4)
            )
    except (RuntimeError, TypeError) as exc:
        logger.info("oneDNN packed linear layers unavailable: %s", exc)
        return False


class PackedLinear(nn.Module):
    """Stands in for an ``nn.Linear``: the packed path while ``enabled``, the original layer otherwise."""

    def __init__(self, original: nn.Linear) -> None:
        super().__init__()
        self.original = original
        self.packed = pack(original.weight)  # a plain attribute: not a parameter, not in the state dict
        self.enabled = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled or x.dtype != torch.float32 or x.device.type != "cpu":
            return self.original(x)
        return linear(x, self.packed, self.original.bias)


def swap_linears(module: nn.Module) -> list[PackedLinear]:
    """Replace every float32 CPU ``nn.Linear`` under ``module`` by a :class:`PackedLinear` (disabled)."""
    swapped = []
    for name, child in list(module.named_children()):
        if type(child) is nn.Linear and child.weight.dtype == torch.float32 and child.weight.device.type == "cpu":
            replacement = PackedLinear(child)
            setattr(module, name, replacement)
            swapped.append(replacement)
        elif not isinstance(child, PackedLinear):
            swapped.extend(swap_linears(child))
    return swapped
