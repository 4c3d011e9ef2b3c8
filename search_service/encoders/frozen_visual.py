"""A convolutional image tower traced and frozen for CPU inference: batch norms folded into the convolutions.

EfficientNet-style towers (the default model's EfficientNet-Lite0) spend much of their CPU time in batch
norms, each a full pass over the activations. ``torch.jit.freeze`` folds them into the preceding convolutions'
weights and inlines the constants, so those passes disappear; the embeddings stay the same up to float
rounding.

The traced graph is checked against the eager tower on a random batch of another size before it is used; any
failure (a tower that does not trace, a mismatch) leaves the eager tower in place. Built on the first image
batch, not at start-up: search workers seldom encode images.
"""

from __future__ import annotations

import logging
import warnings

import torch

logger = logging.getLogger(__name__)


def freeze_image_tower(visual: torch.nn.Module, input_shape: tuple[int, ...]) -> torch.jit.ScriptModule | None:
    """``visual`` traced at ``input_shape`` (C, H, W) and frozen, or None when that fails or differs."""
    try:
        generator = torch.Generator().manual_seed(0)
        example = torch.randn(2, *input_shape, generator=generator)
        check = torch.randn(3, *input_shape, generator=generator)
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.compile; still supported
            frozen = torch.jit.freeze(torch.jit.trace(visual.eval(), example, check_trace=False).eval())
            expected = torch.nn.functional.normalize(visual(check).float(), dim=-1)
            got = torch.nn.functional.normalize(frozen(check).float(), dim=-1)
        if not torch.allclose(got, expected, atol=1e-4):
            logger.warning(
                "Frozen image tower differs from the eager one (max %.2e); keeping the eager one",
                float((got - expected).abs().max()),
            )
            return None
        return frozen
    except (RuntimeError, TypeError, ValueError, AttributeError, NotImplementedError, AssertionError) as exc:
        logger.info("Image tower not frozen (%s: %s); using the eager one", type(exc).__name__, exc)  # untraceable
        return None
