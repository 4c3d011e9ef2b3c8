"""The query adapter's round trip through the real services: votes posted to sticker_service, search_service's
``train_query_adapter`` pulling them from sticker_service's analytics API with the admin token, the new version
served by the running search_service, ``--rollback`` back to the previous version and then to none."""

from __future__ import annotations

import re
import time

import pytest
import requests

from search_service.adapters.feedback_source import fetch_pairs

pytestmark = pytest.mark.system


def internal_search(search, query: str) -> tuple[int, dict[str, float]]:
    response = requests.get(
        f"{search.url}/api/search/", params={"query": query, "limit": 8}, headers=search.headers(), timeout=30
    )
    assert response.status_code == 200, response.text[:300]
    return int(response.headers["X-Query-Adapter"]), {
        hit["filename"]: hit["score"] for hit in response.json()["results"]
    }


def served_version(search, version: int, query: str, timeout: float = 40.0) -> dict[str, float]:
    """Scores for ``query`` once the running service serves ``version`` (it looks every SEARCH_ADAPTER_REFRESH s)."""
    deadline = time.monotonic() + timeout
    while True:
        seen, scores = internal_search(search, query)
        if seen == version:
            return scores
        assert time.monotonic() < deadline, f"still serving adapter v{seen}, expected v{version}"
        time.sleep(0.5)


def train(search, sticker) -> int:
    out = search.manage("train_query_adapter", "--url", sticker.url, "--token", sticker.admin_token, "--steps", "50")
    match = re.search(r"adapter v(\d+) for .* is served", out)
    assert match, out
    return int(match.group(1))


def test_train_serve_and_roll_back_an_adapter_through_the_real_services(up):
    search, sticker = up.search, up.sticker
    session = requests.Session()
    for query in ("Grinning Cat", "red heart"):
        response = session.get(f"{sticker.url}/api/search/", params={"query": query, "limit": 8}, timeout=30)
        assert response.status_code == 200, response.text[:300]
    plain = served_version(search, 0, "grinning cat")
    for client in range(4):
        body = {
            "client_id": f"install-{client}",
            "feedback": [
                {"query": "Grinning  CAT", "positive": ["cat.png"], "negative": ["car.png"]},
                {"query": "red heart", "positive": ["heart.png"]},
            ],
        }
        response = session.post(f"{sticker.url}/api/feedback/", json=body, timeout=30)
        assert response.json() == {"recorded": 3, "failed": []}
    report = session.get(
        f"{sticker.url}/api/analytics/",
        params={"query": "grinning cat"},
        headers={"Authorization": f"Token {sticker.admin_token}"},
        timeout=30,
    ).json()
    votes = {
        row["filename"]: (row["positive"], row["clients_positive"], row["clients_negative"])
        for row in report["stickers"]
    }
    assert votes == {"cat.png": (4, 4, 0), "car.png": (0, 0, 4)} and report["clients"] == 4
    # The adapter's reader gets query texts as stored, also those a spreadsheet would run (issue 23 item 3).
    for text in ("-_-", "@home"):
        assert session.get(f"{sticker.url}/api/search/", params={"query": text}, timeout=30).status_code == 200
        body = {"feedback": [{"query": text, "positive": ["cat.png"]}]}
        assert session.post(f"{sticker.url}/api/feedback/", json=body, timeout=30).json()["recorded"] == 1
    pairs = fetch_pairs(sticker.url, sticker.admin_token)
    assert {(pair.query, pair.filename) for pair in pairs} >= {("-_-", "cat.png"), ("@home", "cat.png")}
    assert not any(pair.query.startswith("'") for pair in pairs)

    first = train(search, sticker)
    adapted = served_version(search, first, "grinning cat")
    assert adapted != pytest.approx(plain, abs=1e-4)
    second = train(search, sticker)
    assert second > first
    served_version(search, second, "grinning cat")

    assert f"adapter v{second} rolled back; served now: adapter v{first}" in search.manage(
        "train_query_adapter", "--rollback"
    )
    assert served_version(search, first, "grinning cat") == pytest.approx(adapted, abs=1e-6)
    assert "served now: no adapter" in search.manage("train_query_adapter", "--rollback")
    assert served_version(search, 0, "grinning cat") == pytest.approx(plain, abs=1e-6)


def test_votes_lift_their_stickers_through_both_services_and_a_spammer_counts_once(up):
    """sticker_service turns the votes into bounded boosts sent with POST /api/search/; the public scores move by
    exactly the boost: 5 distinct clients lift a sticker more than 1, and 1,000 votes of one client move its
    sticker exactly as much as one honest client's single vote. Pages stay one ranking for that vote state."""
    sticker = up.sticker
    session = requests.Session()
    url = f"{sticker.url}/api/search/"

    def ranking(query: str, limit: int = 8, offset: int = 0) -> list[tuple[str, float]]:
        response = session.get(url, params={"query": query, "limit": limit, "offset": offset}, timeout=30)
        assert response.status_code == 200, response.text[:300]
        return [(hit["filename"], hit["score"]) for hit in response.json()["stickers"]]

    def vote(client_id: str, filename: str, times: int = 1) -> None:
        body = {"client_id": client_id, "feedback": [{"query": "Rocket launch", "positive": [filename]}] * times}
        response = session.post(f"{sticker.url}/api/feedback/", json=body, timeout=30)
        assert response.json() == {"recorded": times, "failed": []}

    before = ranking("rocket launch")
    names = [name for name, _ in before]
    liked, spammed, honest = names[-1], names[-2], names[-3]
    for client in range(5):
        vote(f"fan-{client}", liked)
    vote("honest-1", honest)
    for _ in range(10):
        vote("spammer", spammed, times=100)
    after = ranking("ROCKET  launch")
    lift = {name: dict(after)[name] - dict(before)[name] for name in names}
    assert lift[spammed] == pytest.approx(lift[honest], abs=2e-6) and lift[honest] > 0
    assert lift[honest] < lift[liked] < 0.1  # FEEDBACK_BOOST_MAX
    assert all(lift[name] == pytest.approx(0, abs=2e-6) for name in names if name not in (liked, spammed, honest))
    assert [name for name, _ in after].index(liked) <= names.index(liked)
    pages = [hit for offset in range(0, 8, 3) for hit in ranking("rocket launch", limit=3, offset=offset)]
    assert pages == after
