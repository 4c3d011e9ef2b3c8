"""Training and serving see a sticker the same way: both go through ``encoders.base.model_input``."""

import pytest
import torch
from PIL import Image

from model_training.demo import DEMO_DIR

ALPHA_MODES = ["P", "PA", "LA", "RGBA", "RGBa"]
OPAQUE_MODES = ["L", "RGB", "CMYK", "1"]


def sticker_in(mode: str) -> Image.Image:
    """A committed demo sticker (a palette PNG with transparency) in the given image mode."""
    image = Image.open(DEMO_DIR / "red-heart.png")
    image.load()
    assert image.mode == "P" and "transparency" in image.info
    return image if mode == "P" else image.convert("RGBA").convert(mode)


@pytest.mark.parametrize("mode", ALPHA_MODES + OPAQUE_MODES)
def test_training_and_serving_give_identical_tensors(towers, serving_encoder, mode):
    image = sticker_in(mode)
    assert image.mode == mode
    trained_on = towers.image_batch([image])[0]
    served = serving_encoder.preprocess(image)
    assert trained_on.shape == served.shape == (3, 224, 224)
    assert torch.equal(trained_on, served)


@pytest.mark.parametrize("mode", ALPHA_MODES)
def test_transparent_pixels_are_white_in_every_mode_with_alpha(towers, mode):
    image = sticker_in(mode)
    assert image.convert("RGBA").getpixel((0, 0))[3] == 0  # the corner is transparent
    corner = towers.image_batch([image])[0][:, :4, :4]
    assert torch.allclose(corner, torch.ones_like(corner), atol=1e-3), corner  # white is 1.0 after [-1, 1] scaling
