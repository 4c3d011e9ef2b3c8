"""sticker_service itself as a separate gunicorn process, for tests that need the real server (several
workers and threads, real sockets, real process restarts) rather than Django's test client.

Like :mod:`testkit.live_search` it runs ``python -m sticker_service`` and gunicorn as subprocesses, the way ``make run``
does: ``prepare()`` creates a uniquely named database on the server of ``database_url`` (default
``STICKER_DATABASE_URL``), migrates it and creates the admin user with a random password and token (``.admin_token``);
``serve()`` starts ``gunicorn -c sticker_service/gunicorn.conf.py sticker_service.config.wsgi`` on a free port and waits
for ``/healthz``. ``stop()``/``kill()``/``close()`` as in :class:`testkit.live_search.LiveSearchService`.
Rate limits and the feedback vote budget are off unless ``extra_env`` sets ``THROTTLE_RATE_*`` /
``FEEDBACK_MAX_VOTES_PER_MINUTE``. ``sql()`` reads its database directly.
"""

from __future__ import annotations

import os
import secrets

from testkit.live_process import LiveDjangoService

# A public media URL (nothing is fetched from it): production settings refuse the internal default.
PUBLIC_MEDIA_URL = "https://media.example.com/stickers/"
THROTTLE_SCOPES = ("SEARCH", "SIMILAR", "FEEDBACK", "COUNTER", "ANALYTICS", "SUGGEST")


class LiveStickerService(LiveDjangoService):
    name = "sticker_service"

    def __init__(
        self,
        *,
        search_url: str,
        search_token: str,
        database_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        workers: int = 2,
        threads: int = 4,
        ready_timeout: float = 60.0,
    ) -> None:
        server_url = database_url or os.environ.get("STICKER_DATABASE_URL", "")
        if not server_url:
            raise RuntimeError("STICKER_DATABASE_URL (or database_url) must name a PostgreSQL server.")
        super().__init__(
            server_url=server_url,
            db_prefix=os.environ.get("STICKER_DATABASE_TEST_NAME") or "test_sticker",
            extra_env=extra_env,
            workers=workers,
            threads=threads,
            ready_timeout=ready_timeout,
        )
        self.search_url, self.search_token = search_url, search_token
        self.admin_token = secrets.token_hex(20)  # DRF tokens are 40 characters

    def env(self) -> dict[str, str]:
        if self._env is None:
            inherited = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(
                    ("STICKER_", "SEARCH_", "DJANGO_", "PYTEST_", "THROTTLE_", "ADMIN_", "REDIS_", "FEEDBACK_")
                )
            }
            self._env = {
                **inherited,
                "DJANGO_DEBUG": "false",
                "STICKER_SECRET_KEY": secrets.token_urlsafe(50),
                "STICKER_DATABASE_URL": self.database_url,
                "SEARCH_SERVICE_URL": self.search_url,
                "SEARCH_SERVICE_TOKEN": self.search_token,
                "STICKER_BIND": f"127.0.0.1:{self.port}",
                "STICKER_WORKERS": str(self.workers),
                "STICKER_THREADS": str(self.threads),
                "STICKER_STATIC_ROOT": str(self.workdir / "static"),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                # Without DEBUG an internal STICKER_MEDIA_URL is refused; tests that load images set their own.
                "STICKER_MEDIA_URL": PUBLIC_MEDIA_URL,
                "SECURE_COOKIES": "false",
                "GUNICORN_ACCESS_LOG": "",
                "LOG_LEVEL": "WARNING",
                "ADMIN_USERNAME": "admin",
                "ADMIN_PASSWORD": secrets.token_urlsafe(16),
                "ADMIN_TOKEN": self.admin_token,
                **{f"THROTTLE_RATE_{scope}": "" for scope in THROTTLE_SCOPES},
                "FEEDBACK_MAX_VOTES_PER_MINUTE": "0",
                **self.extra_env,
            }
        return self._env

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.admin_token}"}

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        """Rows of one read-only statement on this instance's database (a fresh connection each time)."""
        import psycopg2

        connection = psycopg2.connect(self.database_url, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def prepare(self) -> None:
        super().prepare()
        self.manage("ensure_admin")
