"""The digit counter for n with 1,000 digits; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.counter [--repeats 200] [--digits 1000] [--no-write]

Times sticker_service's ``counter.services.count_digit_occurrences`` and ``count_numbers_with_digit`` for
random n of ``--digits`` digits (every digit 0-9 in turn), and the whole ``GET /api/counter/`` request in-process
through Django's test client (query parsing and validation, both counts, JSON rendering; no network), and
checks both counts against a brute force for small n first. Medians and p99 over ``--repeats`` calls.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import time

from benchmarks import common


def setup_django() -> None:
    os.environ.update(
        common.service_env(
            "sticker",
            "bench_unused",
            ALLOWED_HOSTS="testserver",
            THROTTLE_RATE_COUNTER="",
            STICKER_SECRET_KEY=secrets.token_urlsafe(50),
        )
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "sticker_service.config.settings"
    import django

    django.setup()


def timed(fn, repeats: int) -> list[float]:
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.test import Client

    from sticker_service.counter.services import count_digit_occurrences, count_numbers_with_digit

    for n in range(0, 3000, 7):  # sanity: the closed forms against counting
        for digit in range(10):
            written = "".join(str(k) for k in range(1, n + 1))
            assert count_digit_occurrences(digit, n) == written.count(str(digit))
            assert count_numbers_with_digit(digit, n) == sum(str(digit) in str(k) for k in range(1, n + 1))

    rng = random.Random(1)
    numbers = [rng.randrange(10 ** (args.digits - 1), 10**args.digits) for _ in range(args.repeats)]
    loads = [common.loadavg()]
    occurrences = timed(lambda i: count_digit_occurrences(i % 10, numbers[i]), args.repeats)
    with_digit = timed(lambda i: count_numbers_with_digit(i % 10, numbers[i]), args.repeats)
    client = Client()
    texts = [str(n) for n in numbers]

    def request(i: int) -> None:
        response = client.get("/api/counter/", {"digit": i % 10, "n": texts[i]})
        assert response.status_code == 200, response.content[:300]

    request(0)
    requests_ = timed(request, args.repeats)
    loads.append(common.loadavg())

    rows = [
        (name, common.fmt_ms(common.percentile(values, 50)), common.fmt_ms(common.percentile(values, 99)))
        for name, values in (
            ("count_digit_occurrences", occurrences),
            ("count_numbers_with_digit", with_digit),
            ("GET /api/counter/ (in-process, both counts)", requests_),
        )
    ]
    lines = [
        common.machine_line(loads),
        "",
        f"`.venv/bin/python -m benchmarks.counter --repeats {args.repeats} --digits {args.digits}`: random n with "
        f"{args.digits} digits, digit 0-9 in turn, {args.repeats} calls each; milliseconds. Both counts were checked "
        "against counting for every n < 3000 (step 7) and digit first.",
        "",
        *common.table(["what", "p50 ms", "p99 ms"], rows),
    ]
    common.write_section("counter", "Digit counter at 1,000 digits", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
