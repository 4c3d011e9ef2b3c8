"""Reading Prometheus' text format in tests: the value of a metric, summed over the samples whose labels match."""

from __future__ import annotations

import re


def metric_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (0 when there are none)."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if match:
            found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
            if all(found.get(key) == wanted for key, wanted in labels.items()):
                total += float(match.group(2))
    return total
