"""Waits until the service's database accepts connections: the entrypoint runs it before the migrations.

Usage (from /app, the import root): python -m docker.wait_for_db sticker_service|search_service [SECONDS]

Engines that ignore ``depends_on: condition: service_healthy`` (podman-compose) start the service beside a
database that is still creating its cluster; without this wait the migrations would fail and the container
restart until it is ready. Exits 1 with the last error after SECONDS (default 120).
"""

from __future__ import annotations

import os
import sys
import time


def wait(service: str, seconds: float) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{service}.config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.utils import OperationalError

    deadline = time.monotonic() + seconds
    while True:
        try:
            connection.ensure_connection()
        except OperationalError as exc:
            if time.monotonic() > deadline:
                print(f"database not reachable after {seconds:.0f} s: {exc}", file=sys.stderr)
                return 1
            print("waiting for the database", file=sys.stderr)
            time.sleep(1)
        else:
            connection.close()
            return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in ("sticker_service", "search_service"):
        sys.exit("usage: python -m docker.wait_for_db sticker_service|search_service [SECONDS]")
    sys.exit(wait(sys.argv[1], float(sys.argv[2]) if len(sys.argv) == 3 else 120.0))
