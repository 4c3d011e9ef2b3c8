"""Domain errors of the analytics reads; servicekit's exception handler answers them in the one JSON error format."""

from __future__ import annotations

from servicekit.errors import DomainError


class UnknownQuery(DomainError):
    """No search was ever recorded for that query text."""

    code = "not_found"
    status_code = 404

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"No searches recorded for query {text!r}.", details={"query": text})
