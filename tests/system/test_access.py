"""Access through the real processes: search_service's service token on every operation, sticker_service
sending it, per-client rate limits with Retry-After under gunicorn. (The analytics token matrix is tested
in analytics/tests.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.system.figures import add, record

pytestmark = pytest.mark.system

METHODS = ("get", "post", "put", "patch", "delete")


def search_operations(search) -> list[tuple[str, str]]:
    schema = requests.get(
        f"{search.url}/api/schema/", headers={**search.headers(), "Accept": "application/json"}, timeout=10
    )
    assert schema.status_code == 200, schema.text[:300]
    operations = []
    for path, item in schema.json()["paths"].items():
        for method in METHODS:
            if method in item:
                operations.append((method.upper(), path.replace("{filename}", "cat.png")))
    return operations


def test_search_service_refuses_every_api_call_without_the_token_and_sticker_service_sends_it(up):
    search, sticker = up.search, up.sticker
    operations = search_operations(search)
    api = [(method, path) for method, path in operations if path.startswith("/api/")]
    assert ("GET", "/api/search/") in api and ("DELETE", "/api/images/cat.png/") in api
    refused = 0
    for method, path in [*api, ("GET", "/api/schema/"), ("GET", "/api/docs/")]:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": search.token},
            {"Authorization": f"Token {search.token}"},
        ):
            response = requests.request(
                method, f"{search.url}{path}", headers=headers, params={"query": "cat"}, timeout=10
            )
            assert response.status_code == 401, (method, path, headers, response.status_code, response.text[:200])
            assert response.headers["Content-Type"].startswith("application/json"), (
                method,
                path,
                response.headers["Content-Type"],
                response.text[:200],
            )
            assert response.json()["error"]["code"] in ("not_authenticated", "authentication_failed")
            refused += 1
    # Nothing was changed by the refused calls; the probes stay open for load balancers.
    kept = requests.get(f"{search.url}/api/images/cat.png/", headers=search.headers(), timeout=10)
    assert kept.status_code == 200
    assert requests.get(f"{search.url}/healthz", timeout=10).status_code == 200
    # sticker_service (gunicorn) reaches it: it sends the token.
    response = requests.get(f"{sticker.url}/api/search/", params={"query": "cat"}, timeout=10)
    assert response.status_code == 200 and response.json()["stickers"], response.text[:300]
    record("search_service calls refused without the right token (401)", f"{refused} ({len(api) + 2} operations)")


@pytest.fixture(scope="module")
def throttled(stack):
    """sticker_service with every public rate at 2/minute, one worker (per-process counters), behind one proxy
    (the client address is the last X-Forwarded-For entry)."""
    rates = {
        f"THROTTLE_RATE_{scope}": "2/minute" for scope in ("SEARCH", "SIMILAR", "FEEDBACK", "COUNTER", "ANALYTICS")
    }
    service = stack.new_sticker(workers=1, threads=4, extra_env={**rates, "THROTTLE_NUM_PROXIES": "1"})
    yield service
    service.kill()
    service.close()


def test_public_endpoints_are_throttled_per_client_with_retry_after(up, throttled):
    url = throttled.url
    calls = {
        "search": lambda h: requests.get(f"{url}/api/search/", params={"query": "cat"}, headers=h, timeout=10),
        "similar": lambda h: requests.get(f"{url}/api/similar/", params={"filename": "cat.png"}, headers=h, timeout=10),
        "feedback": lambda h: requests.post(
            f"{url}/api/feedback/",
            json={"feedback": [{"query": "cat", "positive": ["cat.png"]}]},
            headers=h,
            timeout=10,
        ),
        "counter": lambda h: requests.get(f"{url}/api/counter/", params={"n": 77}, headers=h, timeout=10),
        "analytics": lambda h: requests.get(
            f"{url}/api/analytics/", headers={**h, **throttled.admin_headers()}, timeout=10
        ),
    }
    for scope, call in calls.items():
        client_a, client_b = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8"}
        first = [call(client_a).status_code for _ in range(2)]
        assert 429 not in first and all(status < 500 for status in first), (scope, first)
        limited = call(client_a)
        assert limited.status_code == 429, (scope, limited.status_code, limited.text[:200])
        assert limited.json()["error"]["code"] == "throttled"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60, limited.headers.get("Retry-After")
        if scope == "analytics":  # per user: another address with the same token is the same client
            assert call(client_b).status_code == 429
        else:  # per client address: another client is not affected
            assert call(client_b).status_code != 429, scope
        add("throttled scopes checked")


def served_by(access_log) -> dict[int, list[int]]:
    """pid -> statuses of the counter's requests, from an access log written with the format ``%(p)s|%(s)s|%(U)s``."""
    pids: dict[int, list[int]] = {}
    for line in access_log.read_text().splitlines():
        pid, status, path = line.strip().split("|")[:3]
        if path == "/api/counter/":
            pids.setdefault(int(pid.strip("<>")), []).append(int(status))
    return pids


def limit_holds_across_workers(stack, tmp_path, extra_env: dict[str, str]) -> dict[int, list[int]]:
    """sticker_service with 2 workers and a rate of 5/minute: 5 of the requests from one client pass, whichever
    worker serves them (a store per process would let up to 5 per worker through)."""
    log = tmp_path / "access.log"
    service = stack.new_sticker(
        workers=2,
        threads=1,
        extra_env={
            "THROTTLE_RATE_COUNTER": "5/minute",
            "GUNICORN_ACCESS_LOG": str(log),
            "GUNICORN_CMD_ARGS": "--access-logformat=%(p)s|%(s)s|%(U)s",
            **extra_env,
        },
    )

    def one(_: int) -> int:
        with requests.Session() as session:  # one connection each
            return session.get(f"{service.url}/api/counter/", params={"n": 77}, timeout=10).status_code

    try:
        statuses: list[int] = []
        # Concurrent requests (each worker has one thread, so a busy one leaves the next to the other), in batches
        # until both workers have answered some: which worker accepts is the kernel's choice.
        with ThreadPoolExecutor(4) as pool:
            for _ in range(10):
                statuses += pool.map(one, range(8))
                if len(statuses) >= 24 and len(served_by(log)) == 2:
                    break
    finally:
        service.stop()
        service.close()
    pids = served_by(log)
    assert len(pids) == 2, f"both workers must have served requests: {pids}"
    assert statuses.count(200) == 5 and statuses.count(429) == len(statuses) - 5, statuses
    return pids


def test_rate_limits_hold_across_two_workers_in_the_database_store(up, tmp_path):
    """REDIS_URL empty: the counters live in the sticker database's cache table, shared by both workers."""
    pids = limit_holds_across_workers(up, tmp_path, {})
    record(
        "rate limit 5/minute, 2 workers, database store: 200s per worker", sorted(s.count(200) for s in pids.values())
    )


def test_rate_limits_hold_across_two_workers_in_redis(up, tmp_path):
    """REDIS_URL set: the counters live in Redis (required when CI=true, skipped without a Redis here)."""
    import secrets

    from testkit.redis import redis_url_or_skip

    url = redis_url_or_skip("redis://127.0.0.1:6379/14")
    pids = limit_holds_across_workers(
        up, tmp_path, {"REDIS_URL": url, "REDIS_KEY_PREFIX": f"test-{secrets.token_hex(6)}"}
    )
    record("rate limit 5/minute, 2 workers, Redis store: 200s per worker", sorted(s.count(200) for s in pids.values()))
