"""Training and demo data for the default model: only the three allowed sources.

* Noto Color Emoji (Debian ``fonts-noto-color-emoji``), rendered with Pillow,
* Unicode CLDR English names and keywords (Debian ``unicode-cldr-core``),
* icon sets from the npm registry's ``@iconify-json/*`` packages (``npm pack``), except the reserved
  ones below, which are never read (not even to pick a setting).

Skin-tone variants are left out everywhere: they are five near-copies of one picture whose names
differ only by the tone, which would bloat the demo set and make text->image ranks meaningless.
"""

from __future__ import annotations

import io
import json
import random
import re
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

NOTO_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
CLDR_DIR = Path("/usr/share/unicode/cldr/common")
NOTO_STRIKE = 109  # the font's bitmap strike: glyphs are 136x128 px

# Reserved for independent evaluation: never used for training, validation or any choice, in any packaging.
# Prefixes: "fluent" covers every Fluent set (fluent, fluent-color, fluent-mdl2, fluent-emoji, ...);
# openclipart and Tux Paint stamps (partly drawn from openclipart) are refused under any name that shows them.
RESERVED_ICON_SETS = ("fluent", "openmoji", "twemoji", "openclipart", "tuxpaint", "tux-paint")
# Icon sets of the v1 recipe. noto* is Noto emoji art again (left out of the "no Noto" variant).
EMOJI_ICON_SETS = ("emojione", "emojione-v1", "fxemoji", "streamline-emojis", "flat-color-icons")
NOTO_ICON_SETS = ("noto-v1",)
# Further allowed sets (licence from each package's info.json, checked when they were added):
# colour: streamline-freehand-color (CC-BY-4.0), meteocons (MIT) (circle-flags, MIT, names its flags by ISO code only);
# monochrome, trained only as recoloured glyphs (random colours, outlines, backgrounds; ``training_variant``):
# maki (CC0-1.0), game-icons (CC-BY-3.0), healthicons (MIT), emojione-monotone (CC-BY-4.0; emoji as glyphs).
# Evaluation-only sets (never trained on by any evaluation head of their tier):
# icon-park (Apache-2.0) and streamline-ultimate-color (CC-BY-4.0), see model_training/evaluation.py.
EXTRA_COLOUR_SETS = ("streamline-freehand-color", "meteocons")
EXTRA_MONO_SETS = ("maki", "game-icons", "healthicons", "emojione-monotone")

SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
_PERSON = {chr(c) for c in (0x1F9D1, 0x1F468, 0x1F469, 0x1F466, 0x1F467, 0x1F9D2, 0x1F474, 0x1F475, 0x1F9D3)}
_DROP_FOR_GROUP = {"\ufe0f", "\u200d", "\u2640", "\u2642"}


@dataclass(frozen=True)
class Item:
    """One picture with its words. ``group`` keeps variants of a concept on one side of a split."""

    source: str  # "noto" or "iconify:<set>"
    key: str  # unique within the source (emoji string or icon name)
    name: str
    keywords: tuple[str, ...] = ()
    group: str = ""
    emoji: str = ""  # the emoji this picture shows, when known
    svg: str = field(default="", repr=False, compare=False)
    mono: bool = field(default=False, compare=False)  # a one-colour glyph (drawn in currentColor)
    category: str = field(default="", compare=False)  # the publisher's category, as words ("food drinks")

    @property
    def uid(self) -> str:
        return f"{self.source}/{self.key}"

    def prompts(self) -> list[str]:
        """Texts that describe the picture: its name, each keyword, and name plus keywords."""
        out = [self.name]
        out += [k for k in self.keywords if k.lower() != self.name.lower()]
        if self.keywords:
            out.append(f"{self.name}: {', '.join(self.keywords)}")
        return out


