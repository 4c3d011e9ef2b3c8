"""Input rules both services apply, written so that the OpenAPI schema states them exactly.

A ``RegexValidator``'s pattern is copied into the schema by drf-spectacular, so a client (or schemathesis)
knows what is accepted: control characters (Unicode category Cc) are refused; a text that is trimmed (DRF's
``trim_whitespace``) must keep at least one character.

Patterns are matched whole (:class:`FullMatchValidator`): in the schema, ``^...$`` means the whole text (ECMA-262,
JSON Schema's dialect), but Python's ``re.search`` lets ``$`` match before a final newline, so ``"x\n"`` passed
``^[^\n]*$`` (issue 23 item 7). Integer query parameters are plain ASCII digits (:class:`QueryIntegerField`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from rest_framework import serializers

CONTROL = r"\x00-\x1f\x7f-\x9f"  # Unicode category Cc
# Any whitespace around a non-empty text without control characters (the text a trimmed field keeps).
TRIMMED_TEXT_PATTERN = rf"^\s*[^{CONTROL}]*[^\s{CONTROL}]\s*$"
# No control characters anywhere (a field that is not trimmed).
NO_CONTROL_PATTERN = rf"^[^{CONTROL}]*$"


class FullMatchValidator(RegexValidator):
    """Django's RegexValidator, but the pattern must match the whole value (``fullmatch``), as the schema says."""

    def __call__(self, value) -> None:
        matched = cast(re.Pattern[str], self.regex).fullmatch(str(value)) is not None
        if matched == self.inverse_match:
            raise ValidationError(self.message, code=self.code, params={"value": value})


class NoControlCharacters(FullMatchValidator):
    """Refuses control characters: category Cc by ``regex``, lone surrogates (Cs) by a check of its own (a
    pattern cannot name them without also refusing emoji in UTF-16 regex engines such as JavaScript's)."""

    def __init__(self, regex: str = NO_CONTROL_PATTERN, message: str = "Must not contain control characters.") -> None:
        super().__init__(regex, message=message)

    def __call__(self, value) -> None:
        if cast(re.Pattern[str], self.regex).pattern == TRIMMED_TEXT_PATTERN and not str(value).strip():
            raise ValidationError("Must not be empty or only whitespace.", code="blank")
        super().__call__(value)
        if any(unicodedata.category(char) == "Cs" for char in value):
            raise ValidationError(self.message, code=self.code)


ASCII_INTEGER = re.compile(r"-?[0-9]{1,1000}")


class QueryIntegerField(serializers.IntegerField):
    """An integer query parameter written as the schema's ``integer`` is: ASCII digits with an optional minus. DRF's
    IntegerField also took ``7.0``, `` 1 `` and full-width ``７`` (Python's ``int()``)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not ASCII_INTEGER.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class WindowOffsetMixin(serializers.IntegerField):
    """An offset field whose maximum (the result window minus one page) is declared in the schema but refused by
    the sum rule checked after the fields, with the real limit: past the window is 400 ``result_window_exceeded``
    (DESIGN.md), whichever of offset and limit took it there, not a field error."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, MaxValueValidator)]


class WindowOffsetField(WindowOffsetMixin, QueryIntegerField):
    pass
