"""Domain errors of the ranking; views map them to API errors."""

from __future__ import annotations


class ResultWindowExceeded(Exception):
    """offset + limit past the result window (as Elasticsearch's max_result_window)."""

    def __init__(self, offset: int, limit: int, window: int) -> None:
        self.offset, self.limit, self.window = offset, limit, window
        super().__init__(f"offset + limit = {offset + limit} is past the result window of {window} stickers; "
                         "refine the query instead of paging deeper.")


class SearchTimeout(Exception):
    """The ranking query ran past SEARCH_STATEMENT_TIMEOUT_MS and PostgreSQL cancelled it."""

    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        super().__init__(f"The search took longer than {timeout_ms} ms and was stopped; try again shortly.")
