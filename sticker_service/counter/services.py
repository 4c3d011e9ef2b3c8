"""Counting a digit in 1, 2, ..., n: exact integer arithmetic, one pass over the digits of n.

``count_digit_occurrences(d, n)`` is how many times ``d`` is written in 1..n; ``count_numbers_with_digit(d, n)``
is how many of those numbers contain ``d`` at least once. Numbers are written without leading zeros, so 0
is never a leading digit. Both take O(number of digits of n) arithmetic steps on Python integers.
"""

from __future__ import annotations

MAX_DIGITS = 1000


def _check(digit: int, n: int) -> None:
    if not 0 <= digit <= 9:
        raise ValueError("digit must be between 0 and 9")
    if n < 0:
        raise ValueError("n must not be negative")


def count_digit_occurrences(digit: int, n: int) -> int:
    """How many times ``digit`` is written in the decimal numbers 1..n.

    Position by position from the right: with ``high`` the number above the position, ``current`` its
    digit and ``low`` the number below (``power`` = 10**position), the position shows ``digit``
    ``high * power`` times in full cycles, plus ``power`` (current > digit) or ``low + 1``
    (current == digit) times in the last one. For 0, the numbers where this position would be a leading
    zero (high == 0) are left out, so one cycle less counts.
    """
    _check(digit, n)
    digits = [ord(char) - 48 for char in str(n)]
    # prefixes[i] = the number written by the first i digits of n (the "high" part left of position i).
    prefixes = [0] * (len(digits) + 1)
    for index, current in enumerate(digits):
        prefixes[index + 1] = prefixes[index] * 10 + current
    total = 0
    power = 1
    low = 0
    for index in range(len(digits) - 1, -1, -1):
        high, current = prefixes[index], digits[index]
        if digit == 0:
            if high == 0:
                break  # the leading position: never a 0
            total += (high - 1) * power
        else:
            total += high * power
        if current > digit:
            total += power
        elif current == digit:
            total += low + 1
        low += current * power
        power *= 10
    return total


def count_numbers_with_digit(digit: int, n: int) -> int:
    """How many of 1..n contain ``digit`` at least once: n minus those that avoid it (a digit-by-digit count)."""
    _check(digit, n)
    if n == 0:
        return 0
    text = str(n)
    length = len(text)
    allowed = 9  # digits other than `digit` in a non-leading position
    # powers[k] = allowed ** k, for the positions after the current one.
    powers = [1] * (length + 1)
    for k in range(1, length + 1):
        powers[k] = powers[k - 1] * allowed
    avoiding = 0
    # Numbers shorter than n: a first digit 1..9 other than `digit`, then any allowed digits.
    first_choices = 9 if digit == 0 else 8
    for k in range(1, length):
        avoiding += first_choices * powers[k - 1]
    # Numbers with as many digits as n and at most n, from the most significant digit down.
    for index, char in enumerate(text):
        current = ord(char) - 48
        smallest = 1 if index == 0 else 0
        choices_below = sum(1 for d in range(smallest, current) if d != digit)
        avoiding += choices_below * powers[length - 1 - index]
        if current == digit:
            break
    else:
        avoiding += 1  # n itself avoids the digit
    return n - avoiding


def parse_n(text: str) -> int:
    """n from its decimal text: digits only, at most MAX_DIGITS significant digits."""
    if not text.isascii() or not text.isdigit():
        raise ValueError("n must be a non-negative whole number written with the digits 0-9")
    significant = text.lstrip("0")
    if len(significant) > MAX_DIGITS:
        raise ValueError(f"n must have at most {MAX_DIGITS} digits")
    return int(significant or "0")
