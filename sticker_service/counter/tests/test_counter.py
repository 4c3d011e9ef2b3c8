import random

import pytest

from sticker_service.counter.services import MAX_DIGITS, count_digit_occurrences, count_numbers_with_digit, parse_n

LIMIT = 5000


def test_every_digit_and_every_n_up_to_5000_against_brute_force():
    answers = [0] * 10
    with_digit = [0] * 10
    for digit in range(10):
        assert count_digit_occurrences(digit, 0) == 0
        assert count_numbers_with_digit(digit, 0) == 0
    for n in range(1, LIMIT + 1):
        text = str(n)
        for digit in range(10):
            char = str(digit)
            answers[digit] += text.count(char)
            with_digit[digit] += char in text
            assert count_digit_occurrences(digit, n) == answers[digit], (digit, n)
            assert count_numbers_with_digit(digit, n) == with_digit[digit], (digit, n)


@pytest.mark.parametrize("k", [1, 2, 3, 10, 50, 999])
def test_closed_forms_for_powers_of_ten(k):
    # 1..10**k - 1: every non-zero digit written k * 10**(k-1) times; 10**k - 9**k numbers contain it.
    n = 10**k - 1
    for digit in range(1, 10):
        assert count_digit_occurrences(digit, n) == k * 10 ** (k - 1)
        assert count_numbers_with_digit(digit, n) == n - (9**k - 1)
    # Zeros in 1..10**k - 1: k-digit strings have k*10**(k-1) zeros minus the leading ones,
    # sum over lengths of (len-1) * 9 * 10**(len-2); numbers with a zero = n minus the zero-free ones.
    zeros = sum((length - 1) * 9 * 10 ** (length - 2) for length in range(2, k + 1))
    assert count_digit_occurrences(0, n) == zeros
    assert count_numbers_with_digit(0, n) == n - sum(9**length for length in range(1, k + 1))
    # 10**k itself adds k zeros and one 1.
    assert count_digit_occurrences(0, n + 1) == zeros + k
    assert count_digit_occurrences(1, n + 1) == k * 10 ** (k - 1) + 1


def slow_digit_count(digit: int, n: int) -> int:
    """An independent formula: sum over positions of full cycles plus the partial cycle, via divmod."""
    total, power = 0, 1
    while power <= n:
        high, rest = divmod(n, power * 10)
        current, low = divmod(rest, power)
        if digit == 0:
            if high == 0:
                break
            full = (high - 1) * power
        else:
            full = high * power
        total += full + (power if current > digit else low + 1 if current == digit else 0)
        power *= 10
    return total


def slow_numbers_with_digit(digit: int, n: int) -> int:
    """An independent digit DP over n's digits: counts of prefixes avoiding the digit, by (tight, started)."""
    states = {(True, False): 1}  # (prefix equals n's prefix, a non-zero digit was written) -> prefixes
    for top_digit in map(int, str(n)):
        following: dict[tuple[bool, bool], int] = {}
        for (tight, started), count in states.items():
            for d in range(top_digit + 1 if tight else 10):
                now_started = started or d != 0
                if now_started and d == digit:
                    continue
                key = (tight and d == top_digit, now_started)
                following[key] = following.get(key, 0) + count
        states = following
    avoiding = sum(count for (_, started), count in states.items() if started)
    return n - avoiding


def test_large_n_against_independent_implementations():
    rng = random.Random(2024)
    for length in (20, 100, 400, MAX_DIGITS):
        n = rng.randrange(10 ** (length - 1), 10**length)
        for digit in range(10):
            assert count_digit_occurrences(digit, n) == slow_digit_count(digit, n)
        for digit in (0, 7):
            assert count_numbers_with_digit(digit, n) == slow_numbers_with_digit(digit, n)


def test_known_values():
    assert count_digit_occurrences(7, 100) == 20
    assert count_numbers_with_digit(7, 100) == 19
    assert count_digit_occurrences(1, 13) == 6
    assert count_digit_occurrences(0, 100) == 11
    assert count_numbers_with_digit(0, 100) == 10
    assert count_digit_occurrences(7, 10**100) == 100 * 10**99
    assert count_numbers_with_digit(7, 10**100) == 10**100 - 9**100 + 1 - 1


def test_parse_n():
    assert parse_n("0") == 0
    assert parse_n("000123") == 123
    assert parse_n("9" * MAX_DIGITS) == 10**MAX_DIGITS - 1
    assert parse_n("0" * 5 + "1" * MAX_DIGITS) == int("1" * MAX_DIGITS)
    for bad in ["", "-1", "1.5", "1e3", "١٢", " 1", "9" * (MAX_DIGITS + 1), "0x10"]:
        with pytest.raises(ValueError):
            parse_n(bad)


def test_counter_api(client):
    response = client.get("/api/counter/", {"digit": 7, "n": 1000})
    assert response.status_code == 200
    assert response.json() == {"digit": 7, "n": "1000", "answer": "300", "numbers_with_digit": "271"}
    assert client.get("/api/counter/", {"n": 100}).json()["digit"] == 7  # default digit
    assert client.get("/api/counter/", {"digit": 0, "n": 0}).json() == {
        "digit": 0,
        "n": "0",
        "answer": "0",
        "numbers_with_digit": "0",
    }
    big = client.get("/api/counter/", {"digit": 3, "n": "9" * MAX_DIGITS}).json()
    assert big["answer"] == str(MAX_DIGITS * 10 ** (MAX_DIGITS - 1))
    assert big["numbers_with_digit"] == str(10**MAX_DIGITS - 9**MAX_DIGITS)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"digit": 10, "n": 5}, "digit"),
        ({"digit": -1, "n": 5}, "digit"),
        ({"digit": "x", "n": 5}, "digit"),
        ({"digit": 7}, "n"),
        ({"n": "-5"}, "n"),
        ({"n": "abc"}, "n"),
        ({"n": "1" * (MAX_DIGITS + 1)}, "n"),
        ({"n": "1" * 100_000}, "n"),
        ({"n": "2.5"}, "n"),
    ],
)
def test_counter_bad_input_is_400(client, params, field):
    response = client.get("/api/counter/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]
