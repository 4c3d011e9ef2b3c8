"""The service as sticker_service's integration tests run it: only environment variables, a fresh database,
``migrate``, ``index_images DIR --metadata FILE``, then gunicorn (model loaded in the worker), over real HTTP."""

from __future__ import annotations

import json

import requests

from testkit.images import write_folder
from testkit.live_process import LiveDjangoService
from testkit.live_search import LiveSearchService

TOKEN = "live-test-token"


def test_migrate_index_and_serve_with_gunicorn(tiny_model_dir, tmp_path):
    """With a tiny local-dir model (the default model's kind of folder) so that three processes start fast."""
    images = tmp_path / "images"
    write_folder(images, [1, 2, 3])
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({"sticker_002.png": {"title": "green square", "tags": ["square"]}}))
    service = LiveSearchService(
        token=TOKEN,
        model_env={"SEARCH_MODEL_NAME": f"local-dir:{tiny_model_dir}"},
        extra_env={"SEARCH_TEXT_WEIGHT": "1.0", "LOG_LEVEL": "INFO"},
        threads=2,
        ready_timeout=120,
    )
    try:
        LiveDjangoService.prepare(service)  # a fresh database, migrate
        out = service.manage("index_images", str(images), "--metadata", str(metadata))
        assert "Indexed 3 new" in out and "images/s" in out
        service.serve()
        # The model is loaded by post_worker_init, before any request.
        assert "model tiny-test-clip/1 ready" in service.log_tail(100_000)

        base = service.url
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(f"{base}/api/search/", params={"query": "x"}, timeout=10).status_code == 401
        body = requests.get(
            f"{base}/api/search/", params={"query": "green square, square"}, headers=auth, timeout=30
        ).json()
        assert body["results"][0]["filename"] == "sticker_002.png" and body["results"][0]["title"] == "green square"
        catalogue = requests.get(f"{base}/api/images/", headers=auth, timeout=10).json()
        assert catalogue["count"] == 3
        image = requests.get(catalogue["results"][0]["url"], timeout=10)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
        assert image.content == (images / catalogue["results"][0]["filename"]).read_bytes()
    finally:
        service.close()
