"""Domain errors of the ranking; servicekit's exception handler answers them in the one JSON error format."""

from __future__ import annotations

from servicekit.errors import DomainError

# offset + limit of a search (as Elasticsearch's max_result_window): pages are stable up to it.
MAX_RESULT_WINDOW = 1000


class ResultWindowExceeded(DomainError):
    """offset + limit past the result window (as Elasticsearch's max_result_window)."""

    code = "result_window_exceeded"
    status_code = 400

    def __init__(self, offset: int, limit: int, window: int) -> None:
        self.offset, self.limit, self.window = offset, limit, window
        super().__init__(
            f"offset + limit = {offset + limit} is past the result window of {window} stickers; "
            "refine the query instead of paging deeper.",
            details={"offset": offset, "limit": limit, "max_result_window": window},
        )


class SearchTimeout(DomainError):
    """The ranking query ran past SEARCH_STATEMENT_TIMEOUT_MS and PostgreSQL cancelled it."""

    code = "search_timeout"
    status_code = 503

    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        super().__init__(
            f"The search took longer than {timeout_ms} ms and was stopped; try again shortly.",
            details={"timeout_ms": timeout_ms},
        )
