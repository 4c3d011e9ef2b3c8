"""POST/GET/DELETE /api/images/: the catalogue, adding and removing one sticker, upload safety."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from search_service.stickers.models import Sticker
from search_service.stickers.services import add_sticker
from testkit.images import image_bytes, make_image, png

pytestmark = pytest.mark.django_db


def upload(client, name="cat.png", data=None, **fields):
    files = {"image": SimpleUploadedFile(name, png(7) if data is None else data)}
    return client.post("/api/images/", {**files, **fields})


def test_catalogue_pages(client, encoder):
    for i in range(5):
        add_sticker(f"s{i}.png", png(i), title=f"title {i}", tags=["a", f"t{i}"])
    first = client.get("/api/images/", {"page_size": 2}).json()
    assert first["count"] == 5 and first["previous"] is None and "page=2" in first["next"]
    assert first["results"][0] == {
        "filename": "s0.png",
        "title": "title 0",
        "tags": ["a", "t0"],
        "url": "http://testserver/media/stickers/s0.png",
        "width": 96,
        "height": 96,
    }
    last = client.get("/api/images/", {"page_size": 2, "page": 3}).json()
    assert [item["filename"] for item in last["results"]] == ["s4.png"] and last["next"] is None
    assert client.get("/api/images/", {"page_size": 2, "page": 4}).status_code == 404
    for bad in ({"page": 0}, {"page_size": 1001}, {"page": "x"}):
        response = client.get("/api/images/", bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


def test_catalogue_keyset_pages_by_filename(client, encoder):
    for name in ("b.png", "a.png", "d.png", "c.png"):
        add_sticker(name, png(ord(name[0])))
    first = client.get("/api/images/", {"page_size": 2, "after": ""}).json()
    assert [item["filename"] for item in first["results"]] == ["a.png", "b.png"]
    assert first["count"] == 4 and "after=b.png" in first["next"] and first["previous"] is None
    # A sticker deleted from a page already read does not shift an unread one onto it (page numbers would).
    assert client.delete("/api/images/a.png/").status_code == 204
    rest = client.get(first["next"]).json()
    assert [item["filename"] for item in rest["results"]] == ["c.png", "d.png"]
    assert client.get("/api/images/", {"page_size": 2, "after": "d.png"}).json()["results"] == []
    bad = client.get("/api/images/", {"after": "a\x00b"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


def test_an_empty_upload_is_refused_and_the_schema_says_so(client):
    response = upload(client, data=b"")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    image = schema["components"]["schemas"]["UploadRequest"]["properties"]["image"]
    assert image == {**image, "type": "string", "format": "binary", "minLength": 1}


def test_upload_then_delete_a_sticker(client, sticker_media, settings):
    settings.SEARCH_TEXT_WEIGHT = 1.0  # rank by title alone so the new sticker must come first
    response = upload(client, title="Grumpy cat", tags="cat, grumpy ,, cat")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "filename": "cat.png",
        "title": "Grumpy cat",
        "tags": ["cat", "grumpy"],
        "url": "http://testserver/media/stickers/cat.png",
        "width": 96,
        "height": 96,
    }
    assert (sticker_media / "cat.png").read_bytes() == png(7)
    media = client.get("/media/stickers/cat.png")
    assert media.status_code == 200 and b"".join(media.streaming_content) == png(7)
    results = client.get("/api/search/", {"query": "Grumpy cat, grumpy"}).json()["results"]
    assert results[0]["filename"] == "cat.png"

    assert client.delete("/api/images/cat.png/").status_code == 204
    assert not Sticker.objects.exists() and not (sticker_media / "cat.png").exists()
    assert client.get("/api/search/", {"query": "Grumpy cat, grumpy"}).json()["results"] == []
    response = client.delete("/api/images/cat.png/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_uploading_an_existing_filename_is_a_conflict(client):
    assert upload(client).status_code == 201
    response = upload(client, data=png(8))
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_exists"
    assert Sticker.objects.get().sha256 == Sticker.objects.get().sha256  # the first one is untouched
    assert client.get("/api/images/cat.png/").json()["filename"] == "cat.png"


def test_transparent_and_other_formats_are_accepted(client):
    assert upload(client, "clear.png", image_bytes(make_image(3, mode="RGBA"))).status_code == 201
    assert upload(client, "photo.jpeg", image_bytes(make_image(4), "JPEG")).status_code == 201
    assert upload(client, "anim.gif", image_bytes(make_image(5).convert("P"), "GIF")).status_code == 201
    assert Sticker.objects.count() == 3


def big_blank_png(pixels_side: int) -> bytes:
    return image_bytes(Image.new("1", (pixels_side, pixels_side)))


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "invalid_image"),
        ("truncated.png", png(1)[:200], "invalid_image"),
        ("empty.png", b"", "invalid_request"),
        ("notes.txt", b"hello", "invalid_image"),
        ("script.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "invalid_image"),
        ("photo.png", image_bytes(make_image(1), "JPEG"), "invalid_image"),  # extension does not match content
        ("bad name!.png", png(1), "invalid_image"),
        ("-rf.png", png(1), "invalid_image"),
        (".hidden.png", png(1), "invalid_image"),
        ("noextension", png(1), "invalid_image"),
        ("bomb.png", big_blank_png(6000), "invalid_image"),  # 36 Mpx in a few kB
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(client, sticker_media, name, data, code):
    response = upload(client, name, data)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == code
    assert not Sticker.objects.exists()
    assert not sticker_media.exists() or not any(sticker_media.iterdir())


def test_upload_size_limit(client, settings):
    settings.SEARCH_UPLOAD_MAX_BYTES = 1000
    response = upload(client, data=png(1) + b"\0" * 1000)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert not Sticker.objects.exists()


def test_upload_field_validation(client):
    response = client.post("/api/images/", {"title": "no image"})
    assert response.status_code == 400 and "image" in response.json()["error"]["details"]["fields"]
    response = upload(client, title="x" * 256)
    assert response.status_code == 400 and "title" in response.json()["error"]["details"]["fields"]
    response = upload(client, tags=",".join(f"t{i}" for i in range(65)))
    assert response.status_code == 400 and "tags" in response.json()["error"]["details"]["fields"]
    response = client.post("/api/images/", {"a": 1}, content_type="application/json")
    assert response.status_code == 415
    assert not Sticker.objects.exists()


def test_filenames_no_sticker_can_have_are_404_not_500(client):
    for path in ("/api/images/a%00b.png/", "/api/images/" + "x" * 300 + "/", "/api/images/%0A.png/"):
        for method in (client.get, client.delete):
            response = method(path)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_control_characters_in_titles_and_tags_are_dropped(client):
    response = upload(client, title="cat", tags="a\x00b, c")  # NUL: refused (PostgreSQL cannot store it)
    assert response.status_code == 400 and "tags" in response.json()["error"]["details"]["fields"]
    response = upload(client, "dog.png", png(8), title="bell\x07 dog", tags="x\x1by")
    assert response.status_code == 201 and (response.json()["title"], response.json()["tags"]) == ("bell dog", ["xy"])
