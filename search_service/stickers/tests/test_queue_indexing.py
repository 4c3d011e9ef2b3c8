"""``index_images DIR --queue`` with the real Redis broker and real Celery workers (separate processes, the tiny
test model): a worker killed mid-run (SIGKILL to its whole process group, so its batch is never acknowledged)
loses nothing, the other worker finishes, nothing is stored twice, failures are counted and listed, and a
second run is a no-op."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from search_service.stickers.models import Sticker
from testkit.celery_worker import CeleryWorker
from testkit.checkpoints import TINY_MODEL_ID
from testkit.images import write_folder

BROKER = os.environ.get("SEARCH_TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
REPO = Path(__file__).resolve().parents[3]


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(BROKER, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not _redis_up() and os.environ.get("CI") != "true", reason=f"no Redis at {BROKER} (required with CI=true)"
    ),
]


@pytest.fixture
def queue_env(tiny_model_dir, settings):
    """search_service's settings for workers and the command: this test's database, a queue of its own."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    queue = f"test-index-{secrets.token_hex(4)}"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("SEARCH_", "PYTEST_", "DJANGO_SETTINGS"))}
    env = {
        **inherited,
        "DJANGO_DEBUG": "true",
        "SEARCH_DATABASE_URL": url,
        "SEARCH_MODEL_NAME": f"local-dir:{tiny_model_dir}",
        "SEARCH_MODEL_PRETRAINED": "",
        "SEARCH_CELERY_BROKER_URL": BROKER,
        "SEARCH_CELERY_QUEUE": queue,
        # A killed worker's batch goes back to the queue after 3 s (scanned every 10 s by the live worker).
        "SEARCH_CELERY_VISIBILITY_TIMEOUT": "3",
        "SEARCH_MEDIA_ROOT": str(settings.SEARCH_MEDIA_ROOT),
        "SEARCH_TORCH_THREADS": "1",
        "LOG_LEVEL": "INFO",
    }
    yield env
    client = redis.Redis.from_url(BROKER)
    client.delete(queue, f"_kombu.binding.{queue}")


def index_command(folder: Path) -> list[str]:
    options = ["--queue", "--batch-size", "3", "--no-progress"]
    return [sys.executable, "-m", "search_service", "index_images", str(folder), *options]


def _index(env: dict[str, str], folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        index_command(folder),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_killed_worker_loses_nothing_and_stores_nothing_twice(queue_env, tmp_path):
    folder = tmp_path / "images"
    names = write_folder(folder, range(45))
    (folder / "broken.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("not an image either")

    first = CeleryWorker(queue_env, name="first").start()
    second = CeleryWorker(queue_env, name="second")
    try:
        first.wait_ready()
        command = subprocess.Popen(
            index_command(folder),
            cwd=REPO,
            env=queue_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Mid-run: some batches stored, most still queued; the worker is holding one (prefetch 1, late ack).
        deadline = time.monotonic() + 120
        while Sticker.objects.count() < 6:
            assert time.monotonic() < deadline, first.log_tail()
            assert command.poll() is None, command.stdout.read() if command.stdout else ""
            time.sleep(0.02)
        first.kill()
        done_before_kill = Sticker.objects.count()
        assert done_before_kill < len(names), "the first worker finished before it was killed"

        second.start()
        output, _ = command.communicate(timeout=240)
        assert command.returncode == 0, output + second.log_tail()
    finally:
        first.kill()
        second.stop()

    # Nothing lost: every image is indexed once, by the tiny model; the broken file is listed, the text file ignored.
    rows = list(Sticker.objects.values_list("filename", "sha256", "model_id"))
    assert sorted(name for name, _, _ in rows) == sorted(names)
    assert len({sha for _, sha, _ in rows}) == len(names)
    assert {model for _, _, model in rows} == {TINY_MODEL_ID}
    assert sorted(os.listdir(queue_env["SEARCH_MEDIA_ROOT"])) == sorted(names)
    # Nothing doubled: each file is embedded and stored once. The killed worker's batch came back to the queue:
    # when the kill fell between its commit and its acknowledgement, the batch's second delivery found its
    # files indexed by content hash and skipped them (a no-op), otherwise it indexed them.
    counts = re.search(
        r"Indexed (\d+) new, re-embedded 0, updated metadata of 0, skipped (\d+) already indexed", output
    )
    assert counts is not None, output
    assert int(counts[1]) + int(counts[2]) == len(names), output
    assert "1 failed, 1 not images (47 files)" in output, output
    assert "failed: broken.png: Not an image" in output, output
    assert "Workers used model tiny-test-clip/1 (dim 32)." in output

    # Resumable and idempotent: a second run with a fresh worker stores nothing.
    with CeleryWorker(queue_env, name="third") as third:
        third.wait_ready()
        again = _index(queue_env, folder)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Indexed 0 new, re-embedded 0, updated metadata of 0, skipped {len(names)} already indexed" in again.stdout
    assert Sticker.objects.count() == len(names)
