"""Upload safety of search_service's ``POST /api/images/`` through gunicorn: a size limit, only real images
(Pillow verifies them; decompression bombs refused), file names sanitised (no path traversal), a JSON 400
otherwise; nothing refused is stored, and nothing is ever written or deleted outside the media folder."""

from __future__ import annotations

import io
import secrets
import zipfile

import pytest
import requests
from PIL import Image

from tests.system.figures import add

pytestmark = pytest.mark.system

MB = 1024 * 1024


def png(size=(16, 16), mode="RGB", colour="red") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour if mode != "1" else 0).save(buffer, format="PNG")
    return buffer.getvalue()


def image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, format=fmt)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "a")
    return buffer.getvalue()


def upload(search, name: str, data: bytes, content_type: str = "image/png", **fields) -> requests.Response:
    return requests.post(
        f"{search.url}/api/images/",
        headers=search.headers(),
        timeout=60,
        files={"image": (name, data, content_type)},
        data=fields,
    )


def catalogue(search) -> set[str]:
    body = requests.get(
        f"{search.url}/api/images/", params={"page_size": 1000}, headers=search.headers(), timeout=10
    ).json()
    return {item["filename"] for item in body["results"]}


def media_files(search) -> set[str]:
    return {str(path.relative_to(search.workdir)) for path in search.workdir.rglob("*") if path.is_file()}


REFUSED = [
    ("not an image", "notes.png", b"hello, world", "invalid_image"),
    (
        "SVG (a script container)",
        "drawing.svg",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>",
        "invalid_image",
    ),
    ("ZIP named .png", "archive.png", zip_bytes(), "invalid_image"),
    ("truncated PNG", "cut.png", png()[:60], "invalid_image"),
    ("PNG header, garbage after", "broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "invalid_image"),
    ("decompression bomb (20000 x 20000 in a few kB)", "bomb.png", png((20000, 20000), "1"), "invalid_image"),
    ("extension does not match the content", "photo.jpg", png(), "invalid_image"),
    ("empty file", "empty.png", b"", "invalid_request"),
    ("percent-encoded traversal", "%2e%2e%2fescape.png", png(), "invalid_image"),
    ("hidden file", ".hidden.png", png(), "invalid_image"),
    ("leading dash", "-rf.png", png(), "invalid_image"),
    ("name of 300 characters", "a" * 300 + ".png", png(), "invalid_image"),
    ("NUL in the name", "evil.png\x00.txt", png(), "invalid_image"),
    ("no extension", "noextension", png(), "invalid_image"),
]


def test_refused_uploads_are_json_400s_and_store_nothing(up):
    search = up.search
    before_names, before_files = catalogue(search), media_files(search)
    for label, name, data, code in REFUSED:
        response = upload(search, name, data)
        assert response.status_code == 400, (label, response.status_code, response.text[:300])
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == code, (label, response.json())
    assert catalogue(search) == before_names and media_files(search) == before_files
    add("hand-written bad-input cases", len(REFUSED))


def test_upload_size_limit_is_a_413_before_the_body_is_stored(up):
    search = up.search
    before_names, before_files = catalogue(search), media_files(search)
    response = upload(search, "huge.png", png() + b"\0" * (11 * MB))  # SEARCH_UPLOAD_MAX_BYTES is 10 MiB
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "payload_too_large"
    assert catalogue(search) == before_names and media_files(search) == before_files
    add("hand-written bad-input cases")


@pytest.mark.parametrize(
    "name",
    [
        "../../escape-{tag}.png",
        "..\\..\\escape-{tag}.png",
        "/tmp/escape-{tag}.png",  # noqa: S108 - a file name sent, not used
        "sub/dir/escape-{tag}.png",
    ],
)
def test_path_traversal_in_file_names_never_leaves_the_media_folder(up, name):
    search = up.search
    tag = secrets.token_hex(4)
    name = name.format(tag=tag)
    before_files = media_files(search)
    response = upload(search, name, png(colour="green"))
    # Either refused, or stored under its plain base name inside the media folder.
    assert response.status_code in (201, 400), response.text[:300]
    created = media_files(search) - before_files
    if response.status_code == 201:
        stored = response.json()["filename"]
        assert stored == f"escape-{tag}.png", stored
        assert created == {f"media/{stored}"}, created
        assert (
            requests.delete(f"{search.url}/api/images/{stored}/", headers=search.headers(), timeout=10).status_code
            == 204
        )
    else:
        assert not created
    outside = [
        search.workdir / f"escape-{tag}.png",
        search.workdir.parent / f"escape-{tag}.png",
        search.workdir / "media" / "sub" / "dir" / f"escape-{tag}.png",
    ]
    assert not any(path.exists() for path in outside), [p for p in outside if p.exists()]
    add("hand-written bad-input cases")


def test_delete_and_media_paths_cannot_reach_outside_the_media_folder(up):
    search = up.search
    victim = search.workdir / "keep-me.png"
    victim.write_bytes(png())
    for path in ("..%2Fkeep-me.png", "..%2F..%2Fkeep-me.png", "%2E%2E%2Fkeep-me.png"):
        response = requests.delete(f"{search.url}/api/images/{path}/", headers=search.headers(), timeout=10)
        assert response.status_code in (400, 404), (path, response.status_code, response.text[:200])
        assert response.headers["Content-Type"].startswith("application/json")
    for path in ("..%2Fkeep-me.png", "%2E%2E/keep-me.png", "../gunicorn.log"):
        response = requests.get(f"{search.url}/media/stickers/{path}", timeout=10)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert response.headers["Content-Type"].startswith("application/json")
    assert victim.exists()
    add("hand-written bad-input cases", 6)


def test_a_real_image_is_accepted_found_and_removed(up):
    """The control case: a good upload of each accepted format works, so the refusals above mean something."""
    search = up.search
    for fmt, extension in (("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp"), ("GIF", "gif"), ("BMP", "bmp")):
        name = f"good-{secrets.token_hex(3)}.{extension}"
        response = upload(search, name, image(fmt), title="good sticker", tags="ok,fine")
        assert response.status_code == 201, (fmt, response.text[:300])
        assert name in catalogue(search)
        assert (
            requests.delete(f"{search.url}/api/images/{name}/", headers=search.headers(), timeout=10).status_code == 204
        )
        assert name not in catalogue(search)
