"""The default indexing batch is one that benchmarks/index_memory.py measured under 1.5 GB (issue 23: the old default
of 32 peaked over it)."""

from __future__ import annotations

import re

import pytest

from testkit import REPO, env_example

pytestmark = pytest.mark.repository


def measured_under_the_limit() -> dict[int, bool]:
    text = (REPO / "benchmarks" / "RESULTS.md").read_text()
    section = text.split("<!-- index-memory:begin -->", 1)[1].split("<!-- index-memory:end -->", 1)[0]
    return {
        int(batch): verdict == "yes"
        for batch, _mb, verdict in re.findall(r"^\| (\d+) \| (\d+) \| (yes|no) \|$", section, re.M)
    }


def test_the_default_index_batch_was_measured_under_one_and_a_half_gigabytes():
    settings = (REPO / "search_service" / "config" / "settings.py").read_text()
    default = int(re.search(r'env\.int\("SEARCH_INDEX_BATCH_SIZE", default=(\d+)\)', settings)[1])
    assert int(env_example.values()["SEARCH_INDEX_BATCH_SIZE"]) == default
    measured = measured_under_the_limit()
    assert measured.get(default) is True, f"batch {default}: {measured}"
