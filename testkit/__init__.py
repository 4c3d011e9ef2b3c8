"""What the tests and benchmarks of both services share, each written once. Never part of a Docker image.

- ``gunicorn``: ``free_port()`` and :class:`~testkit.gunicorn.Gunicorn`, one service under gunicorn in its own
  process group (start, wait until ready, stop/kill, pids, log).
- ``live_process``: :class:`~testkit.live_process.LiveDjangoService`, a service of this repository on a
  throwaway database, the way ``make run`` runs it; ``live_search`` / ``live_sticker`` are the two services.
- ``embedded_cluster``: a private throwaway embedded PostgreSQL that a test may stop and restart.
- ``fake_search_service``: a small fake search_service (http.server in a thread) for the client's failure paths.
- ``checkpoints``: the random-weight open_clip checkpoint writer.
- ``images``: generated test images; ``memo_encoder``: a memo in front of the real test encoder.
- ``bad_values``: odd spellings both services must refuse, and the assertion on the refusal.
- ``browser``: headless Chromium; ``postman``: reading the Postman collection; ``env_example``: .env.example read
  as data.

Importable as ``testkit`` from the repository root, the one import root: pytest and ``python -m benchmarks.X``
run from there.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
