"""sticker_service settings: everything from environment variables (see .env.example)."""

from pathlib import Path

from servicekit.settings import base_settings, env

BASE_DIR = Path(__file__).resolve().parent.parent

globals().update(
    base_settings(
        service="sticker",
        base_dir=BASE_DIR,
        apps=[
            "rest_framework.authtoken",
        ],
        title="Sticker Search public API",
        description="Search stickers by text, send feedback on results, download feedback for the ML team.",
    )
)

# The internal search service, reached over HTTP only.
SEARCH_SERVICE_URL = env.str("SEARCH_SERVICE_URL", default="http://127.0.0.1:8118").rstrip("/")
SEARCH_SERVICE_TOKEN = env.str("SEARCH_SERVICE_TOKEN", default="")
SEARCH_SERVICE_CONNECT_TIMEOUT = env.float("SEARCH_SERVICE_CONNECT_TIMEOUT", default=0.5)
SEARCH_SERVICE_READ_TIMEOUT = env.float("SEARCH_SERVICE_READ_TIMEOUT", default=2.0)
# Public base URL of sticker images (a CDN or bucket in production); filenames are appended.
STICKER_MEDIA_URL = env.str("STICKER_MEDIA_URL", default="http://127.0.0.1:8118/media/stickers/")

# Bootstrap admin (manage.py ensure_admin); no production default for the password or token.
ADMIN_USERNAME = env.str("ADMIN_USERNAME", default="admin")
ADMIN_EMAIL = env.str("ADMIN_EMAIL", default="admin@example.com")
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")
ADMIN_TOKEN = env.str("ADMIN_TOKEN", default="")
