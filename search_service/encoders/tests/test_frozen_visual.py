"""A convolutional image tower, traced and frozen, gives the eager tower's embeddings with its batch norms folded."""

from __future__ import annotations

import pytest
import torch
from open_clip.timm_model import TimmModel

from search_service.encoders.frozen_visual import freeze_image_tower


@pytest.fixture(scope="module")
def efficientnet_tower():
    """The default model's kind of tower: timm EfficientNet-Lite0 with a linear head (random weights, offline)."""
    torch.manual_seed(0)
    tower = TimmModel(
        "tf_efficientnet_lite0", embed_dim=32, image_size=96, pool="avg", proj="linear", pretrained=False
    ).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so that folding them matters
        for module in tower.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return tower.to(memory_format=torch.channels_last)  # as the encoder keeps convolutional towers


def test_frozen_tower_matches_the_eager_one_for_any_batch_size(efficientnet_tower):
    frozen = freeze_image_tower(efficientnet_tower, (3, 96, 96))
    assert frozen is not None
    assert "batch_norm" not in str(frozen.graph)  # folded into the convolutions
    for size in (1, 5):
        images = torch.rand(size, 3, 96, 96)
        with torch.inference_mode():
            expected = torch.nn.functional.normalize(efficientnet_tower(images), dim=-1)
            got = torch.nn.functional.normalize(frozen(images), dim=-1)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_a_tower_that_cannot_be_traced_stays_eager():
    class Untraceable(torch.nn.Module):
        def forward(self, x):  # a Python branch: tracing records the one its example batch took
            return x.mean(dim=(2, 3)) if x.shape[0] == 2 else x.amax(dim=(2, 3))

    assert freeze_image_tower(Untraceable(), (3, 8, 8)) is None  # the check batch (of 3) sees the difference
