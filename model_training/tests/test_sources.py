"""Data sources: the reserved icon sets are refused before anything of them is read."""

import io
import json
import tarfile

import pytest

from model_training import sources


def write_icon_package(path, icons):
    data = json.dumps({"prefix": "x", "width": 16, "height": 16, "icons": icons}).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("package/icons.json")
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
