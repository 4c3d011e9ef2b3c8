"""Data sources: the reserved icon sets are refused before anything of them is read."""

import io
import json
import tarfile

import pytest

from model_training import sources


def write_icon_package(path, icons, categories=None):
    files = {"icons.json": {"prefix": "x", "width": 16, "height": 16, "icons": icons}}
    if categories is not None:
        files["metadata.json"] = {"categories": categories}
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


CLDR = {"\u2764": sources.Annotation("red heart", ("heart", "love"))}
ICONS = {"red-heart": {"body": '<path d="M0 0h16v16H0z"/>'}, "rocket": {"body": "<g/>"}}


@pytest.mark.parametrize(
    "package",
    [
        "iconify-json-fluent-emoji-flat-1.2.3.tgz",
        "iconify-json-fluent-1.2.3.tgz",
        "iconify-json-fluent-color-1.0.0.tgz",
        "iconify-json-openmoji-1.0.0.tgz",
        "iconify-json-twemoji-1.1.0.tgz",
        "fluent-emoji-high-contrast",
    ],
)
def test_reserved_icon_sets_are_refused_unread(tmp_path, package):
    path = tmp_path / package
    path.write_bytes(b"not a tarball")  # reading it would fail differently
    with pytest.raises(ValueError, match="reserved for evaluation"):
        sources.iconify_items(path, CLDR)


def test_an_allowed_icon_set_becomes_items_with_cldr_words(tmp_path):
    path = write_icon_package(tmp_path / "iconify-json-emojione-1.2.3.tgz", ICONS)
    items = {it.key: it for it in sources.iconify_items(path, CLDR)}
    assert set(items) == {"red-heart", "rocket"}
    heart = items["red-heart"]
    assert (heart.source, heart.name, heart.keywords, heart.emoji) == (
        "iconify:emojione",
        "red heart",
        ("heart", "love"),
        "\u2764",
    )
    assert items["rocket"].name == "rocket" and items["rocket"].emoji == ""


def test_the_training_sets_include_no_reserved_set():
    for name in sources.EMOJI_ICON_SETS + sources.NOTO_ICON_SETS:
        assert not name.startswith(sources.RESERVED_ICON_SETS), name


@pytest.mark.parametrize(
    "package",
    [
        "iconify-json-openclipart-1.0.0.tgz",
        "iconify-json-tuxpaint-1.0.0.tgz",
        "iconify-json-tux-paint-stamps-1.0.0.tgz",
    ],
)
def test_openclipart_and_tux_paint_are_refused_unread_by_every_reader(tmp_path, package):
    path = tmp_path / package
    path.write_bytes(b"not a tarball")
    for read in (lambda p: sources.iconify_items(p, CLDR), sources.iconify_info, sources.iconify_categories):
        with pytest.raises(ValueError, match="reserved for evaluation"):
            read(path)


@pytest.mark.parametrize(
    "spellings",
    [
        ("flag-for-flag-united-states", "flag: United States", "Flag for United States"),
        ("thumbs up", "thumbs-up"),
        ("woman’s hat", "womans-hat"),
    ],
)
def test_spellings_of_one_concept_meet(spellings):
    assert len({sources.concept_id(s) for s in spellings}) == 1


def test_icon_names_in_other_spellings_pick_up_the_cldr_words(tmp_path):
    cldr = {"\U0001f1fa\U0001f1f8": sources.Annotation("flag: United States", ("flag",))}
    path = write_icon_package(
        tmp_path / "iconify-json-noto-v1-1.0.0.tgz", {"flag-for-flag-united-states": {"body": "<g/>"}}
    )
    (item,) = sources.iconify_items(path, cldr)
    assert (item.name, item.emoji) == ("flag: United States", "\U0001f1fa\U0001f1f8")


def test_monochrome_glyphs_are_recoloured_in_their_augmented_variants():
    glyph = sources.Item(
        "iconify:maki",
        "square",
        "square",
        svg='<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="16" height="16">'
        '<path fill="currentColor" d="M4 4h8v8H4z"/></svg>',
        mono=True,
    )
    clean = sources.render_variant(glyph, 0)
    assert clean.getpixel((68, 68)) == (0, 0, 0, 255)  # as published: black
    colours = {sources.render_variant(glyph, v).getpixel((68, 68)) for v in range(1, 6)}
    assert (0, 0, 0, 255) not in colours and len(colours) >= 3
    assert sources.render_variant(glyph, 1) == sources.render_variant(glyph, 1)  # seeded


class MeanColourTowers:
    """Stands in for the frozen towers: a picture's "features" are its mean RGB over opaque pixels."""

    def image_feature_kinds(self, images):
        import numpy as np

        pooled = []
        for im in images:
            px = np.asarray(im.convert("RGBA"), np.float32).reshape(-1, 4)
            opaque = px[px[:, 3] > 0]
            pooled.append(opaque[:, :3].mean(0) if len(opaque) else np.zeros(3, np.float32))
        pooled = np.stack(pooled)
        return {"pooled": pooled, "blocks": pooled, "stage5": pooled}


def test_monochrome_glyphs_are_trained_only_recoloured_never_black(tmp_path):
    from model_training import features

    square = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="16" height="16">{}</svg>'
    mono_svg = square.format('<path fill="currentColor" d="M2 2h12v12H2z"/>')
    glyph = sources.Item("iconify:maki", "square", "square", svg=mono_svg, mono=True)
    colour = sources.Item("iconify:x", "red", "red", svg=square.format('<path fill="#f00" d="M2 2h12v12H2z"/>'))
    assert [sources.training_variant(glyph, v) for v in (0, 1)] == [1, 2]
    assert [sources.training_variant(colour, v) for v in (0, 1)] == [0, 1]
    feats = features.training_feature_matrix(MeanColourTowers(), tmp_path, [colour, glyph], 0)
    assert feats[0].tolist() == [255.0, 0.0, 0.0]  # the colour icon as published
    assert feats[1].max() > 40  # the glyph recoloured (variant 1), not its published black
    recoloured = features.image_feature_matrix(MeanColourTowers(), tmp_path, [glyph], 1)
    assert feats[1].tolist() == recoloured[0].tolist()


def test_publishers_categories_become_words_and_reach_the_same_emoji_in_the_noto_font(tmp_path):
    path = write_icon_package(
        tmp_path / "iconify-json-noto-v1-1.2.5.tgz",
        ICONS,
        {"Smileys & Emotion": ["red-heart"], "TravelPlaces": ["rocket"]},
    )
    icons = {it.key: it for it in sources.iconify_items(path, CLDR)}
    assert (icons["red-heart"].category, icons["rocket"].category) == ("smileys & emotion", "travel places")
    font = sources.Item("noto", "\u2764", "red heart", ("heart",), "g", emoji="\u2764")
    other = sources.Item("iconify:flat-color-icons", "idea", "idea")
    shared = {it.uid: it for it in sources.share_categories([font, other, *icons.values()])}
    assert shared[font.uid].category == "smileys & emotion"  # from noto-v1, a CATEGORY_DONORS set
    assert shared[other.uid].category == ""
    # A set that is not a donor (here an evaluation set) lends its categories to nobody.
    fx = write_icon_package(tmp_path / "iconify-json-fxemoji-1.0.0.tgz", ICONS, {"Symbols": ["red-heart"]})
    assert sources.share_categories([font, *sources.iconify_items(fx, CLDR)])[0].category == ""
