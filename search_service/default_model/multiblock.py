"""EfficientNet-Lite towers whose pooled output also carries the pooled outputs of their last three stages.

The default model's head can be trained on these "multi-block" features (1280 + 112 + 192 + 320 = 1904-d for
Lite0); on the validation tier this was the largest single gain (benchmarks/RESULTS.md, "Default model").
open_clip builds a timm tower by name and puts its linear head on ``trunk.num_features`` outputs, so the tower
is registered with timm under ``sticker_multiblock_<timm name>``: the same modules and state-dict keys as the
plain tower (the ImageNet weights load unchanged), only its forward pass keeps the three pooled stages. It
computes exactly what ``model_training.features`` caches for training (kinds ``pooled`` and ``blocks``).
"""

from __future__ import annotations

from typing import Any, cast

import torch
from timm.models.efficientnet import EfficientNet

PREFIX = "sticker_multiblock_"
STAGES = 3  # the last three stages of the trunk


class MultiBlockEfficientNet(EfficientNet):
    """An EfficientNet whose forward returns [global pool of the head's output, pooled last STAGES stages]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.conv_stem(x))
        pooled = []
        for n, block in enumerate(self.blocks):
            x = block(x)
            if n >= len(self.blocks) - STAGES:
                pooled.append(x.mean((2, 3)))
        return torch.cat([self.global_pool(self.bn2(self.conv_head(x))), *pooled], 1)


def stage_widths(model: EfficientNet) -> list[int]:
    """Output channels of the last STAGES stages."""
    stages: list[Any] = list(model.blocks)[-STAGES:]  # nn.Sequential of timm blocks
    return [int(stage[-1].conv_pwl.out_channels) for stage in stages]


def register(timm_names: list[str]) -> None:
    """Register ``PREFIX + name`` with timm for each plain tower name (idempotent)."""
    import timm
    from timm.models import is_model, register_model

    for name in timm_names:
        if is_model(PREFIX + name):
            continue

        def create(pretrained: bool = False, _name: str = name, **kwargs) -> MultiBlockEfficientNet:
            model = cast(MultiBlockEfficientNet, timm.create_model(_name, pretrained=pretrained, **kwargs))
            # Same modules and weights, another forward: swap the class rather than rebuild the architecture.
            model.__class__ = MultiBlockEfficientNet
            model.num_features = int(model.num_features) + sum(stage_widths(model))
            return model

        create.__name__ = PREFIX + name
        create.__qualname__ = create.__name__
        register_model(create)
