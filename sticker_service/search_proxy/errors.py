"""Domain errors of searching through search_service; servicekit's exception handler answers them in the one
JSON error format."""

from __future__ import annotations

from typing import Any

from servicekit.errors import SERVICE_UNAVAILABLE_MESSAGE, DomainError

# offset + limit of a search (as Elasticsearch's max_result_window): search_service's ranking is stable up to it.
MAX_RESULT_WINDOW = 1000


class SearchUnavailable(DomainError):
    """search_service cannot answer now: down, slow, failing, or its index needs reindexing."""

    code = "service_unavailable"
    status_code = 503

    def __init__(self, message: str = SERVICE_UNAVAILABLE_MESSAGE, *, details: dict[str, Any]) -> None:
        super().__init__(message, details=details)


class SearchRefused(DomainError):
    """search_service refused the request's parameters (its 400)."""

    code = "invalid_request"
    status_code = 400


class UnknownSticker(DomainError):
    """search_service knows no sticker of that filename."""

    code = "not_found"
    status_code = 404

    def __init__(self, filename: str) -> None:
        self.filename = filename
        super().__init__(f"Unknown sticker: {filename}", details={"filename": filename})


class ResultWindowExceeded(DomainError):
    """offset + limit past the result window (as Elasticsearch's max_result_window)."""

    code = "result_window_exceeded"
    status_code = 400

    def __init__(self, message: str, *, details: dict[str, Any]) -> None:
        super().__init__(message, details=details)
