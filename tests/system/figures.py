"""Numbers the system tests measure (faults survived, cases tried, votes counted), printed at the end of the
run (conftest's ``pytest_terminal_summary``) so that README's reliability section can quote them."""

from __future__ import annotations

FIGURES: dict[str, object] = {}


def record(name: str, value: object) -> None:
    FIGURES[name] = value


def add(name: str, amount: int = 1) -> None:
    FIGURES[name] = int(FIGURES.get(name, 0)) + amount
