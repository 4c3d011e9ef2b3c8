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

    Position p (10**p) with ``high`` the number above it, ``current`` its digit and ``low`` the number below
    shows ``digit`` ``high * 10**p`` times in full cycles, plus ``10**p`` (current > digit) or ``low + 1``
    (current == digit) times in the last one. For 0, the leading position never counts and every other
    position has one full cycle less (its numbers would start with a 0).

    Summed over p, those big terms regroup by the digits of n into small per-position coefficients:
    ``sum(high_p * 10**p) = sum(j * d_j * 10**(j-1))`` and ``sum over matching p of low_p = sum(d_j * 10**j *
    (matching positions above j))``. The total is then one Horner pass over the coefficients, one
    big-by-small multiplication per digit (no big-by-big product).
    """
    _check(digit, n)
    digits = [ord(char) - 48 for char in reversed(str(n))]  # digits[p] is the digit of 10**p
    length = len(digits)
    counted = length - 1 if digit == 0 else length  # positions that can show the digit
    total = 0
    matches = 0  # counted positions above the current one that show the digit
    for p in range(length - 1, -1, -1):
        current = digits[p]
        coefficient = (p + 1) * digits[p + 1] if p + 1 < length else 0  # full cycles
        if digit == 0 and p < length - 1:
            coefficient -= 1  # one cycle less for 0
        coefficient += current * matches  # the low parts of the matching positions above
        if p < counted:
            if current > digit:
                coefficient += 1
            elif current == digit:
                matches += 1
        total = total * 10 + coefficient
    return total + matches  # the "+ 1" of each matching position


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
