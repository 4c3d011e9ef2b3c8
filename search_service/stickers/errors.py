"""Domain errors of the sticker index; servicekit's exception handler answers them in the one JSON error format."""

from __future__ import annotations

from servicekit.errors import DomainError


class ModelMismatch(DomainError):
    """The index holds embeddings of another model than the loaded one."""

    code = "model_mismatch"
    status_code = 409

    def __init__(self, loaded_model: str, index_models: list[str]) -> None:
        self.loaded_model = loaded_model
        self.index_models = index_models
        super().__init__(
            f"The index was built with {', '.join(index_models)} but the loaded model is {loaded_model}; "
            "reindex with 'python -m search_service index_images --reindex' (or load the index's model).",
            details={"loaded_model": loaded_model, "index_models": index_models},
        )


class StickerExists(DomainError):
    code = "already_exists"
    status_code = 409

    def __init__(self, filename: str) -> None:
        self.filename = filename
        super().__init__(
            f"A sticker named {filename!r} already exists; delete it first.", details={"filename": filename}
        )


class UnknownSticker(DomainError):
    code = "not_found"
    status_code = 404

    def __init__(self, filename: str) -> None:
        self.filename = filename
        super().__init__(f"No sticker named {filename!r}.")


class UploadTooLarge(DomainError):
    code = "payload_too_large"
    status_code = 413

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The upload is {size} bytes; at most {limit} bytes are accepted.", details={"max_bytes": limit}
        )


class BlendOutdated(DomainError):
    """Stored blended embeddings were made with another text weight than SEARCH_TEXT_WEIGHT (or none)."""

    code = "blend_outdated"
    status_code = 503

    def __init__(self, weight: float) -> None:
        self.weight = weight
        super().__init__(
            f"The index's blended embeddings were not made with SEARCH_TEXT_WEIGHT={weight}; search is refused "
            "until 'python -m search_service reblend' has re-blended them (or the previous weight is configured "
            "again).",
            details={"text_weight": weight},
        )
