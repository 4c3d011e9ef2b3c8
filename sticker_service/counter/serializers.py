from rest_framework import serializers

from servicekit.validation import FullMatchValidator, QueryIntegerField
from sticker_service.counter.services import MAX_DIGITS, parse_n

N_SPACE = 50
N_MESSAGE = f"n must be a non-negative whole number of at most {MAX_DIGITS} digits (0-9)."


class CounterParamsSerializer(serializers.Serializer):
    digit = QueryIntegerField(min_value=0, max_value=9, default=7, help_text="The digit to count (0-9).")
    n = serializers.CharField(
        max_length=MAX_DIGITS + 100,
        trim_whitespace=True,
        # The rule parse_n applies (digits only, at most MAX_DIGITS once leading zeros are dropped), as a pattern
        # so that the OpenAPI schema states it (unambiguous: no backtracking blow-up on long inputs). At most
        # N_SPACE whitespace characters around it: then every schema-valid request line, even with each of them
        # percent-encoded as 9 bytes, fits gunicorn's 4094-byte limit (a longer one is the declared 414).
        validators=[
            FullMatchValidator(
                rf"^\s{{0,{N_SPACE}}}(?:0*[1-9][0-9]{{0,{MAX_DIGITS - 1}}}|0+)\s{{0,{N_SPACE}}}$", message=N_MESSAGE
            )
        ],
        help_text=f"Count in 1..n; a non-negative whole number of at most {MAX_DIGITS} digits.",
    )

    def validate_n(self, value: str) -> int:
        try:
            return parse_n(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class CounterResponseSerializer(serializers.Serializer):
    digit = serializers.IntegerField()
    n = serializers.CharField(help_text="n, as a decimal string (exact for any size).")
    answer = serializers.CharField(help_text="How many times the digit is written in 1..n (decimal string).")
    numbers_with_digit = serializers.CharField(
        help_text="How many numbers in 1..n contain the digit at least once (decimal string)."
    )
