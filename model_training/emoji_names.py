"""Write search_service's emoji -> name table (``search_service/ranking/emoji_names.json``) from Unicode CLDR.

    .venv/bin/python -m model_training.emoji_names   # from the repo root; needs Debian's unicode-cldr-core

Source: the English CLDR annotations on this machine (``/usr/share/unicode/cldr/common/annotations/en.xml`` and
``annotationsDerived/en.xml``): each emoji's short name (the ``tts`` annotation), e.g. "🎂" -> "birthday cake",
so that an emoji typed as a search query is searched by its name. Only non-ASCII entries (ASCII symbols such as
"$" stay as typed) and no skin-tone variants (the search drops the tone modifiers and looks up the base emoji).
Keywords are not used. emojilib's keyword lists are reserved for evaluation and refused here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from model_training import sources

OUTPUT = Path(__file__).resolve().parent.parent / "search_service" / "ranking" / "emoji_names.json"
SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
RESERVED = ("emojilib",)


def emoji_names(cldr_dir: Path) -> dict[str, str]:
    if any(reserved in str(cldr_dir).lower() for reserved in RESERVED):
        raise ValueError(f"{cldr_dir}: emojilib is reserved for evaluation and must not be used")
    names = {}
    for emoji, annotation in sources.load_cldr(cldr_dir).items():
        if emoji.isascii() or (len(emoji) > 1 and SKIN_TONES & set(emoji)):
            continue
        names[emoji.replace("\ufe0f", "")] = annotation.name
    return dict(sorted(names.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cldr-dir", type=Path, default=sources.CLDR_DIR)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    names = emoji_names(args.cldr_dir)
    document = {
        "source": "Unicode CLDR English annotations (tts names), Debian unicode-cldr-core; "
        "written by python -m model_training.emoji_names",
        "names": names,
    }
    args.output.write_text(json.dumps(document, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(names)} emoji names -> {args.output}")


if __name__ == "__main__":
    main()
