"""Image decoding and metadata parsing (no database, no model)."""

from __future__ import annotations

import pytest
from PIL import Image

from search_service.stickers.images import InvalidImage, check_upload_filename, decode_image
from search_service.stickers.metadata import InvalidMetadata, clean_tags, metadata_text, parse_tags
from testkit.images import image_bytes, make_image


def test_decoding_keeps_the_original_size_and_can_shrink():
    photo = image_bytes(Image.new("RGB", (3000, 2000), "orange"), "JPEG")
    decoded = decode_image(photo, max_pixels=10_000_000, max_side=1024)
    assert (decoded.width, decoded.height, decoded.format) == (3000, 2000, "JPEG")
    assert max(decoded.image.size) <= 1024 and decoded.image.getpixel((10, 10))[0] > 200
    full = decode_image(photo, max_pixels=10_000_000)
    assert full.image.size == (3000, 2000) and full.sha256 == decoded.sha256


def test_decoding_refuses_too_many_pixels_before_decoding():
    with pytest.raises(InvalidImage, match="at most 1000 pixels"):
        decode_image(image_bytes(make_image(1, size=40)), max_pixels=1000)


def test_animated_images_use_their_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    data = image_bytes(frames[0], "PNG")
    import io

    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buffer.getvalue(), max_pixels=10_000)
    assert decoded.format == "GIF" and decoded.image.convert("RGB").getpixel((1, 1)) == (255, 0, 0)
    assert decode_image(data, max_pixels=10_000).format == "PNG"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("cat.png", True),
        ("Cat_2-final.v2.PNG", True),
        ("a.png", True),
        ("cat.jpeg.exe", False),
        ("../cat.png", False),
        ("cat..png", False),
        ("ca t.png", False),
        ("кот.png", False),
        ("_cat.png", False),
        ("cat.gif", False),
        ("x" * 197 + ".png", False),
    ],
)
def test_upload_file_names(name, ok):
    if ok:
        assert check_upload_filename(name, "PNG") == name
    else:
        with pytest.raises(InvalidImage):
            check_upload_filename(name, "PNG")


def test_tags_and_the_embedded_text():
    assert parse_tags(" cat, Cat ,,grumpy  cat ") == ["cat", "grumpy cat"]
    assert clean_tags(["a\tb", ""]) == ["a b"]
    with pytest.raises(InvalidMetadata):
        clean_tags(["x" * 101])
    assert metadata_text("Grinning face", ["face", "grinning face", "smile"]) == "Grinning face, face, smile"
    assert metadata_text("", []) == ""
    assert clean_tags(["nul\x00here", "bell\x07"]) == ["nulhere", "bell"]
