import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may touch the network


@pytest.fixture(scope="session")
def default_model():
    """The shipped default model, loaded through open_clip's local-dir: path like the service does."""
    import open_clip
    import torch

    from search_service.default_model.build import ensure_model_dir

    folder = ensure_model_dir()
    model, _, preprocess = open_clip.create_model_and_transforms("local-dir:" + str(folder))
    model.eval()
    tokenizer = open_clip.get_tokenizer("local-dir:" + str(folder))

    def encode_texts(texts):
        with torch.inference_mode():
            return model.encode_text(tokenizer(list(texts)), normalize=True).numpy()

    def encode_images(images):
        with torch.inference_mode():
            return model.encode_image(torch.stack([preprocess(im) for im in images]), normalize=True).numpy()

    return folder, encode_texts, encode_images
