"""Domain errors of the sticker index; views turn them into API errors."""

from __future__ import annotations


class ModelMismatch(Exception):
    """The index holds embeddings of another model than the loaded one."""

    def __init__(self, loaded_model: str, index_models: list[str]) -> None:
        self.loaded_model = loaded_model
        self.index_models = index_models
        super().__init__(
            f"The index was built with {', '.join(index_models)} but the loaded model is {loaded_model}; "
            "reindex with 'python manage.py index_images --reindex' (or load the index's model)."
        )


class StickerExists(Exception):
    def __init__(self, filename: str) -> None:
        self.filename = filename
        super().__init__(f"A sticker named {filename!r} already exists; delete it first.")


class BlendOutdated(Exception):
    """Stored blended embeddings were made with another text weight than SEARCH_TEXT_WEIGHT (or none)."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        super().__init__(
            f"The index's blended embeddings were not made with SEARCH_TEXT_WEIGHT={weight}; search is refused "
            "until 'python manage.py reblend' has re-blended them (or the previous weight is configured again)."
        )
