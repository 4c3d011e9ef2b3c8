"""The digit counter for n with 1,000 digits; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.counter [--repeats 200] [--digits 1000] [--no-write]

Times sticker_service's ``counter.services.count_digit_occurrences`` and ``count_numbers_with_digit`` for
random n of ``--digits`` digits (every digit 0-9 in turn), and the whole ``GET /api/counter/`` request in-process
through Django's test client (query parsing and validation, both counts, JSON rendering; no network), and
checks both counts against a brute force for small n first. Medians and p99 over ``--repeats`` calls.
"""

from __future__ import annotations

import argparse
import random

from benchmarks import common


def check_counts() -> None:
    """The closed forms against counting, for every n < 3000 (step 7) and digit."""
    from sticker_service.counter.services import count_digit_occurrences, count_numbers_with_digit

    for n in range(0, 3000, 7):
        for digit in range(10):
            written = "".join(str(k) for k in range(1, n + 1))
            assert count_digit_occurrences(digit, n) == written.count(str(digit))
            assert count_numbers_with_digit(digit, n) == sum(str(digit) in str(k) for k in range(1, n + 1))


def measure(numbers: list[int]) -> list[tuple[str, str, str]]:
    """p50 / p99 of each count and of the whole request, digit 0-9 in turn."""
    from django.test import Client

    from sticker_service.counter.services import count_digit_occurrences, count_numbers_with_digit

    calls = range(len(numbers))
    occurrences = common.timed(lambda i: count_digit_occurrences(i % 10, numbers[i]), calls)
    with_digit = common.timed(lambda i: count_numbers_with_digit(i % 10, numbers[i]), calls)
    client = Client()
    texts = [str(n) for n in numbers]

    def request(i: int) -> None:
        response = client.get("/api/counter/", {"digit": i % 10, "n": texts[i]})
        assert response.status_code == 200, response.content[:300]

    request(0)
    requests_ = common.timed(request, calls)
    return [
        (name, common.fmt_ms(common.percentile(values, 50)), common.fmt_ms(common.percentile(values, 99)))
        for name, values in (
            ("count_digit_occurrences", occurrences),
            ("count_numbers_with_digit", with_digit),
            ("GET /api/counter/ (in-process, both counts)", requests_),
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    common.setup_sticker_django("bench_unused", THROTTLE_RATE_COUNTER="")
    check_counts()
    rng = random.Random(1)
    numbers = [rng.randrange(10 ** (args.digits - 1), 10**args.digits) for _ in range(args.repeats)]
    loads = [common.loadavg()]
    rows = measure(numbers)
    loads.append(common.loadavg())
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
