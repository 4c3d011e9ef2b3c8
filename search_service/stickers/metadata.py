"""Sticker titles and tags: the metadata file of ``index_images`` and the text that gets embedded.

Metadata file (JSON), keyed by the file's path relative to the indexed folder (its sticker filename)::

    {"cat.png": {"title": "grinning cat", "tags": ["cat", "smile"]}, "sub/dog.png": {"tags": ["dog"]}}

Both keys are optional; unknown keys are refused (typos would silently drop metadata otherwise).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

MAX_TITLE = 255
MAX_TAG = 100
MAX_TAGS = 64


class InvalidMetadata(ValueError):
    pass


@dataclass(frozen=True)
class Metadata:
    title: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.title and not self.tags


def _clean(text: str) -> str:
    """NFC, control characters dropped (PostgreSQL refuses NUL), whitespace runs collapsed."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", text) if unicodedata.category(ch) != "Cc" or ch.isspace())
    return " ".join(text.split())


def clean_title(title: str) -> str:
    title = _clean(title)
    if len(title) > MAX_TITLE:
        raise InvalidMetadata(f"A title has at most {MAX_TITLE} characters.")
    return title


def clean_tags(tags: list[str]) -> list[str]:
    """Whitespace-normalised, without empties and duplicates (first spelling kept), order kept."""
    result: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        tag = _clean(tag)
        if not tag or tag.casefold() in seen:
            continue
        if len(tag) > MAX_TAG:
            raise InvalidMetadata(f"A tag has at most {MAX_TAG} characters: {tag[:40]!r}...")
        seen.add(tag.casefold())
        result.append(tag)
    if len(result) > MAX_TAGS:
        raise InvalidMetadata(f"At most {MAX_TAGS} tags per sticker.")
    return result


def parse_tags(text: str) -> list[str]:
    """Tags from a comma-separated string (the upload form field)."""
    return clean_tags(text.split(",")) if text else []


def metadata_text(title: str, tags: list[str]) -> str:
    """The text embedded for a sticker's title and tags ("" when it has neither)."""
    parts: list[str] = []
    for part in [title, *tags]:
        if part and part.casefold() not in {p.casefold() for p in parts}:
            parts.append(part)
    return ", ".join(parts)


def load_metadata_file(path: Path) -> dict[str, Metadata]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidMetadata(f"Cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise InvalidMetadata(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidMetadata(f"{path} must hold a JSON object {{filename: {{title, tags}}}}.")
    result: dict[str, Metadata] = {}
    for filename, entry in data.items():
        where = f"{path}: entry {filename!r}"
        if not isinstance(entry, dict):
            raise InvalidMetadata(f"{where} must be an object with 'title' and/or 'tags'.")
        unknown = set(entry) - {"title", "tags"}
        if unknown:
            raise InvalidMetadata(f"{where} has unknown keys {sorted(unknown)} (allowed: title, tags).")
        title, tags = entry.get("title", ""), entry.get("tags", [])
        if title is None:
            title = ""
        if not isinstance(title, str):
            raise InvalidMetadata(f"{where}: 'title' must be a string.")
        if tags is None:
            tags = []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise InvalidMetadata(f"{where}: 'tags' must be a list of strings.")
        try:
            result[unicodedata.normalize("NFC", filename)] = Metadata(clean_title(title), clean_tags(tags))
        except InvalidMetadata as exc:
            raise InvalidMetadata(f"{where}: {exc}") from exc
    return result
