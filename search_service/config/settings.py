"""search_service settings: everything from environment variables (see .env.example)."""

from pathlib import Path

from servicekit.settings import base_settings, env

BASE_DIR = Path(__file__).resolve().parent.parent

globals().update(
    base_settings(
        service="search",
        base_dir=BASE_DIR,
        apps=[],
        title="Sticker Search internal search API",
        description="Ranks stickers for a text with a CLIP-style model over a pgvector index.",
    )
)

# Shared token sticker_service sends as "Authorization: Bearer <token>"; empty = no check.
SEARCH_SERVICE_TOKEN = env.str("SEARCH_SERVICE_TOKEN", default="")
