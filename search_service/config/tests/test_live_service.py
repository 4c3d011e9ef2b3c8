"""The service as sticker_service's integration tests run it: only environment variables, a fresh database,
``migrate``, ``index_images DIR --metadata FILE``, then gunicorn (model loaded in the worker), over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
import requests
from django.conf import settings

from testing.images import write_folder

SERVICE_DIR = Path(__file__).resolve().parents[2]
TOKEN = "live-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_database():
    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_live_{os.getpid()}"
    admin = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    yield f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{name}"
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_migrate_index_and_serve_with_gunicorn(live_database, tiny_model_dir, tmp_path):
    """With a tiny local-dir model (the default model's kind of folder) so that three processes start fast."""
    images = tmp_path / "images"
    write_folder(images, [1, 2, 3])
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({"sticker_002.png": {"title": "green square", "tags": ["square"]}}))
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(tmp_path)),
        "HF_HUB_OFFLINE": "1", "DJANGO_DEBUG": "false", "SEARCH_SECRET_KEY": settings.SECRET_KEY,
        "SEARCH_DATABASE_URL": live_database, "SEARCH_MODEL_NAME": f"local-dir:{tiny_model_dir}",
        "SEARCH_MEDIA_ROOT": str(tmp_path / "media"),
        "SEARCH_SERVICE_TOKEN": TOKEN, "SEARCH_BIND": f"127.0.0.1:{port}", "SEARCH_WORKERS": "1",
        "SEARCH_THREADS": "2", "SEARCH_TEXT_WEIGHT": "1.0", "LOG_LEVEL": "INFO", "GUNICORN_ACCESS_LOG": "",
    }

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=SERVICE_DIR, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    manage("migrate", "--noinput", "-v0")
    out = manage("index_images", str(images), "--metadata", str(metadata))
    assert "Indexed 3 new" in out and "images/s" in out

    log = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log.open("w") as log_file:
        server = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "config.wsgi"], cwd=SERVICE_DIR, env=env,
                                  stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # the worker is still loading the model
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert "model tiny-test-clip/1 ready" in log.read_text()  # loaded by post_worker_init, before any request

        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(f"{base}/api/search/", params={"query": "x"}, timeout=10).status_code == 401
        body = requests.get(f"{base}/api/search/", params={"query": "green square, square"}, headers=auth,
                            timeout=30).json()
        assert body["results"][0]["filename"] == "sticker_002.png" and body["results"][0]["title"] == "green square"
        catalogue = requests.get(f"{base}/api/images/", headers=auth, timeout=10).json()
        assert catalogue["count"] == 3
        image = requests.get(catalogue["results"][0]["url"], timeout=10)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
        assert image.content == (images / catalogue["results"][0]["filename"]).read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=30)
