"""python -m search_service index_images on generated folders: batches, skips, failures, metadata, resume, reindex."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from search_service.stickers import services
from search_service.stickers.models import Sticker
from testkit.images import image_bytes, make_image, write_folder

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("index_images", *map(str, args), "--no-progress", stdout=out)
    return out.getvalue()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    write_folder(root, range(5))
    (root / "transparent.png").write_bytes(image_bytes(make_image(50, mode="RGBA")))
    (root / "photo.jpg").write_bytes(image_bytes(make_image(51), "JPEG"))
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden.png").write_bytes(image_bytes(make_image(52)))
    return root


def test_indexes_a_folder_and_counts_what_it_could_not(folder, sticker_media, encoder):
    out = run(folder, "--batch-size", 3)
    stickers = {s.filename: s for s in Sticker.objects.all()}
    assert set(stickers) == {f"sticker_{i:03d}.png" for i in range(5)} | {"transparent.png", "photo.jpg"}
    assert "Indexed 7 new" in out and "1 failed" in out and "1 not images" in out and "images/s" in out
    assert "corrupt.png" in out
    for name, sticker in stickers.items():
        assert (sticker_media / name).read_bytes() == (folder / name).read_bytes()
        assert sticker.model_id == encoder.model_id
        assert len(sticker.image_embedding) == encoder.dim
        assert sticker.text_embedding is None and sticker.title == "" and sticker.tags == []
    assert (stickers["sticker_000.png"].width, stickers["sticker_000.png"].height) == (96, 96)
    # The stored vector is the encoder's vector of that very image.
    expected = encoder.encode_images([make_image(50, mode="RGBA")])[0]
    np.testing.assert_allclose(stickers["transparent.png"].image_embedding, expected, atol=1e-4)


def test_a_second_run_changes_nothing(folder):
    run(folder)
    before = {s.filename: (s.updated, s.sha256) for s in Sticker.objects.all()}
    out = run(folder)
    assert "Indexed 0 new, re-embedded 0" in out and "skipped 7 already indexed" in out
    assert {s.filename: (s.updated, s.sha256) for s in Sticker.objects.all()} == before


def test_if_empty_indexes_only_into_an_empty_index(folder, sticker_media):
    """The container's demo stickers (docker/entrypoint.sh): indexed into an empty index, then never again, so
    a deleted one stays deleted and an upload of the same name keeps its image."""
    assert "Indexed 7 new" in run(folder, "--if-empty")
    services.delete_sticker("sticker_000.png")
    (sticker_media / "photo.jpg").write_bytes(b"the uploaded photo")  # stands for a same-name upload
    Sticker.objects.filter(filename="photo.jpg").update(sha256="0" * 64)
    out = run(folder, "--if-empty")
    assert "already holds 6 stickers; --if-empty leaves it alone" in out
    assert not Sticker.objects.filter(filename="sticker_000.png").exists()
    assert (sticker_media / "photo.jpg").read_bytes() == b"the uploaded photo"
    with pytest.raises(CommandError, match="--if-empty needs DIR"):
        run(folder, "--if-empty", "--reindex")


def test_metadata_gives_titles_tags_and_a_text_embedding(folder, tmp_path, encoder):
    metadata = tmp_path / "meta.json"
    metadata.write_text(
        json.dumps(
            {
                "sticker_000.png": {"title": "  red   ball ", "tags": ["ball", "Red", "ball", " "]},
                "sticker_001.png": {"tags": ["square"]},
                "missing.png": {"title": "not in the folder"},
            }
        )
    )
    run(folder, "--metadata", metadata)
    first = Sticker.objects.get(filename="sticker_000.png")
    assert (first.title, first.tags) == ("red ball", ["ball", "Red"])
    np.testing.assert_allclose(first.text_embedding, encoder.encode_texts(["red ball, ball, Red"])[0], atol=1e-4)
    assert Sticker.objects.get(filename="sticker_001.png").tags == ["square"]
    assert Sticker.objects.get(filename="sticker_002.png").text_embedding is None

    # New metadata on a re-run: title/tags and the text embedding change, the image embedding does not.
    image_before = Sticker.objects.get(filename="sticker_001.png").image_embedding
    metadata.write_text(json.dumps({"sticker_001.png": {"title": "blue box"}}))
    out = run(folder, "--metadata", metadata)
    assert "updated metadata of 1" in out and "Indexed 0 new" in out
    second = Sticker.objects.get(filename="sticker_001.png")
    assert (second.title, second.tags) == ("blue box", [])
    np.testing.assert_allclose(second.text_embedding, encoder.encode_texts(["blue box"])[0], atol=1e-4)
    np.testing.assert_array_equal(second.image_embedding, image_before)
    # Entries left out of the file keep what they had.
    assert Sticker.objects.get(filename="sticker_000.png").title == "red ball"


def test_recursive_names_stickers_by_relative_path(tmp_path):
    root = tmp_path / "images"
    write_folder(root, [1])
    write_folder(root / "animals" / "cats", [2])
    run(root)
    assert list(Sticker.objects.values_list("filename", flat=True)) == ["sticker_001.png"]
    run(root, "--recursive")
    assert set(Sticker.objects.values_list("filename", flat=True)) == {
        "sticker_001.png",
        "animals/cats/sticker_002.png",
    }


def test_same_content_is_indexed_once_and_changed_content_is_replaced(tmp_path, sticker_media):
    root = tmp_path / "images"
    write_folder(root, [1, 2])
    (root / "copy_of_1.png").write_bytes((root / "sticker_001.png").read_bytes())
    out = run(root)
    assert Sticker.objects.count() == 2 and "1 duplicates" in out
    (root / "sticker_002.png").write_bytes(image_bytes(make_image(99)))
    out = run(root)
    assert "re-embedded 1" in out
    assert (sticker_media / "sticker_002.png").read_bytes() == (root / "sticker_002.png").read_bytes()


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    root = tmp_path / "images"
    write_folder(root, range(6))
    real_store, calls = services.store_stickers, []

    def store_then_crash(items, **kwargs):
        calls.append(len(items))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_store(items, **kwargs)

    monkeypatch.setattr("search_service.stickers.indexing.store_stickers", store_then_crash)
    with pytest.raises(KeyboardInterrupt):
        run(root, "--batch-size", 2)
    assert Sticker.objects.count() == 2  # the first batch was committed
    monkeypatch.setattr("search_service.stickers.indexing.store_stickers", real_store)
    out = run(root, "--batch-size", 2)
    assert "Indexed 4 new" in out and "skipped 2 already indexed" in out
    assert Sticker.objects.count() == 6


def test_another_models_index_is_refused_until_reindexed(folder, encoder):
    run(folder)
    Sticker.objects.filter(filename__startswith="sticker_").update(model_id="some-other/model")
    with pytest.raises(CommandError, match=r"some-other/model.*--reindex"):
        run(folder)
    out = run("--reindex")  # no folder: re-embeds from the stored files
    assert "re-embedded 5" in out
    assert set(Sticker.objects.values_list("model_id", flat=True)) == {encoder.model_id}
    expected = encoder.encode_images([make_image(3)])[0]
    np.testing.assert_allclose(Sticker.objects.get(filename="sticker_003.png").image_embedding, expected, atol=1e-4)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "JSON object"),
        ('{"a.png": {"title": 3}}', "'title' must be a string"),
        ('{"a.png": {"tag": ["x"]}}', "unknown keys"),
        ("{not json", "not valid JSON"),
    ],
)
def test_a_bad_metadata_file_stops_before_indexing(folder, tmp_path, content, message):
    metadata = tmp_path / "meta.json"
    metadata.write_text(content)
    with pytest.raises(CommandError, match=message):
        run(folder, "--metadata", metadata)
    assert not Sticker.objects.exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(CommandError, match="not a folder"):
        run(tmp_path / "nope")
    with pytest.raises(CommandError, match="DIR"):
        call_command("index_images")
    with pytest.raises(CommandError, match="batch-size"):
        run(tmp_path, "--batch-size", 0)
