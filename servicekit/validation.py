"""Input rules both services apply, written so that the OpenAPI schema states them exactly.

A ``RegexValidator``'s pattern is copied into the schema by drf-spectacular, so a client (or schemathesis)
knows what is accepted: control characters (Unicode category Cc) are refused; a text that is trimmed (DRF's
``trim_whitespace``) must keep at least one character.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

CONTROL = r"\x00-\x1f\x7f-\x9f"  # Unicode category Cc
# Any whitespace around a non-empty text without control characters (the text a trimmed field keeps).
TRIMMED_TEXT_PATTERN = rf"^\s*[^{CONTROL}]*[^\s{CONTROL}]\s*$"
# No control characters anywhere (a field that is not trimmed).
NO_CONTROL_PATTERN = rf"^[^{CONTROL}]*$"


class NoControlCharacters(RegexValidator):
    """Refuses control characters: category Cc by ``regex``, lone surrogates (Cs) by a check of its own (a
    pattern cannot name them without also refusing emoji in UTF-16 regex engines such as JavaScript's)."""

    def __init__(self, regex: str = NO_CONTROL_PATTERN, message: str = "Must not contain control characters.") -> None:
        super().__init__(regex, message=message)

    def __call__(self, value) -> None:
        super().__call__(value)
        if any(unicodedata.category(char) == "Cs" for char in value):
            raise ValidationError(self.message, code=self.code)
