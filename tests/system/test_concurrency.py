"""Concurrent writers through real HTTP to gunicorn (2 worker processes x 4 threads): no lost update."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.system.figures import record

pytestmark = pytest.mark.system

THREADS = 16
POSTS_PER_THREAD = 50


def _run_together(count: int, work) -> list:
    """``work(i)`` in ``count`` threads released at the same moment; their results in order."""
    barrier = threading.Barrier(count)

    def task(index: int):
        barrier.wait(timeout=60)
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(task, range(count)))


def test_16_threads_x_50_feedback_posts_on_one_pair_lose_no_vote(up):
    sticker = up.sticker
    query = f"concurrent feedback {secrets.token_hex(4)}"
    shown = requests.get(f"{sticker.url}/api/search/", params={"query": query, "limit": 1}, timeout=10)
    assert shown.status_code == 200, shown.text
    filename = shown.json()["stickers"][0]["filename"]

    def post_votes(index: int) -> list[tuple[int, dict]]:
        kind = "positive" if index % 2 == 0 else "negative"
        body = {"feedback": [{"query": query, kind: [filename]}]}
        with requests.Session() as session:
            answers = []
            for _ in range(POSTS_PER_THREAD):
                response = session.post(f"{sticker.url}/api/feedback/", json=body, timeout=30)
                answers.append((response.status_code, response.json()))
            return answers

    answers = [answer for per_thread in _run_together(THREADS, post_votes) for answer in per_thread]
    assert all(answer == (200, {"recorded": 1, "failed": []}) for answer in answers), [
        a for a in answers if a != (200, {"recorded": 1, "failed": []})
    ][:3]
    ((positive, negative),) = sticker.sql(
        "SELECT c.positive, c.negative FROM feedback_feedbackcounter c JOIN searches_query q ON q.id = c.query_id "
        "JOIN catalog_sticker s ON s.id = c.sticker_id WHERE q.text = %s AND s.filename = %s",
        (query, filename),
    )
    ((events,),) = sticker.sql(
        "SELECT count(*) FROM feedback_feedbackevent e JOIN searches_query q ON q.id = e.query_id WHERE q.text = %s",
        (query,),
    )
    half = THREADS // 2 * POSTS_PER_THREAD
    assert (positive, negative, events) == (half, half, THREADS * POSTS_PER_THREAD)
    # The API reads the same totals back.
    analytics = requests.get(
        f"{sticker.url}/api/analytics/", params={"query": query}, headers=sticker.admin_headers(), timeout=10
    ).json()
    assert (analytics["positive"], analytics["negative"]) == (half, half)
    record(
        "concurrent feedback: posts (16 threads x 50) / counted positive+negative / events",
        f"{len(answers)} / {positive + negative} / {events}",
    )


def test_16_threads_searching_one_new_query_count_16_uses(up):
    sticker = up.sticker
    # Warm the model and the connection pools first: this test is about counting, not latency.
    assert requests.get(f"{sticker.url}/api/search/", params={"query": "warm up"}, timeout=10).status_code == 200
    query = f"concurrent search {secrets.token_hex(4)}"

    def search(_index: int) -> int:
        return requests.get(f"{sticker.url}/api/search/", params={"query": query}, timeout=30).status_code

    statuses = _run_together(THREADS, search)
    assert statuses == [200] * THREADS
    ((usage,),) = sticker.sql("SELECT usage_count FROM searches_query WHERE text = %s", (query,))
    assert usage == THREADS
    record("concurrent searches of one new query: answered / usage_count", f"{statuses.count(200)} / {usage}")