def category_query(name: str) -> str:
    """A publisher's category name as words: "FoodDrinks" -> "food drinks", "Animals & Nature" -> "animals &
    nature"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


# Sets whose categories a picture of the same emoji from another source (the Noto font) takes, in this order:
# training sets only, never an evaluation set.
CATEGORY_DONORS = ("noto-v1", "emojione", "emojione-v1")


def share_categories(items: list[Item]) -> list[Item]:
    """``items`` with each uncategorised emoji picture given the category of the same emoji in a
    ``CATEGORY_DONORS`` set (the Noto font has no categories; noto-v1 has CLDR's groups)."""
    by_emoji: dict[str, str] = {}
    for donor in CATEGORY_DONORS:
        for it in items:
            if it.source == f"iconify:{donor}" and it.emoji and it.category:
                by_emoji.setdefault(it.emoji, it.category)
    return [
        replace(it, category=by_emoji[it.emoji]) if not it.category and it.emoji in by_emoji else it for it in items
    ]


def normalise_name(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


_FILLER = {"a", "an", "the", "of", "for", "with", "and", "in", "on"}


def normalise_concept(text: str) -> str:
    """A concept's words, lower-case, without filler words and repeats, so that spellings of one concept
    meet: "flag-for-flag-united-states", "flag for United States" and "flag: United States" all give
    "flag united states"."""
    out: list[str] = []
    for word in re.findall(r"[0-9a-z]+", text.lower().replace("\u2019", "").replace("'", "")):
        if word not in _FILLER and word not in out:
            out.append(word)
    return " ".join(out)


def concept_id(text: str) -> str:
    """``normalise_concept`` without spaces: also "thumbsup" meets "thumbs up"."""
    return normalise_concept(text).replace(" ", "")


def emoji_group(emoji: str) -> str:
    """man cook / woman cook / cook, or man running / running, share one group."""
    chars = ["P" if ch in _PERSON else ch for ch in emoji if ch not in _DROP_FOR_GROUP]
    return "".join(chars) or emoji


# ----------------------------------------------------------------------------- CLDR
@dataclass(frozen=True)
class Annotation:
    name: str
    keywords: tuple[str, ...]


def load_cldr(cldr_dir: Path = CLDR_DIR, lang: str = "en") -> dict[str, Annotation]:
    """Emoji string (without FE0F) -> CLDR name and keywords, from annotations and annotationsDerived."""
    names: dict[str, str] = {}
    keywords: dict[str, tuple[str, ...]] = {}
    for sub in ("annotations", "annotationsDerived"):
        path = Path(cldr_dir) / sub / f"{lang}.xml"
        for node in ET.parse(path).getroot().iter("annotation"):  # noqa: S314 - Debian's CLDR files
            cp, text = node.get("cp"), (node.text or "").strip()
            if not cp or not text:
                continue
            if node.get("type") == "tts":
                names[cp] = text
            else:
                keywords[cp] = tuple(k.strip() for k in text.split("|") if k.strip())
    return {cp: Annotation(name, keywords.get(cp, ())) for cp, name in names.items()}


# ----------------------------------------------------------------------------- Noto emoji
@lru_cache(maxsize=2)
def _noto_font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, NOTO_STRIKE, layout_engine=ImageFont.Layout.RAQM)


def render_emoji(emoji: str, font_path: Path = NOTO_FONT) -> Image.Image | None:
    """The emoji as a square transparent RGBA image (136 px), or None when the font lacks it."""
    font = _noto_font(str(font_path))
    advance = font.getlength("\U0001f600")
    if abs(font.getlength(emoji) - advance) > 1:  # not a single glyph (unsupported sequence)
        return None
    canvas = Image.new("RGBA", (int(advance) + 8, int(advance) + 8), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((4, 4), emoji, font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:  # no glyph: the font draws nothing for missing characters
        return None
    glyph = canvas.crop(box)
    side = max(glyph.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    return square


def noto_items(cldr: dict[str, Annotation], font_path: Path = NOTO_FONT) -> list[Item]:
    """Every CLDR-named emoji the Noto font draws as one picture, skin tones left out."""
    items = []
    for cp in sorted(cldr):
        if any(ch in SKIN_TONES for ch in cp):
            continue
        emoji = cp
        if render_emoji(emoji, font_path) is None:
            emoji = cp + "\ufe0f"  # a few need the emoji presentation selector to draw
            if render_emoji(emoji, font_path) is None:
                continue
        ann = cldr[cp]
        items.append(Item("noto", emoji, ann.name, ann.keywords, emoji_group(cp), emoji=cp))
    return items


# ----------------------------------------------------------------------------- iconify
def iconify_icons(package: Path) -> dict:
    """icons.json of an ``npm pack`` tarball (.tgz) or of its unpacked folder."""
    package = Path(package)
    if package.is_dir():
        candidates = [package / "icons.json", package / "package" / "icons.json"]
        return json.loads(next(p for p in candidates if p.exists()).read_text())
    with tarfile.open(package) as tar:
        return json.load(tar.extractfile("package/icons.json"))


def iconify_info(package: Path) -> dict:
    """info.json of an ``npm pack`` tarball (licence, author, palette); {} when absent."""
    return _tar_json(package, "info.json") or iconify_icons(package).get("info", {})


def iconify_categories(package: Path) -> dict[str, list[str]]:
    """The publisher's categories (metadata.json): category name -> icon names."""
    return (_tar_json(package, "metadata.json") or {}).get("categories", {})


def _tar_json(package: Path, name: str) -> dict | None:
    package = Path(package)
    if any(iconify_set_name(package).startswith(r) for r in RESERVED_ICON_SETS):
        raise ValueError(f"@iconify-json/{iconify_set_name(package)} is reserved for evaluation and must not be used")
    if package.is_dir():
        path = next((p for p in (package / name, package / "package" / name) if p.exists()), None)
        return json.loads(path.read_text()) if path else None
    with tarfile.open(package) as tar:
        try:
            return json.load(tar.extractfile(f"package/{name}"))
        except KeyError:
            return None


def iconify_set_name(package: Path) -> str:
    name = Path(package).name.removesuffix(".tgz")
    match = re.match(r"(?:iconify-json-)?(.+?)(?:-\d+\.\d+\.\d+)?$", name)
    return match.group(1) if match else name


def iconify_items(package: Path, cldr: dict[str, Annotation]) -> list[Item]:
    """One item per icon (aliases skipped); names matched to CLDR emoji names pick up their keywords."""
    set_name = iconify_set_name(package)
    if any(set_name.startswith(r) for r in RESERVED_ICON_SETS):
        raise ValueError(f"@iconify-json/{set_name} is reserved for evaluation and must not be used")
    data = iconify_icons(package)
    mono = not iconify_info(package).get("palette", True)
    by_name = {concept_id(a.name): cp for cp, a in cldr.items() if not any(c in SKIN_TONES for c in cp)}
    category_of: dict[str, str] = {}
    for category, icons in iconify_categories(package).items():
        for icon in icons:
            category_of.setdefault(icon, category_query(category))
    default_w, default_h = data.get("width", 16), data.get("height", 16)
    items = []
    for icon_name, icon in sorted(data["icons"].items()):
        if icon.get("hidden"):
            continue
        left, top = icon.get("left", 0), icon.get("top", 0)
        width, height = icon.get("width", default_w), icon.get("height", default_h)
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'viewBox="{left} {top} {width} {height}" width="{width}" height="{height}">{icon["body"]}</svg>'
        )
        words = re.sub(r"[-_]+", " ", icon_name).strip()
        if re.search(r"(skin ?tone|tone ?\d)", words):
            continue  # skin-tone variants are left out (see module docstring)
        cp = by_name.get(concept_id(words))
        if cp is not None:
            ann = cldr[cp]
            item = Item(f"iconify:{set_name}", icon_name, ann.name, ann.keywords, emoji_group(cp), cp, svg, mono)
        else:
            item = Item(f"iconify:{set_name}", icon_name, words, (), "name:" + concept_id(words), "", svg, mono)
        item = replace(item, category=category_of.get(icon_name, ""))
        items.append(item)
    return items


def render_svg(svg: str, size: int = 136) -> Image.Image:
    import resvg_py  # training-only dependency (requirements/dev.txt)

    data = resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size)
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def load_image(item: Item) -> Image.Image:
    if item.source == "noto":
        image = render_emoji(item.key)
        if image is None:
            raise ValueError(f"Noto cannot draw {item.key!r}")
        return image
    return render_svg(item.svg)


def render_variant(item: Item, variant: int, loader=load_image) -> Image.Image:
    """Variant 0 is the picture as published; other variants of a monochrome glyph are drawn in a random
    colour, sometimes on a random light disc or rounded square, sometimes with a coloured outline, so that
    the head learns the concept rather than the black-glyph style."""
    if variant == 0 or not item.mono or loader is not load_image:
        return loader(item)
    rng = random.Random(f"{item.uid}#{variant}")
    red, green, blue = (rng.randrange(0, 200) for _ in range(3))
    glyph = render_svg(item.svg.replace("currentColor", f"#{red:02x}{green:02x}{blue:02x}"))
    style = rng.random()
    if style < 0.35:  # outline: the glyph on a dilated copy of itself in another colour
        ring = Image.new("RGBA", glyph.size, (*(rng.randrange(0, 256) for _ in range(3)), 255))
        alpha = glyph.getchannel("A").filter(ImageFilter.MaxFilter(7))
        outlined = Image.new("RGBA", glyph.size, (0, 0, 0, 0))
        outlined.paste(ring, mask=alpha)
        return Image.alpha_composite(outlined, glyph)
    if style < 0.7:  # on a light disc or rounded square
        side = glyph.width
        back = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        fill = (*(rng.randrange(150, 256) for _ in range(3)), 255)
        draw = ImageDraw.Draw(back)
        if rng.random() < 0.5:
            draw.ellipse((0, 0, side - 1, side - 1), fill=fill)
        else:
            draw.rounded_rectangle((0, 0, side - 1, side - 1), radius=side // 5, fill=fill)
        small = glyph.resize((int(side * 0.65), int(side * 0.65)), Image.BICUBIC)
        offset = (side - small.width) // 2
        back.alpha_composite(small, (offset, offset))
        return back
    return glyph


def training_variant(item: Item, variant: int) -> int:
    """The feature variant a head trains on for its ``variant``-th copy of ``item``: a monochrome glyph is
    never trained in its published black form (variant 0) but always recoloured (variant + 1, see
    ``render_variant``), so that even a one-variant recipe learns the concept rather than the glyph style."""
    return variant + 1 if item.mono else variant


# ----------------------------------------------------------------------------- helpers
def find_iconify_packages(folder: Path, names: Iterable[str]) -> list[Path]:
    """The newest ``iconify-json-<name>-<version>.tgz`` in ``folder`` for each name."""
    found = []
    for name in names:
        matches = sorted(Path(folder).glob(f"iconify-json-{name}-[0-9]*.tgz"))
        if not matches:
            raise FileNotFoundError(f"no iconify-json-{name}-*.tgz in {folder} (run: npm pack @iconify-json/{name})")
        found.append(matches[-1])
    return found


def iter_batches(seq: list, size: int) -> Iterator[list]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
