"""The counter on large n against the plain positional formula (big-integer arithmetic per position)."""

from __future__ import annotations

import random

import pytest

from sticker_service.counter.services import MAX_DIGITS, count_digit_occurrences


def positional_reference(digit: int, n: int) -> int:
    """Position by position: high * 10**p full cycles (one less for 0), then the last, partial cycle."""
    text = str(n)
    total = 0
    for p in range(len(text)):
        power = 10**p
        high, current, low = n // (power * 10), n // power % 10, n % power
        if digit == 0:
            if high == 0:
                break  # leading position
            total += (high - 1) * power
        else:
            total += high * power
        total += power if current > digit else low + 1 if current == digit else 0
    return total


@pytest.mark.parametrize("seed", range(4))
def test_random_n_up_to_the_digit_limit(seed):
    rng = random.Random(seed)
    for _ in range(25):
        n = rng.randrange(10 ** rng.randint(1, MAX_DIGITS))
        digit = rng.randrange(10)
        assert count_digit_occurrences(digit, n) == positional_reference(digit, n)


@pytest.mark.parametrize(
    "n",
    [
        10**MAX_DIGITS - 1,
        10 ** (MAX_DIGITS - 1),
        7 * (10**MAX_DIGITS - 1) // 9,
        int("70" * (MAX_DIGITS // 2)),
        int("1" + "0" * 500 + "7" * 499),
    ],
)
def test_runs_of_one_digit_and_zeros(n):
    for digit in range(10):
        assert count_digit_occurrences(digit, n) == positional_reference(digit, n)
