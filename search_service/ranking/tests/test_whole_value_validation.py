"""Issue 23 item 7 and the small items on search_service: every validated field is matched whole (a pattern's `$`
does not let a final newline through, as Python's re.search did) and integer query parameters are ASCII digits.
One case per validated field: with a trailing newline (or an odd integer spelling) a 400 naming the field; the
same value without it is accepted."""

from __future__ import annotations

import pytest

from search_service.stickers.images import InvalidImage, check_upload_filename
from search_service.stickers.services import add_sticker
from testkit.bad_values import ODD_INTEGERS, assert_refused
from testkit.images import png

pytestmark = pytest.mark.django_db


@pytest.fixture
def sticker(encoder):
    add_sticker("s0.png", png(0), title="red ball")
    add_sticker("s1.png", png(1))


def test_catalogue_after_with_a_final_newline_is_refused(client, sticker):
    assert_refused(client.get("/api/images/", {"after": "zzz.png\n"}), "after")
    assert client.get("/api/images/", {"after": "zzz.png"}).json()["results"] == []


def test_similar_filename_with_a_final_newline_is_refused(client, sticker):
    assert_refused(client.get("/api/similar/", {"filename": "s0.png\n"}), "filename")
    assert client.get("/api/similar/", {"filename": "s0.png"}).status_code == 200


def test_boost_filename_with_a_final_newline_is_refused(client, sticker):
    def post(filename: str):
        body = {"query": "red ball", "boosts": [{"filename": filename, "boost": 0.05}]}
        return client.post("/api/search/", body, content_type="application/json")

    assert_refused(post("s0.png\n"), "boosts")
    assert post("s0.png").status_code == 200


def test_upload_name_with_a_final_newline_is_refused():
    # Django's multipart parser already drops a newline from the name it hands on; the check holds by itself too.
    with pytest.raises(InvalidImage, match="file name"):
        check_upload_filename("cat.png\n", "PNG")
    assert check_upload_filename("cat.png", "PNG") == "cat.png"


@pytest.mark.parametrize("value", ODD_INTEGERS)
@pytest.mark.parametrize(
    "path, params, field",
    [
        ("/api/search/", {"query": "red ball"}, "limit"),
        ("/api/search/", {"query": "red ball"}, "offset"),
        ("/api/similar/", {"filename": "s0.png"}, "limit"),
        ("/api/images/", {}, "page"),
        ("/api/images/", {}, "page_size"),
    ],
)
def test_integer_parameters_are_ascii_digits(client, sticker, path, params, field, value):
    assert_refused(client.get(path, {**params, field: value}), field)
    assert client.get(path, {**params, field: "1"}).status_code == 200
