"""The committed demo stickers and their metadata, and that the default model finds them by text."""

import random

import numpy as np
from PIL import Image

from model_training.demo import DEMO_DIR, METADATA_FILE
from search_service.stickers.metadata import load_metadata_file


def test_every_demo_sticker_has_a_title_and_tags():
    metadata = load_metadata_file(DEMO_DIR / METADATA_FILE)  # search_service's own reader
    files = {p.name for p in DEMO_DIR.glob("*.png")}
    assert len(files) > 1800
    assert set(metadata) == files
    assert all(meta.title for meta in metadata.values())
    assert sum(bool(meta.tags) for meta in metadata.values()) > 0.9 * len(files)
    assert metadata["grinning-face.png"].title == "grinning face"
    for name in random.Random(0).sample(sorted(files), 20):
        with Image.open(DEMO_DIR / name) as im:
            assert max(im.size) <= 96 and im.mode in ("P", "RGBA")


def test_default_model_ranks_the_right_sticker_first(serving_encoder):
    """Real model, real stickers, served as search_service serves them: each title finds its own picture
    among 40 (image only, no metadata)."""
    metadata = load_metadata_file(DEMO_DIR / METADATA_FILE)
    fixed = ["pizza.png", "cat-face.png", "red-heart.png"]
    names = [*random.Random(1).sample(sorted(set(metadata) - set(fixed)), 37), *fixed]
    images = [Image.open(DEMO_DIR / n) for n in names]
    sims = serving_encoder.encode_texts([metadata[n].title for n in names]) @ serving_encoder.encode_images(images).T
    ranks = (sims > sims.diagonal()[:, None]).sum(1) + 1
    assert ranks[-3:].tolist() == [1, 1, 1]  # pizza, cat face, red heart
    assert np.mean(ranks <= 5) >= 0.6  # trained on these emoji: most land in the top 5 of 40
