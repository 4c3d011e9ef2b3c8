"""The database restarted under traffic: both services (gunicorn) recover by themselves, requests during the
outage fail as JSON 503 (never a 500, never HTML), and every vote that was answered 200 is in the database."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests

from tests.system.figures import add, record

pytestmark = pytest.mark.system

OUTAGE_CODES = {"database_unavailable", "service_unavailable"}
RESTARTS = 2


@dataclass
class Seen:
    """Every answer the traffic got, by target."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: list[tuple[str, int, str, dict | None, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    votes_accepted: int = 0

    def add(self, target: str, response: requests.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            body = None
        with self.lock:
            self.answers.append(
                (target, response.status_code, response.headers.get("Content-Type", ""), body, time.monotonic())
            )
            if target == "feedback" and response.status_code == 200:
                self.votes_accepted += body["recorded"]

    def ok_since(self, target: str, since: float) -> bool:
        with self.lock:
            return any(t == target and status == 200 and at > since for t, status, _c, _b, at in self.answers)


def _traffic(stop: threading.Event, seen: Seen, calls) -> None:
    session = requests.Session()
    while not stop.is_set():
        for target, call in calls:
            try:
                seen.add(target, call(session))
            except requests.RequestException as exc:  # a refused or dropped connection: a failure of the test
                with seen.lock:
                    seen.errors.append(f"{target}: {type(exc).__name__}: {exc}")
            time.sleep(0.01)


def test_database_restart_under_traffic(up):
    stack = up
    sticker, search = stack.sticker, stack.search
    query = "cat in a park"
    shown = requests.get(f"{sticker.url}/api/search/", params={"query": query, "limit": 4}, timeout=10)
    assert shown.status_code == 200, shown.text
    names = [item["filename"] for item in shown.json()["stickers"]]
    positive, negative = names[0], names[1]
    base_events = sticker.sql("SELECT count(*) FROM feedback_feedbackevent")[0][0]
    base_votes = sticker.sql("SELECT coalesce(sum(positive + negative), 0) FROM feedback_feedbackcounter")[0][0]
    sticker_pid, search_pid = sticker.pid, search.process.pid
    vote = {"feedback": [{"query": query, "positive": [positive], "negative": [negative]}]}

    voter = [("feedback", lambda s: s.post(f"{sticker.url}/api/feedback/", json=vote, timeout=10))]
    reader = [
        ("sticker_search", lambda s: s.get(f"{sticker.url}/api/search/", params={"query": query}, timeout=10)),
        (
            "analytics",
            lambda s: s.get(
                f"{sticker.url}/api/analytics/", params={"query": query}, headers=sticker.admin_headers(), timeout=10
            ),
        ),
        (
            "search_search",
            lambda s: s.get(f"{search.url}/api/search/", params={"query": "dog"}, headers=search.headers(), timeout=10),
        ),
        ("search_images", lambda s: s.get(f"{search.url}/api/images/", headers=search.headers(), timeout=10)),
    ]
    seen, stop = Seen(), threading.Event()
    threads = [threading.Thread(target=_traffic, args=(stop, seen, voter)) for _ in range(4)]
    threads += [threading.Thread(target=_traffic, args=(stop, seen, reader)) for _ in range(2)]
    for thread in threads:
        thread.start()
    recoveries = []
    try:
        time.sleep(1.5)
        for _ in range(RESTARTS):
            down = stack.cluster.restart(down_for=2.0)
            back = time.monotonic()
            deadline = back + 30
            targets = ("feedback", "sticker_search", "analytics", "search_search", "search_images")
            while not all(seen.ok_since(target, back) for target in targets):
                assert time.monotonic() < deadline, "the services did not recover within 30 s of the restart"
                time.sleep(0.1)
            recoveries.append((round(down, 1), round(time.monotonic() - back, 2)))
            time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    assert not seen.errors, seen.errors[:5]
    statuses = Counter((target, status) for target, status, _c, _b, _a in seen.answers)
    for target, status, content_type, body, _at in seen.answers:
        assert status in (200, 503), (target, status, body)
        assert content_type.startswith("application/json"), (target, status, content_type)
        assert body is not None, (target, status)
        if status == 503:
            assert body["error"]["code"] in OUTAGE_CODES, (target, body)
    # The outage was real for both services, and both came back without being restarted.
    assert statuses[("feedback", 503)] > 0 and statuses[("search_search", 503)] > 0, statuses
    assert (sticker.pid, search.process.pid) == (sticker_pid, search_pid)
    assert search.process.poll() is None

    # Every vote answered 200 is stored: as events and in the counters, exactly.
    events = sticker.sql("SELECT count(*) FROM feedback_feedbackevent")[0][0] - base_events
    votes = sticker.sql("SELECT coalesce(sum(positive + negative), 0) FROM feedback_feedbackcounter")[0][0] - base_votes
    assert events == seen.votes_accepted, (events, seen.votes_accepted)
    assert votes == seen.votes_accepted, (votes, seen.votes_accepted)
    assert seen.votes_accepted > 0

    add("faults survived", RESTARTS)
    record(
        "database restarts: requests / 200 / 503 (JSON) / 500 / other",
        f"{len(seen.answers)} / {sum(1 for a in seen.answers if a[1] == 200)} / "
        f"{sum(1 for a in seen.answers if a[1] == 503)} / 0 / 0",
    )
    record("database restarts: votes answered 200 = events stored = counter total", seen.votes_accepted)
    record("database restarts: (seconds down, seconds to full recovery) per restart", recoveries)
